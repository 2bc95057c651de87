/**
 * Sealing and opening of relayed envelopes. The plaintext is a msgpack-encoded body padded to a size
 * bucket (see `paddedLength`), the routing headers (as the server relays them, `sender` included) are the
 * AES-GCM additional data, the sender tags the ciphertext for each recipient with their pair key
 * (sender-auth.ts), and every sender's `seq` must strictly increase, so tampered, misrouted, forged,
 * re-attributed and replayed envelopes are rejected.
 */
import { Packr } from 'msgpackr';
import { z } from 'zod';
import { ContentKey, decrypt, encrypt, encryptNow, fitsSyncCipher, IV_BYTES, KeyRing, TAG_BYTES } from './crypto';
import { CollaborationError, CollaborationErrorData } from './errors';
import { MAX_METHOD_LENGTH, METHOD_PATTERN } from './messages';
import { PeerAuthenticator, splitAuthenticated } from './sender-auth';
import { ClientEnvelope, EnvelopeKind, Limits, PeerId, RoomId } from './wire';

export type MessageBody = { m: string; p: unknown };
export type ResultBody = { r: unknown };
export type ErrorBody = { e: CollaborationErrorData };
export type SealedBody = MessageBody | ResultBody | ErrorBody;

export interface EnvelopeHeader {
    room: string;
    sender: string;
    kind: EnvelopeKind;
    target?: string;
    id?: number;
    seq: number;
    key: number;
}

const encoder = new TextEncoder();
const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false });

/** Canonical additional data: `[room, sender, kind, target ?? '', id ?? -1, seq, keyId]`. */
export function envelopeAad(header: EnvelopeHeader): Uint8Array {
    return encoder.encode(JSON.stringify([
        'theia-collab/envelope/1', header.room, header.sender, header.kind, header.target ?? '', header.id ?? -1, header.seq, header.key
    ]));
}


const LENGTH_BYTES = 4;
const SMALLEST_BUCKET = 64;
const PAGE = 4096;
const PADDED_UP_TO = 64 * 1024;

/**
 * The size a body of `bytes` (plus its 4-byte length) is padded to, so that the ciphertext's length tells
 * the server little about the plaintext's: powers of two from 64 bytes to 4 KiB (a keystroke and a short
 * chat line look alike), then whole 4 KiB pages up to 64 KiB. Larger bodies (document transfers) are
 * not padded: their size is not what gives a typist away, and padding them would cost bandwidth.
 */
export function paddedLength(bytes: number): number {
    const total = bytes + LENGTH_BYTES;
    if (total <= SMALLEST_BUCKET) {
        return SMALLEST_BUCKET;
    }
    if (total <= PAGE) {
        return 2 ** Math.ceil(Math.log2(total));
    }
    return total <= PADDED_UP_TO ? Math.ceil(total / PAGE) * PAGE : total;
}

/** `body || zeros || length of body (u32, big-endian)`. */
export function padBody(body: Uint8Array): Uint8Array {
    const out = new Uint8Array(paddedLength(body.length));
    out.set(body, 0);
    new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(out.length - LENGTH_BYTES, body.length);
    return out;
}

export function unpadBody(padded: Uint8Array): Uint8Array {
    if (padded.length < LENGTH_BYTES) {
        throw new CollaborationError('bad-request', 'Message body is too short.');
    }
    const length = new DataView(padded.buffer, padded.byteOffset, padded.byteLength).getUint32(padded.length - LENGTH_BYTES);
    if (length > padded.length - LENGTH_BYTES) {
        throw new CollaborationError('bad-request', 'Message body has a malformed padding.');
    }
    return padded.subarray(0, length);
}

/** The plaintext of a body: msgpack, padded. */
export function packBody(body: SealedBody): Uint8Array {
    return padBody(packr.pack(body));
}

export function unpackBody(kind: EnvelopeKind, padded: Uint8Array): SealedBody {
    let value: unknown;
    try {
        value = packr.unpack(unpadBody(padded));
    } catch {
        throw new CollaborationError('bad-request', 'Message body is not valid msgpack.');
    }
    const body = checkBody(kind, value);
    if (!body) {
        throw new CollaborationError('bad-request', `Malformed ${kind} body.`);
    }
    return body;
}

/** Seals a body with no recipient tags (what a peer that vouches for nobody would send); for specs and tools. */
export async function sealBody(key: ContentKey, header: EnvelopeHeader, body: SealedBody): Promise<Uint8Array> {
    return new PeerAuthenticator().authenticate(envelopeAad(header), await encrypt(key, packBody(body), envelopeAad(header)), []);
}

/** Opens the `data` of an envelope as relayed without checking its sender's tags (the key alone decides); for specs and tools. */
export async function openBody(key: ContentKey, header: EnvelopeHeader, data: Uint8Array, allowNow = true): Promise<SealedBody> {
    return unpackBody(header.kind, await decrypt(key, splitAuthenticated(data).ciphertext, envelopeAad(header), allowNow));
}

