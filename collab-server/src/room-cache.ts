/**
 * A short-lived per-instance cache of room records for the relay's hot path with a shared store.
 * Entries are dropped on every membership change the peer bus reports (which arrives before the
 * events that announce the change); that is what keeps them right. The age limit `ttlMs` is only a
 * safety net (a change whose report was lost): an entry older than half of it is still served, and
 * refreshed in the background, so steady traffic never waits for the store; one older than `ttlMs`
 * is not served, unless the store is away (Redis down, see unavailable.ts): then an entry up to `maxStaleMs`
 * old is served, so that relays within an instance go on through a Redis outage (membership cannot change
 * meanwhile: every change is a store update, and fails). One read per room at a time (concurrent misses
 * share it).
 */
import type { RoomRecord, RoomStore } from './rooms';
import { isStoreUnavailable } from './unavailable';

export interface RoomReader {
    get(roomId: string): Promise<RoomRecord | undefined>;
}

interface Load {
    promise: Promise<RoomRecord | undefined>;
}

export class RoomCache implements RoomReader {
    protected readonly entries = new Map<string, { room: RoomRecord; at: number }>();
    /** Reads under way; a read started before the room's last invalidation is not shared any more. */
    protected readonly loads = new Map<string, Load>();
    /** Invalidation counter, and the counter value at each room's last invalidation. */
    protected epoch = 0;
    protected readonly invalidated = new Map<string, number>();
    protected clearedAt = -1;

    constructor(
        protected readonly store: RoomStore,
        protected readonly ttlMs = 5000,
        protected readonly maxEntries = 10_000,
        protected readonly now: () => number = Date.now,
        protected readonly maxStaleMs = 10 * 60_000
    ) { }

    async get(roomId: string): Promise<RoomRecord | undefined> {
        const entry = this.entries.get(roomId);
        if (entry) {
            const age = this.now() - entry.at;
            if (age < this.ttlMs) {
                if (age >= this.ttlMs / 2 && !this.loads.has(roomId)) {
                    // Refresh ahead; a failure leaves the entry to age out (then readers get the error).
                    this.load(roomId).catch(() => undefined);
                }
                return entry.room;
            }
            if (age < this.maxStaleMs) {
                return this.load(roomId).catch(error => {
                    if (isStoreUnavailable(error) && this.entries.get(roomId) === entry) {
                        return entry.room;
                    }
                    throw error;
                });
            }
        }
        return this.load(roomId);
    }

    invalidate(roomId: string): void {
        const epoch = ++this.epoch;
        this.entries.delete(roomId);
        this.loads.delete(roomId);
        if (this.invalidated.size >= this.maxEntries) {
            // Forget the history, and with it everything cached or being read so far.
            this.invalidated.clear();
            this.entries.clear();
            this.loads.clear();
            this.clearedAt = epoch;
        }
        this.invalidated.set(roomId, epoch);
    }

    protected load(roomId: string): Promise<RoomRecord | undefined> {
        const running = this.loads.get(roomId);
        if (running) {
            return running.promise;
        }
        const started = this.epoch;
        const at = this.now();
        const load: Load = {
            promise: this.store.get(roomId).then(room => {
                // Not cached when the room changed while it was being read.
                if (room && Math.max(this.invalidated.get(roomId) ?? -1, this.clearedAt) <= started) {
                    this.entries.delete(roomId);
                    this.entries.set(roomId, { room, at });
                    if (this.entries.size > this.maxEntries) {
                        this.entries.delete(this.entries.keys().next().value!);
                    }
                }
                return room;
            }).finally(() => {
                if (this.loads.get(roomId) === load) {
                    this.loads.delete(roomId);
                }
            })
        };
        this.loads.set(roomId, load);
        return load.promise;
    }
}
