/**
 * The replay window: per room, the envelopes the server relayed lately (every kind), so that a member whose
 * connection dropped gets what it missed when it resumes (`room:replay`). The envelopes are kept exactly as
 * they were delivered (still sealed end to end; the server never reads `data`), bounded by age
 * (`replayWindowMs`), by bytes per room and by bytes per instance; the oldest go first.
 *
 * `record` is on the relay's hot path: it never awaits and never throws. In memory, it copies the envelope's
 * fields into a reused slot and its data into the room's byte ring, so that nothing it keeps is allocated per
 * envelope (see `Slot`). One instance keeps its windows in memory (`MemoryReplayWindow`); several instances
 * keep them in Redis (redis-replay-window.ts), so that a member resuming on another instance gets what any
 * instance relayed.
 */
import { Limits } from '@theia-collab/protocol/lib/wire';
import type { EnvelopeKind, RelayedEnvelope, ReplayResult } from '@theia-collab/protocol/lib/wire';

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

/** A first-in first-out ring: amortised O(1) push and shift, and no allocation per operation once it has grown. */
class Ring<T> {
    protected items: (T | undefined)[] = new Array(16);
    protected head = 0;
    length = 0;

    push(item: T): void {
        if (this.length === this.items.length) {
            this.grow();
        }
        this.items[(this.head + this.length) & (this.items.length - 1)] = item;
        this.length++;
    }

    /** The i-th oldest item. */
    at(index: number): T {
        return this.items[(this.head + index) & (this.items.length - 1)]!;
    }

    shift(): T | undefined {
        if (this.length === 0) {
            return undefined;
        }
        const item = this.items[this.head];
        this.items[this.head] = undefined;
        this.head = (this.head + 1) & (this.items.length - 1);
        this.length--;
        return item;
    }

    protected grow(): void {
        const items: (T | undefined)[] = new Array(this.items.length * 2);
        for (let i = 0; i < this.length; i++) {
            items[i] = this.at(i);
        }
        this.items = items;
        this.head = 0;
    }
}

/**
 * One envelope of a room's window. Slots are reused, and the data is copied into the room's byte ring: once a
 * busy room's window has grown, recording allocates nothing that outlives the relay of the envelope. (Envelopes
 * kept as objects for seconds outlived the young generation: every one was promoted, and the old generation
 * needed a full collection every second or so, a pause of several ms on every relay under load.)
 */
class Slot {
    kind: EnvelopeKind = 'broadcast';
    target: string | undefined = undefined;
    id: number | undefined = undefined;
    seq = 0;
    key = 0;
    sender = '';
    at = 0;
    position = 0;
    /** Counted against the limits: data plus REPLAY_ENTRY_OVERHEAD. */
    bytes = 0;
    /** The data's place in the room's byte ring. */
    offset = 0;
    length = 0;
}

/** The smallest byte ring of a room (grown when needed, shrunk by the sweep, dropped when empty). */
const MIN_RING_BYTES = 16 * 1024;

/** The envelope kinds, as constants: the window keeps these rather than the strings each packet brought. */
function envelopeKind(kind: string): EnvelopeKind {
    switch (kind) {
        case 'broadcast': return 'broadcast';
        case 'notification': return 'notification';
        case 'request': return 'request';
        default: return 'response';
    }
}

class RoomWindow {
    /** Reusable slots; `slots[head .. head + length)` hold the window's envelopes, oldest first. */
    protected slots: Slot[] = [];
    protected head = 0;
    length = 0;
    /** Accounted bytes (data plus overhead per envelope). */
    bytes = 0;
    /** The relay time of the newest envelope that left the window (evicted, or not kept at all). */
    evictedAt: number | undefined;
    /** Set when the room's window was dropped (its entries in the instance-wide order are then stale). */
    dropped = false;
    /**
     * The data of the window's envelopes, first in first out: live bytes are `[start, end)`, or, once writing
     * wrapped around, `[start, wrapAt)` and `[0, end)`.
     */
    protected ring: Uint8Array | undefined;
    protected start = 0;
    protected end = 0;
    protected wrapAt = 0;
    protected wrapped = false;
    protected used = 0;
    /** Target peer ids, kept once each (bounded): the window does not keep each packet's own copy of the string. */
    protected readonly targets = new Map<string, string>();