/**
 * Gap after which a message counts as a lone one (a keystroke, a cursor move), which is sealed or opened
 * at once. Messages that follow each other closer go through WebCrypto: it runs off the main thread, and a
 * stream of them (a paste, a burst of edits) would cost the JavaScript cipher more than the waiting saves.
 */
export const LONE_MESSAGE_GAP_MS = 20;

class LoneMessages {
    private last = -Infinity;

    /** Whether a small payload may use the synchronous cipher now (and counts it if so). */
    take(plaintextBytes: number): boolean {
        const at = performance.now();
        if (!fitsSyncCipher(plaintextBytes) || at - this.last < LONE_MESSAGE_GAP_MS) {
            return false;
        }
        this.last = at;
        return true;
    }
}

/** The relayed envelope as the client validates it at the trust boundary. */
export const RelayedEnvelopeSchema = z.object({
    room: RoomId,
    sender: PeerId,
    kind: z.enum(['broadcast', 'request', 'response', 'notification']),
    target: PeerId.nullish(),
    id: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).nullish(),
    seq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).nullish(),
    key: z.number().int().nonnegative().max(2 ** 31).nullish(),
    data: z.custom<Uint8Array | ArrayBuffer>(value => value instanceof Uint8Array || value instanceof ArrayBuffer).nullish(),
    error: z.object({ code: z.string().min(1).max(64), message: z.string().max(4096) }).passthrough().nullish()
}).passthrough();
export type ValidRelayedEnvelope = z.infer<typeof RelayedEnvelopeSchema>;

const ID = /^[A-Za-z0-9_-]+$/;
const KINDS = new Set(['broadcast', 'request', 'response', 'notification']);
const isId = (value: unknown, min: number) => typeof value === 'string' && value.length >= min && value.length <= Limits.maxIdLength && ID.test(value);
const isCount = (value: unknown, max: number) => typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max;

/**
 * The same checks as `RelayedEnvelopeSchema` for the envelopes that carry data, written out: this runs for every
 * message received, and zod costs several microseconds a call. Returns undefined for anything else (the caller
 * then lets the schema decide and say why).
 */
export function parseDataEnvelope(input: unknown): ValidRelayedEnvelope | undefined {
    if (typeof input !== 'object' || input === null) {
        return undefined;
    }
    const envelope = input as Record<string, unknown>;
    const { room, sender, kind, target, id, seq, key, data, error } = envelope;
    if (!isId(room, 22) || !isId(sender, 1) || typeof kind !== 'string' || !KINDS.has(kind) || error != null
        || (target != null && !isId(target, 1)) || (id != null && !isCount(id, Number.MAX_SAFE_INTEGER))
        || !isCount(seq, Number.MAX_SAFE_INTEGER) || !isCount(key, 2 ** 31) || !(data instanceof Uint8Array || data instanceof ArrayBuffer)) {
        return undefined;
    }
    return envelope as ValidRelayedEnvelope;
}

const METHOD = (value: unknown) => typeof value === 'string' && value.length <= MAX_METHOD_LENGTH && METHOD_PATTERN.test(value);
const isPlainObject = (value: unknown): value is Record<string, unknown> =>
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);

/** `MessageBodySchema` / `ResponseBodySchema`, written out for the same reason; undefined when not valid. */
function checkBody(kind: EnvelopeKind, value: unknown): SealedBody | undefined {
    if (!isPlainObject(value)) {
        return undefined;
    }
    const keys = Object.keys(value);
    if (kind !== 'response') {
        return keys.length <= 2 && METHOD(value.m) && keys.every(k => k === 'm' || k === 'p') ? { m: value.m as string, p: value.p } : undefined;
    }
    if (keys.length === 0 || (keys.length === 1 && keys[0] === 'r')) {
        return { r: value.r };
    }
    const e = value.e;
    if (keys.length === 1 && isPlainObject(e) && typeof e.code === 'string' && e.code.length >= 1 && e.code.length <= 64
        && typeof e.message === 'string' && e.message.length <= 4096 && Object.keys(e).length === 2) {
        return { e: { code: e.code, message: e.message } };
    }
    return undefined;
}

export interface OpenedEnvelope {
    header: EnvelopeHeader;
    body: SealedBody;
}

function envelopeOf(header: EnvelopeHeader, data: Uint8Array): ClientEnvelope {
    if (data.byteLength > Limits.maxPayloadBytes) {
        throw new CollaborationError('too-large', `Message of ${data.byteLength} bytes exceeds the ${Limits.maxPayloadBytes} bytes limit.`);
    }
    const envelope: ClientEnvelope = { room: header.room, kind: header.kind, seq: header.seq, key: header.key, data };
    if (header.target !== undefined) {
        envelope.target = header.target;
    }
    if (header.id !== undefined) {
        envelope.id = header.id;
    }
    return envelope;
}

/** An envelope whose sequence number this peer has seen already, or passed (code `decrypt-failed`). */
export class DuplicateMessageError extends CollaborationError {
    constructor(message: string) {
        super('decrypt-failed', message);
    }
}

