/**
 * The replay window: per room, the envelopes the server relayed lately (every kind), so that a member whose
 * connection dropped gets what it missed when it resumes (`room:replay`). The envelopes are kept exactly as
 * they were delivered (still sealed end to end; the server never reads `data`), bounded by age
 * (`replayWindowMs`), by bytes per room and by bytes per instance; the oldest go first.
 *
 * `record` is on the relay's hot path: it never awaits and never throws; it allocates the entry only (and a
 * compact copy of `data` when the received bytes are a view into a larger buffer, which the window would
 * otherwise keep alive). One instance keeps its windows in memory (`MemoryReplayWindow`); several instances
 * keep them in Redis (redis-replay-window.ts), so that a member resuming on another instance gets what any
 * instance relayed.
 */
import type { RelayedEnvelope, ReplayResult } from '@theia-collab/protocol/lib/wire';

/** Counted per envelope beyond its data (the entry, the envelope object, ids). */
export const REPLAY_ENTRY_OVERHEAD = 256;

export interface ReplayWindowLimits {
    /** How long envelopes are kept; 0 keeps none. */
    windowMs: number;
    bytesPerRoom: number;
    /** Memory: all rooms of the instance. Redis: what waits to be written to Redis. */
    bytes: number;
}

/** A point in a window's relay order: what was relayed after it, a connection that joined then got live. */
export interface ReplayMark {
    /** Wall clock (the window of several instances orders by it, with a margin for their clocks). */
    at: number;
    /** Exact position, when the window has one (one instance). */
    position?: number;
}

/**
 * With a shared window, envelopes relayed up to this long after a mark are still in the answer: other
 * instances' clocks and their fan-out may lag behind; a member would rather get an envelope twice (it drops
 * the second) than miss it.
 */
export const MARK_MARGIN_MS = 1000;

export interface ReplayQuery {
    roomId: string;
    /** The asking member's peer id. */
    requester: string;
    /** Per sender, the highest sequence number the requester has; envelopes of senders not listed are all sent. */
    after: ReadonlyMap<string, number>;
    /** When the requester became a member: what was relayed before was not meant for it. */
    joinedAt: number;
    /**
     * Since when the requester may have missed envelopes (its connection dropped): `complete` says whether nothing
     * relayed since then has left the window. Unknown: since it joined.
     */
    since?: number;
    /**
     * When the requester's current connection joined the room (it resumed): what was relayed since reached it
     * live, and is left out. Unknown: up to now.
     */
    until?: ReplayMark;
    /** Bound of the answer's data (plus overhead); beyond it the answer stops early and is not complete. */
    maxBytes: number;
    /**
     * Bound of the answer's envelopes (each is a binary attachment of the answer: clients accept a bounded
     * number per packet); beyond it the answer stops early and is not complete.
     */
    maxEnvelopes?: number;
    now?: number;
}

export interface ReplayStats {
    bytes: number;
    entries: number;
}

export interface ReplayWindow {
    readonly limits: ReplayWindowLimits;
    /**
     * Remembers an envelope just relayed, as delivered. Hot path: never awaits, never throws. It may replace
     * `envelope.data` by a compact copy of the same bytes.
     */
    record(envelope: RelayedEnvelope, at?: number): void;
    read(query: ReplayQuery): Promise<ReplayResult>;
    /** The current point of the relay order (see ReplayQuery.until). */
    mark(): ReplayMark;
    /** The room closed. */
    dropRoom(roomId: string): void;
    /** Periodic: drops what aged out of the window (and, with Redis, catches up on bookkeeping). */
    sweep(now?: number): Promise<void>;
    /** What the windows hold (metrics); `roomIds`: the open rooms, for windows kept in Redis. */
    stats(roomIds: () => Promise<string[]>): Promise<ReplayStats>;
    dispose(): void;
}

/** The data a window keeps: the received bytes themselves, unless they are a view into a larger buffer. */
export function compactData(data: Uint8Array | ArrayBuffer): Uint8Array | ArrayBuffer {
    if (data instanceof Uint8Array && data.buffer.byteLength > data.byteLength) {
        const copy = new Uint8Array(data.byteLength);
        copy.set(data);
        return copy;
    }
    return data;
}

/** Whether `envelope` was meant for `requester` and is newer than what it has. */
export function meantFor(envelope: { sender: string; kind: string; target?: string; seq: number }, requester: string, after: ReadonlyMap<string, number>): boolean {
    if (envelope.sender === requester) {
        return false;
    }
    if (envelope.kind !== 'broadcast' && envelope.target !== requester) {
        return false;
    }
    const had = after.get(envelope.sender);
    return had === undefined || envelope.seq > had;
}

/** A double-ended queue on an array (amortised O(1) push and shift, no per-operation allocation). */
class Queue<T> {
    protected items: (T | undefined)[] = [];
    protected head = 0;

    get length(): number {
        return this.items.length - this.head;
    }

    push(item: T): void {
        this.items.push(item);
    }

    peek(): T | undefined {
        return this.head < this.items.length ? this.items[this.head] : undefined;
    }