    constructor(readonly roomId: string) { }

    lost(at: number): void {
        this.evictedAt = this.evictedAt === undefined ? at : Math.max(this.evictedAt, at);
    }

    slot(index: number): Slot {
        return this.slots[(this.head + index) % this.slots.length];
    }

    oldest(): Slot | undefined {
        return this.length > 0 ? this.slots[this.head] : undefined;
    }

    add(envelope: RelayedEnvelope, at: number, position: number, bytes: number): void {
        if (this.length === this.slots.length) {
            this.growSlots();
        }
        const slot = this.slots[(this.head + this.length) % this.slots.length];
        const data = envelope.data instanceof Uint8Array ? envelope.data : new Uint8Array(envelope.data);
        slot.offset = this.place(data.byteLength);
        if (data.byteLength > 0) {
            this.ring!.set(data, slot.offset);
        }
        slot.length = data.byteLength;
        slot.kind = envelopeKind(envelope.kind);
        slot.target = envelope.target === undefined ? undefined : this.target(envelope.target);
        slot.id = envelope.id;
        slot.seq = envelope.seq;
        slot.key = envelope.key;
        slot.sender = envelope.sender;
        slot.at = at;
        slot.position = position;
        slot.bytes = bytes;
        this.length++;
        this.bytes += bytes;
    }

    /** Removes the oldest envelope. */
    removeOldest(): Slot {
        const slot = this.slots[this.head];
        this.head = (this.head + 1) % this.slots.length;
        this.length--;
        this.bytes -= slot.bytes;
        if (slot.length > 0) {
            this.start = slot.offset + slot.length;
            this.used -= slot.length;
            if (this.wrapped && this.start >= this.wrapAt) {
                this.start = 0;
                this.wrapped = false;
            }
        }
        if (this.used === 0) {
            this.start = this.end = 0;
            this.wrapped = false;
        }
        slot.target = undefined;
        return slot;
    }

    /** The envelope as it was delivered (a copy of its data). */
    envelope(slot: Slot): RelayedEnvelope {
        const envelope: RelayedEnvelope = {
            room: this.roomId,
            kind: slot.kind,
            seq: slot.seq,
            key: slot.key,
            sender: slot.sender,
            data: this.ring ? this.ring.slice(slot.offset, slot.offset + slot.length) : new Uint8Array(0)
        };
        if (slot.target !== undefined) {
            envelope.target = slot.target;
        }
        if (slot.id !== undefined) {
            envelope.id = slot.id;
        }
        return envelope;
    }

    /** Gives memory back: no ring while empty, a smaller one when it is mostly unused. */
    trim(): void {
        if (this.used === 0) {
            this.ring = undefined;
            this.start = this.end = 0;
            this.wrapped = false;
        } else if (this.ring && this.ring.byteLength > MIN_RING_BYTES && this.used * 4 < this.ring.byteLength) {
            this.compact(0);
        }
        if (this.length === 0 && this.slots.length > 16) {
            this.slots = [];
            this.head = 0;
        }
    }

    /** Where the next `length` bytes go (the ring grows when they do not fit). */
    protected place(length: number): number {
        if (length === 0) {
            return this.end;
        }
        const capacity = this.ring?.byteLength ?? 0;
        let offset: number;
        if (this.used === 0 && capacity >= length) {
            this.start = 0;
            offset = 0;
        } else if (!this.wrapped && capacity - this.end >= length) {
            offset = this.end;
        } else if (!this.wrapped && this.start >= length) {
            this.wrapAt = this.end;
            this.wrapped = true;
            offset = 0;
        } else if (this.wrapped && this.start - this.end >= length) {
            offset = this.end;
        } else {
            offset = this.compact(length);
        }
        this.end = offset + length;
        this.used += length;
        return offset;
    }

