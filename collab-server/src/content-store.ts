/**
 * Stored content (see `ContentPut` in wire.ts): sealed parts a room's host uploads once and its members
 * fetch later without the host. The bytes are opaque here (sealed end to end) and never logged.
 *
 * It is a cache, in memory and local to this instance (with Redis, a member on another instance gets
 * 'not-found' and asks the host instead). Bounded per room (`contentBytesPerRoom`) and per process
 * (`contentBytes`, 0 disables it): a put that would exceed a bound first evicts the least recently used
 * (put or fetched) complete contents, or incomplete ones nobody added to for a while (of the same room for
 * the room bound, for the process bound of the same room or of rooms above their guaranteed share, see
 * below), never the one being put; when that is not enough it is refused with 'too-large'. Contents are
 * dropped when their room closes, and incomplete ones after `staleMs` without a new part.
 *
 * Guaranteed share (`reservedBytesPerRoom`): a room holding at most that much is never evicted by another
 * room's puts, so that one room flooding the store cannot push everybody else's content out. Another room's
 * content may only be evicted while that room holds more than its share (least recently used first); a put
 * that can only fit by evicting rooms within their share is refused.
 */
import type { Logger } from 'pino';
import type { ContentDelete, ContentGet, ContentGetResult, ContentPut } from '@theia-collab/protocol/lib/wire';
import type { ServerMetrics } from './metrics';
import type { RoomReader } from './room-cache';
import type { HandlerResult } from './room-service';
import { checkScope, CollabSocket, fail, Membership } from './socket-state';

/** Bookkeeping counted against the bounds for every content and every part, beyond the data. */
export const CONTENT_OVERHEAD_BYTES = 256;
/** An incomplete content without a new part for this long is dropped (and may be evicted). */
export const STALE_CONTENT_MS = 2 * 60 * 1000;

export interface ContentStoreOptions {
    /** Bound of one room's contents, in bytes (data plus overhead). */
    bytesPerRoom: number;
    /** Bound of all contents of this process; 0 disables stored content. */
    bytes: number;
    /** What each room is guaranteed against other rooms' puts (data plus overhead); 0 or unset: nothing. */
    reservedBytesPerRoom?: number;
    staleMs?: number;
}

interface Entry {
    readonly key: string;
    readonly roomId: string;
    readonly contentId: string;
    readonly count: number;
    readonly parts: Map<number, Buffer>;
    /** Counted against the bounds: data plus overhead. */
    cost: number;
    /** Last part put. */
    putAt: number;
}

function complete(entry: Entry): boolean {
    return entry.parts.size === entry.count;
}

/** A Buffer that owns its memory (a received one may be a view into a larger network buffer). */
function owned(data: Uint8Array | ArrayBuffer): Buffer {
    if (data instanceof ArrayBuffer) {
        return Buffer.from(data);
    }
    if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer) {
        return Buffer.from(data.buffer, 0, data.byteLength);
    }
    const copy = Buffer.allocUnsafeSlow(data.byteLength);
    copy.set(data);
    return copy;
}

export class ContentStore {
    /** Every entry, least recently used (put or fetched) first. */
    protected readonly entries = new Map<string, Entry>();
    /** Per room: its entries (least recently used first) and their cost. */
    protected readonly rooms = new Map<string, { entries: Map<string, Entry>; cost: number }>();
    protected total = 0;

    constructor(protected readonly options: ContentStoreOptions, protected readonly logger?: Logger) { }

    get enabled(): boolean {
        return this.options.bytes > 0;
    }

    /** Bytes counted against `contentBytes` (data plus overhead). */
    get bytes(): number {
        return this.total;
    }

    /** Contents held (complete or not). */
    get size(): number {
        return this.entries.size;
    }

    roomBytes(roomId: string): number {
        return this.rooms.get(roomId)?.cost ?? 0;
    }

    /** Rooms that have contents here. */
    roomIds(): string[] {
        return [...this.rooms.keys()];
    }