    shift(): T | undefined {
        if (this.head >= this.items.length) {
            return undefined;
        }
        const item = this.items[this.head];
        this.items[this.head++] = undefined;
        if (this.head >= 1024 && this.head * 2 >= this.items.length) {
            this.items = this.items.slice(this.head);
            this.head = 0;
        }
        return item;
    }

    *[Symbol.iterator](): IterableIterator<T> {
        for (let i = this.head; i < this.items.length; i++) {
            yield this.items[i]!;
        }
    }
}

interface Entry {
    /** Undefined once evicted (then the entry only waits to leave the instance-wide queue). */
    envelope: RelayedEnvelope | undefined;
    at: number;
    position: number;
    bytes: number;
    window: RoomWindow;
}

class RoomWindow {
    readonly entries = new Queue<Entry>();
    bytes = 0;
    /** The relay time of the newest envelope that left the window (evicted, or not kept at all). */
    evictedAt: number | undefined;

    lost(at: number): void {
        this.evictedAt = this.evictedAt === undefined ? at : Math.max(this.evictedAt, at);
    }
}

export class MemoryReplayWindow implements ReplayWindow {
    protected readonly rooms = new Map<string, RoomWindow>();
    /** Every entry of every room, in relay order (evicted ones leave lazily). */
    protected readonly order = new Queue<Entry>();
    protected totalBytes = 0;
    protected totalEntries = 0;
    /** Envelopes recorded so far (the position of the next one). */
    protected position = 0;

    constructor(readonly limits: ReplayWindowLimits, protected readonly now: () => number = Date.now) { }

    mark(): ReplayMark {
        return { at: this.now(), position: this.position };
    }

    record(envelope: RelayedEnvelope, at = this.now()): void {
        if (this.limits.windowMs <= 0) {
            return;
        }
        let window = this.rooms.get(envelope.room);
        if (!window) {
            window = new RoomWindow();
            this.rooms.set(envelope.room, window);
        }
        const bytes = envelope.data.byteLength + REPLAY_ENTRY_OVERHEAD;
        if (bytes > this.limits.bytesPerRoom || bytes > this.limits.bytes) {
            window.lost(at);
            return;
        }
        envelope.data = compactData(envelope.data);
        const entry: Entry = { envelope, at, position: this.position++, bytes, window };
        window.entries.push(entry);
        window.bytes += bytes;
        this.order.push(entry);
        this.totalBytes += bytes;
        this.totalEntries++;
        const oldest = at - this.limits.windowMs;
        for (let head = window.entries.peek(); head && (window.bytes > this.limits.bytesPerRoom || head.at < oldest); head = window.entries.peek()) {
            this.evict(head);
        }
        while (this.totalBytes > this.limits.bytes) {
            const head = this.order.shift();
            if (!head) {
                break;
            }
            if (head.envelope) {
                this.evict(head);
            }
        }
    }

    async read(query: ReplayQuery): Promise<ReplayResult> {
        const now = query.now ?? this.now();
        await this.sweep(now);
        const window = this.rooms.get(query.roomId);
        if (!window) {
            return { envelopes: [], complete: true };
        }
        const envelopes: RelayedEnvelope[] = [];
        let bytes = 0;
        let truncated = false;
        const until = query.until?.position ?? Infinity;
        for (const entry of window.entries) {
            const envelope = entry.envelope!;
            if (entry.position >= until) {
                break;
            }
            if (entry.at < query.joinedAt || !meantFor(envelope, query.requester, query.after)) {
                continue;
            }
            if (bytes + entry.bytes > query.maxBytes || envelopes.length >= (query.maxEnvelopes ?? Infinity)) {
                truncated = true;
                break;
            }
            bytes += entry.bytes;
            envelopes.push(envelope);
        }
        const since = query.since ?? query.joinedAt;
        return { envelopes, complete: !truncated && (window.evictedAt === undefined || window.evictedAt < since) };
    }

    dropRoom(roomId: string): void {
        const window = this.rooms.get(roomId);
        if (!window) {
            return;
        }
        this.rooms.delete(roomId);
        for (let head = window.entries.peek(); head; head = window.entries.peek()) {
            this.evict(head);
        }
    }

    async sweep(now = this.now()): Promise<void> {
        const oldest = now - this.limits.windowMs;
        for (let head = this.order.peek(); head && (!head.envelope || head.at < oldest); head = this.order.peek()) {
            this.order.shift();
            if (head.envelope) {
                this.evict(head);
            }
        }
    }

    async stats(): Promise<ReplayStats> {
        return { bytes: this.totalBytes, entries: this.totalEntries };
    }

    /** Rooms with a window (including emptied ones, which remember what they lost). */
    get roomCount(): number {
        return this.rooms.size;
    }

    dispose(): void {
        for (const roomId of [...this.rooms.keys()]) {
            this.dropRoom(roomId);
        }
    }

    /** `entry` must be the oldest of its room. */
    protected evict(entry: Entry): void {
        const window = entry.window;
        window.entries.shift();
        window.bytes -= entry.bytes;
        window.lost(entry.at);
        entry.envelope = undefined;
        this.totalBytes -= entry.bytes;
        this.totalEntries--;
    }
}