    /** Copies the live bytes, in order, to the start of a new ring with room for `extra` more; returns where they end. */
    protected compact(extra: number): number {
        const capacity = Math.max(MIN_RING_BYTES, Math.ceil((this.used + extra) * 1.5));
        const ring = new Uint8Array(capacity);
        let offset = 0;
        for (let i = 0; i < this.length; i++) {
            const slot = this.slot(i);
            if (slot.length > 0) {
                ring.set(this.ring!.subarray(slot.offset, slot.offset + slot.length), offset);
                slot.offset = offset;
                offset += slot.length;
            } else {
                slot.offset = offset;
            }
        }
        this.ring = ring;
        this.start = 0;
        this.end = offset;
        this.wrapped = false;
        return offset;
    }

    protected growSlots(): void {
        const slots: Slot[] = [];
        for (let i = 0; i < this.length; i++) {
            slots.push(this.slot(i));
        }
        const size = Math.max(16, this.slots.length * 2);
        while (slots.length < size) {
            slots.push(new Slot());
        }
        this.slots = slots;
        this.head = 0;
    }

    protected target(peerId: string): string {
        const known = this.targets.get(peerId);
        if (known !== undefined) {
            return known;
        }
        if (this.targets.size >= 4 * Limits.maxPeersPerRoom) {
            this.targets.clear();
        }
        this.targets.set(peerId, peerId);
        return peerId;
    }
}

export class MemoryReplayWindow implements ReplayWindow {
    protected readonly rooms = new Map<string, RoomWindow>();
    /** Every envelope of every room, in relay order, as its room's window and its position (evicted ones leave lazily). */
    protected readonly orderWindows = new Ring<RoomWindow>();
    protected readonly orderPositions = new Ring<number>();
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
            window = new RoomWindow(envelope.room);
            this.rooms.set(envelope.room, window);
        }
        const bytes = envelope.data.byteLength + REPLAY_ENTRY_OVERHEAD;
        if (bytes > this.limits.bytesPerRoom || bytes > this.limits.bytes) {
            window.lost(at);
            return;
        }
        // What leaves for this one leaves first, so that its bytes can take the place of theirs.
        const oldest = at - this.limits.windowMs;
        for (let head = window.oldest(); head && (window.bytes + bytes > this.limits.bytesPerRoom || head.at < oldest); head = window.oldest()) {
            this.evictOldest(window);
        }
        while (this.totalBytes + bytes > this.limits.bytes && this.orderWindows.length > 0) {
            const owner = this.orderWindows.shift()!;
            if (this.live(owner, this.orderPositions.shift()!)) {
                this.evictOldest(owner);
            }
        }
        const position = this.position++;
        window.add(envelope, at, position, bytes);
        this.orderWindows.push(window);
        this.orderPositions.push(position);
        this.totalBytes += bytes;
        this.totalEntries++;
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
        for (let i = 0; i < window.length; i++) {
            const entry = window.slot(i);
            if (entry.position >= until) {
                break;
            }
            if (entry.at < query.joinedAt || !meantFor(entry, query.requester, query.after)) {
                continue;
            }
            if (bytes + entry.bytes > query.maxBytes || envelopes.length >= (query.maxEnvelopes ?? Infinity)) {
                truncated = true;
                break;
            }
            bytes += entry.bytes;
            envelopes.push(window.envelope(entry));
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
        window.dropped = true;
        while (window.length > 0) {
            this.evictOldest(window);
        }
        window.trim();
    }

    async sweep(now = this.now()): Promise<void> {
        const oldest = now - this.limits.windowMs;
        while (this.orderWindows.length > 0) {
            const owner = this.orderWindows.at(0);
            const position = this.orderPositions.at(0);
            const live = this.live(owner, position);
            if (live && owner.oldest()!.at >= oldest) {
                break;
            }
            this.orderWindows.shift();
            this.orderPositions.shift();
            if (live) {
                this.evictOldest(owner);
            }
        }
        this.rooms.forEach(window => window.trim());
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

    /**
     * Whether the envelope at `position` of `window` is still in it. Rooms are first in first out, and the
     * instance-wide order is left from its oldest end: a live envelope there is the oldest of its room.
     */
    protected live(window: RoomWindow, position: number): boolean {
        return !window.dropped && window.length > 0 && window.oldest()!.position === position;
    }

    protected evictOldest(window: RoomWindow): void {
        const slot = window.removeOldest();
        window.lost(slot.at);
        this.totalBytes -= slot.bytes;
        this.totalEntries--;
    }
}