    /** Stores one part; throws a CollaborationError ('bad-request', 'too-large') when it is refused. */
    put(roomId: string, contentId: string, index: number, count: number, data: Uint8Array | ArrayBuffer, now = Date.now()): void {
        if (!this.enabled) {
            fail('too-large', 'This server does not store content (contentBytes is 0): ask the host instead.');
        }
        if (index >= count) {
            fail('bad-request', `Part ${index} of a content of ${count} parts.`);
        }
        const key = `${roomId}/${contentId}`;
        const entry = this.entries.get(key);
        if (entry && entry.count !== count) {
            fail('bad-request', `This content has ${entry.count} parts, not ${count}.`);
        }
        const previous = entry?.parts.get(index);
        const added = data.byteLength - (previous ? previous.byteLength : -CONTENT_OVERHEAD_BYTES) + (entry ? 0 : CONTENT_OVERHEAD_BYTES);
        const roomLimit = Math.min(this.options.bytesPerRoom, this.options.bytes);
        if ((entry?.cost ?? 0) + added > roomLimit) {
            this.refuse(entry, `The content exceeds the limit of ${roomLimit} bytes of stored content per session.`);
        }
        const evict = this.plan(roomId, entry, added, now);
        if (typeof evict === 'string') {
            this.refuse(entry, evict);
        }
        evict.forEach(victim => this.remove(victim, 'evicted'));
        const target = entry ?? this.create(key, roomId, contentId, count);
        target.parts.set(index, owned(data));
        target.cost += added;
        this.rooms.get(roomId)!.cost += added;
        this.total += added;
        target.putAt = now;
        this.touch(target);
    }

    /** A part of a complete content (and marks it used); undefined when unknown, incomplete or evicted. */
    get(roomId: string, contentId: string, index: number): Buffer | undefined {
        const entry = this.entries.get(`${roomId}/${contentId}`);
        if (!entry || !complete(entry)) {
            return undefined;
        }
        const part = entry.parts.get(index);
        if (part) {
            this.touch(entry);
        }
        return part;
    }

    /** The ids of a room's contents, least recently used first. */
    contentIds(roomId: string): string[] {
        return [...this.rooms.get(roomId)?.entries.values() ?? []].map(entry => entry.contentId);
    }

    /** The parts held of a content, in index order (for tests and diagnostics). */
    partsOf(roomId: string, contentId: string): Buffer[] {
        const entry = this.entries.get(`${roomId}/${contentId}`);
        return entry ? [...entry.parts.entries()].sort(([a], [b]) => a - b).map(([, part]) => part) : [];
    }

    /** False when there was no such content. */
    delete(roomId: string, contentId: string): boolean {
        const entry = this.entries.get(`${roomId}/${contentId}`);
        if (entry) {
            this.remove(entry, 'deleted');
        }
        return !!entry;
    }

    /** Drops every content of a room (closed, or gone from the store); returns how many there were. */
    dropRoom(roomId: string, reason = 'room closed'): number {
        const room = this.rooms.get(roomId);
        if (!room) {
            return 0;
        }
        const entries = [...room.entries.values()];
        entries.forEach(entry => this.remove(entry));
        this.logger?.debug({ room: roomId, contents: entries.length, reason }, 'stored content dropped');
        return entries.length;
    }

    /** Drops incomplete contents without a new part for `staleMs`; returns how many. */
    sweep(now = Date.now()): number {
        let dropped = 0;
        for (const entry of [...this.entries.values()]) {
            if (!complete(entry) && this.stale(entry, now)) {
                this.remove(entry, 'stale');
                dropped++;
            }
        }
        return dropped;
    }

    /**
     * Drops the contents of rooms that no longer exist (another instance closed them). Stops at the first
     * failing lookup (the store does not answer: try again next time).
     */
    async dropClosedRooms(exists: (roomId: string) => Promise<boolean>): Promise<void> {
        for (const roomId of this.roomIds()) {
            if (!await exists(roomId)) {
                this.dropRoom(roomId, 'room gone');
            }
        }
    }

    clear(): void {
        this.entries.clear();
        this.rooms.clear();
        this.total = 0;
    }

    protected stale(entry: Entry, now: number): boolean {
        return now - entry.putAt >= (this.options.staleMs ?? STALE_CONTENT_MS);
    }

    /** May make room for others: complete, or stale; never `current`. */
    protected evictable(entry: Entry, current: Entry | undefined, now: number): boolean {
        return entry !== current && (complete(entry) || this.stale(entry, now));
    }

