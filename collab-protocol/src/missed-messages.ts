/**
 * Catching up after a reconnection: the peer asks the server for what was relayed to it while its
 * connection was down (everything after the last sequence number it opened from each sender) and opens it
 * in order, before anything that arrives live meanwhile. Envelopes that came both live and in the replay are
 * opened once; the second copy is refused as a duplicate, which is expected, not alarming, for a while after.
 */
import { z } from 'zod';
import { CollaborationError } from './errors';
import { ReplayResultSchema } from './server-events';
import type { SessionConnection } from './session-impl';

/** After a replay, envelopes delivered both live and in the replay are expected this long. */
export const QUIET_DUPLICATES_MS = 10_000;
/** How long a reconnecting peer waits for what it missed. */
export const REPLAY_TIMEOUT_MS = 30_000;

export interface MissedMessagesSource {
    readonly roomId: string;
    readonly connection: Pick<SessionConnection, 'request' | 'logger'>;
    /** Per sender, the highest sequence number this peer opened. */
    openedUpTo(): Record<string, number>;
    /** Opens one envelope of the replay (never throws). */
    open(envelope: unknown): Promise<void>;
    isClosed(): boolean;
}

export class MissedMessages {
    /** When this peer last opened what it missed while reconnecting. */
    private replayedAt = -Infinity;

    constructor(private readonly source: MissedMessagesSource, private readonly now: () => number = Date.now) { }

    /** Asks for what was missed and opens it in order. Returns whether that was everything (false: messages were lost for good). */
    async catchUp(): Promise<boolean> {
        const { connection, roomId } = this.source;
        let result: z.infer<typeof ReplayResultSchema>;
        try {
            const answer = await connection.request('room:replay', { roomId, after: this.source.openedUpTo() }, REPLAY_TIMEOUT_MS);
            result = ReplayResultSchema.parse(answer);
        } catch (error) {
            connection.logger.warn(`collaboration: could not get the messages missed while reconnecting: ${CollaborationError.from(error).message}`);
            return false;
        }
        this.replayedAt = this.now();
        for (const envelope of result.envelopes) {
            if (this.source.isClosed()) {
                return false;
            }
            await this.source.open(envelope);
        }
        this.replayedAt = this.now();
        return result.complete;
    }

    /** Whether a duplicate now is most likely the live copy of something the replay opened already. */
    expectsDuplicates(): boolean {
        return this.now() - this.replayedAt < QUIET_DUPLICATES_MS;
    }
}
