/**
 * socket.io's packet parser with our bound on binary attachments per packet. socket.io-parser refuses more
 * than 10 by default (and drops the connection with a "parse error"), but a rekey carries one wrapped key per
 * guest and a replay answer one envelope per missed message. Both sides bound what they accept elsewhere
 * (payload sizes, the replay window's bytes), so the count only needs to be bounded, not small.
 */
import { Decoder, Encoder } from 'socket.io-parser';

/** What the server accepts from a client: a rekey for every guest of a full room, and some slack. */
export const SERVER_MAX_ATTACHMENTS = 512;
/** What a client accepts from its server: a replay answer of many small envelopes. */
export const CLIENT_MAX_ATTACHMENTS = 65_536;

/** A parser for socket.io's `parser` option (server and client) accepting up to `maxAttachments` per packet. */
export function parserWithAttachments(maxAttachments: number): { Encoder: typeof Encoder; Decoder: typeof Decoder } {
    class BoundedDecoder extends Decoder {
        constructor() {
            super({ maxAttachments });
        }
    }
    return { Encoder, Decoder: BoundedDecoder };
}