    /**
     * The entries to evict so that `added` more bytes fit in `roomId` and in the process (least recently
     * used first), or why they cannot. Nothing is evicted in vain.
     */
    protected plan(roomId: string, current: Entry | undefined, added: number, now: number): Entry[] | string {
        const victims: Entry[] = [];
        let freedInRoom = 0;
        const room = this.rooms.get(roomId);
        if (room) {
            for (const entry of room.entries.values()) {
                if (room.cost - freedInRoom + added <= this.options.bytesPerRoom) {
                    break;
                }
                if (this.evictable(entry, current, now)) {
                    victims.push(entry);
                    freedInRoom += entry.cost;
                }
            }
        }
        if ((room?.cost ?? 0) - freedInRoom + added > this.options.bytesPerRoom) {
            return `The stored content of this session is at its limit of ${this.options.bytesPerRoom} bytes, with uploads in progress.`;
        }
        let freed = freedInRoom;
        const chosen = new Set(victims);
        const reserved = this.options.reservedBytesPerRoom ?? 0;
        /** Per other room: what it still holds once the victims chosen so far are gone. */
        const remaining = new Map<string, number>();
        for (const entry of this.entries.values()) {
            if (this.total - freed + added <= this.options.bytes) {
                break;
            }
            if (chosen.has(entry) || !this.evictable(entry, current, now)) {
                continue;
            }
            if (entry.roomId !== roomId) {
                // Another room's content goes only while that room is above its guaranteed share.
                const held = remaining.get(entry.roomId) ?? this.rooms.get(entry.roomId)!.cost;
                if (held <= reserved) {
                    continue;
                }
                remaining.set(entry.roomId, held - entry.cost);
            }
            victims.push(entry);
            freed += entry.cost;
        }
        if (this.total - freed + added > this.options.bytes) {
            return `The server's stored content is at its limit of ${this.options.bytes} bytes (uploads in progress, or other sessions' guaranteed shares).`;
        }
        return victims;
    }

    /** Refuses a put with 'too-large'; the content it was for is dropped (it cannot be completed). */
    protected refuse(entry: Entry | undefined, message: string): never {
        if (entry) {
            this.remove(entry, 'refused');
        }
        fail('too-large', message);
    }

    protected create(key: string, roomId: string, contentId: string, count: number): Entry {
        const entry: Entry = { key, roomId, contentId, count, parts: new Map(), cost: 0, putAt: 0 };
        let room = this.rooms.get(roomId);
        if (!room) {
            room = { entries: new Map(), cost: 0 };
            this.rooms.set(roomId, room);
        }
        room.entries.set(key, entry);
        this.entries.set(key, entry);
        return entry;
    }

    /** Moves the entry to the most recently used end. */
    protected touch(entry: Entry): void {
        this.entries.delete(entry.key);
        this.entries.set(entry.key, entry);
        const room = this.rooms.get(entry.roomId)!;
        room.entries.delete(entry.key);
        room.entries.set(entry.key, entry);
    }

    protected remove(entry: Entry, reason?: string): void {
        if (this.entries.get(entry.key) !== entry) {
            return;
        }
        this.entries.delete(entry.key);
        const room = this.rooms.get(entry.roomId)!;
        room.entries.delete(entry.key);
        room.cost -= entry.cost;
        this.total -= entry.cost;
        if (room.entries.size === 0) {
            this.rooms.delete(entry.roomId);
        }
        if (reason) {
            this.logger?.debug({ room: entry.roomId, content: entry.contentId, bytes: entry.cost, reason }, 'stored content removed');
        }
    }
}

/** The `content:*` events: who may put, get and delete, on top of the store. */
export class ContentService {
    constructor(
        protected readonly store: ContentStore,
        protected readonly rooms: RoomReader,
        protected readonly metrics: ServerMetrics,
        protected readonly logger: Logger
    ) { }

    async put(socket: CollabSocket, request: ContentPut): Promise<HandlerResult> {
        const membership = this.membership(socket, request.roomId, true);
        await this.requireRoom(request.roomId, membership);
        this.store.put(request.roomId, request.contentId, request.index, request.count, request.data);
        return { ack: {} };
    }

    async get(socket: CollabSocket, request: ContentGet): Promise<HandlerResult<ContentGetResult>> {
        const membership = this.membership(socket, request.roomId, false);
        await this.requireRoom(request.roomId, membership);
        const data = this.store.get(request.roomId, request.contentId, request.index);
        if (!data) {
            fail('not-found', 'This content is not stored here (unknown, incomplete or evicted): ask the host.');
        }
        this.metrics.contentServed(data.byteLength);
        return { ack: { data } };
    }

    async delete(socket: CollabSocket, request: ContentDelete): Promise<HandlerResult> {
        this.membership(socket, request.roomId, true);
        this.store.delete(request.roomId, request.contentId);
        return { ack: {} };
    }

    /** As for the relay (and, `hostOnly`, the host-only room events). */
    protected membership(socket: CollabSocket, roomId: string, hostOnly: boolean): Membership {
        checkScope(socket, roomId);
        const membership = socket.data.memberships.get(roomId);
        if (!membership) {
            fail('not-member', 'You are not a member of this session.');
        }
        if (hostOnly && membership.role !== 'host') {
            fail('forbidden', 'Only the host can do this.');
        }
        return membership;
    }

    protected async requireRoom(roomId: string, membership: Membership): Promise<void> {
        const room = await this.rooms.get(roomId);
        if (!room || !room.members[membership.peerId]) {
            fail('room-closed', 'This session has ended.');
        }
    }
}
