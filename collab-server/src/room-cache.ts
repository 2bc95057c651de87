/**
 * A short-lived per-instance cache of room records for the relay's hot path with a shared store.
 * Entries are dropped on every membership change the peer bus reports (which arrives before the
 * events that announce the change), and expire after `ttlMs` anyway.
 */
import type { RoomRecord, RoomStore } from './rooms';

export interface RoomReader {
    get(roomId: string): Promise<RoomRecord | undefined>;
}

export class RoomCache implements RoomReader {
    protected readonly entries = new Map<string, { room: RoomRecord; at: number }>();
    /** Invalidation counter, and the counter value at each room's last invalidation. */
    protected epoch = 0;
    protected readonly invalidated = new Map<string, number>();
    protected clearedAt = -1;

    constructor(protected readonly store: RoomStore, protected readonly ttlMs = 5000, protected readonly maxEntries = 10_000) { }

    async get(roomId: string): Promise<RoomRecord | undefined> {
        const now = Date.now();
        const entry = this.entries.get(roomId);
        if (entry && now - entry.at < this.ttlMs) {
            return entry.room;
        }
        const started = this.epoch;
        const room = await this.store.get(roomId);
        // Not cached when the room changed while it was being read.
        if (room && Math.max(this.invalidated.get(roomId) ?? -1, this.clearedAt) <= started) {
            this.entries.delete(roomId);
            this.entries.set(roomId, { room, at: now });
            if (this.entries.size > this.maxEntries) {
                this.entries.delete(this.entries.keys().next().value!);
            }
        }
        return room;
    }

    invalidate(roomId: string): void {
        const epoch = ++this.epoch;
        this.entries.delete(roomId);
        if (this.invalidated.size >= this.maxEntries) {
            // Forget the history, and with it everything cached or being read so far.
            this.invalidated.clear();
            this.entries.clear();
            this.clearedAt = epoch;
        }
        this.invalidated.set(roomId, epoch);
    }
}