/**
 * Per-session codec: seals outgoing envelopes with the current room key and a fresh sequence
 * number, opens incoming ones addressed to this peer, at most once each.
 */
export class EnvelopeCodec {
    private seq = 0;
    private readonly lastSeq = new Map<string, number>();
    private readonly loneSeals = new LoneMessages();
    private readonly loneOpens = new LoneMessages();

    constructor(readonly roomId: string, readonly selfId: string, readonly keys: KeyRing, readonly peers: PeerAuthenticator) { }

    /**
     * Seals a body: at once when it is a small, lone message (see `LONE_MESSAGE_GAP_MS`), else as a promise
     * (WebCrypto). Call in send order: sequence numbers are taken when called.
     */
    seal(kind: EnvelopeKind, body: SealedBody, target?: string, id?: number): ClientEnvelope | Promise<ClientEnvelope> {
        const current = this.keys.current;
        if (!current) {
            throw new CollaborationError('internal', 'No room key to seal with.');
        }
        const header: EnvelopeHeader = { room: this.roomId, sender: this.selfId, kind, target, id, seq: ++this.seq, key: current.id };
        const plaintext = packBody(body);
        const additionalData = envelopeAad(header);
        // A broadcast is tagged for every peer the host vouched for; anything else for its target only.
        const recipients = target === undefined ? undefined : [target];
        const finish = (ciphertext: Uint8Array) => envelopeOf(header, this.peers.authenticate(additionalData, ciphertext, recipients));
        const now = this.loneSeals.take(plaintext.byteLength) ? encryptNow(current.key, plaintext, additionalData) : undefined;
        return now ? finish(now) : encrypt(current.key, plaintext, additionalData, false).then(finish);
    }

    /** Per sender, the highest sequence number opened (at most `limit` senders, the latest first). */
    openedUpTo(limit: number): Record<string, number> {
        return Object.fromEntries([...this.lastSeq].slice(-limit));
    }

    /**
     * Opens a relayed envelope (`catchingUp`: one of many missed while reconnecting). Throws a CollaborationError for anything not meant for this peer,
     * not authentic under a key we hold, or already seen.
     */
    async open(input: unknown, catchingUp = false): Promise<OpenedEnvelope> {
        const envelope = parseDataEnvelope(input) ?? RelayedEnvelopeSchema.safeParse(input).data;
        if (!envelope) {
            throw new CollaborationError('bad-request', 'Malformed envelope.');
        }
        if (envelope.room !== this.roomId) {
            throw new CollaborationError('bad-request', 'Envelope for another room.');
        }
        if (envelope.seq == null || envelope.key == null || envelope.data == null) {
            throw new CollaborationError('bad-request', 'Envelope without sequence number, key id or data.');
        }
        const target = envelope.target ?? undefined;
        if (envelope.kind === 'broadcast' ? target !== undefined : target !== this.selfId) {
            throw new CollaborationError('bad-request', `Envelope addressed to ${target ?? 'everyone'}, not to this peer.`);
        }
        if ((envelope.kind === 'request' || envelope.kind === 'response') !== (envelope.id != null)) {
            throw new CollaborationError('bad-request', 'Request id missing or unexpected.');
        }
        if (envelope.sender === this.selfId) {
            throw new CollaborationError('bad-request', 'Envelope claims to come from this peer.');
        }
        const key = this.keys.get(envelope.key);
        if (!key) {
            throw new CollaborationError('decrypt-failed', `Message sealed with room key ${envelope.key}, which this peer does not hold.`);
        }
        const header: EnvelopeHeader = {
            room: envelope.room,
            sender: envelope.sender,
            kind: envelope.kind,
            target,
            id: envelope.id ?? undefined,
            seq: envelope.seq,
            key: envelope.key
        };
        const additionalData = envelopeAad(header);
        // Checked before anything is decrypted: only the named sender can have tagged it for us.
        const data = this.peers.verify(envelope.sender, additionalData, envelope.data, envelope.kind === 'broadcast');
        const last = this.lastSeq.get(envelope.sender) ?? 0;
        if (envelope.seq <= last) {
            throw new DuplicateMessageError(`Replayed or reordered message (seq ${envelope.seq} after ${last}).`);
        }
        const body = unpackBody(header.kind,
            // What a reconnecting peer missed is opened in one go: the synchronous cipher spares thousands of WebCrypto round trips.
            await decrypt(key, data, additionalData, catchingUp || this.loneOpens.take(data.byteLength - IV_BYTES - TAG_BYTES)));
        // Checked again after the await: concurrent opens of the same envelope must not both pass.
        if (envelope.seq <= (this.lastSeq.get(envelope.sender) ?? 0)) {
            throw new DuplicateMessageError(`Replayed or reordered message (seq ${envelope.seq}).`);
        }
        this.lastSeq.set(envelope.sender, envelope.seq);
        return { header, body };
    }
}
