/**
 * Room state and its storage. State is plain JSON-safe data so that a shared store (Redis, see
 * redis-store.ts) can replace the in-memory one; sockets are referenced by id and instance only.
 */
import type { PeerInfo, RoomClosedReason } from '@theia-collab/protocol/lib/wire';

export interface MemberRecord {
    info: PeerInfo;
    /** The member's socket, on server instance `instance`. */
    socketId: string;
    instance?: string;
    joinedAt: number;
    /**
     * Set while the member has no connection (its instance stopped or died). It may resume with its
     * room token until the resume grace period is over; then it is removed (the host: the room closes).
     */
    detachedAt?: number;
    /** How long it may stay detached; the resume grace period (instance gone) when not set. */
    graceMs?: number;
}

export interface PendingJoinRecord {
    requestId: string;
    /** The guest as it will appear once admitted (permission is set on admission). */
    peer: PeerInfo;
    socketId: string;
    instance?: string;
    requestedAt: number;
    /** The guest's proof that it holds the invite's secret, passed on to the host unread. */
    proof?: string;
}

export interface RoomRecord {
    id: string;
    hostPeerId: string;
    createdAt: number;
    expiresAt: number;
    /** Last relay or control traffic. */
    lastActivityAt: number;
    /** Since when the room has had no guests and no pending join requests. */
    emptySince?: number;
    /** Host first, then guests in admission order. */
    members: Record<string, MemberRecord>;
    pending: Record<string, PendingJoinRecord>;
}

/** Why a room closed, kept for a while so that members resuming late learn it. */
export interface ClosedRecord {
    reason: RoomClosedReason;
    message: string;
}

export interface Updated<T> {
    room: RoomRecord;
    result: T;
}

/**
 * Storage of room records, possibly shared by several server instances. Every change is an atomic
 * read-modify-write (`update`, `remove`), so concurrent instances never lose each other's changes.
 */
export interface RoomStore {
    /** Throws when the id is taken. */
    create(room: RoomRecord): Promise<void>;
    /** The current record; treat it as read-only (change rooms with `update`). */
    get(roomId: string): Promise<RoomRecord | undefined>;
    /**
     * Applies `mutate` to the current record and stores the result atomically; `undefined` when there
     * is no such room. `mutate` may run more than once (optimistic concurrency), so it must have no
     * side effects besides changing the record; it may throw to abort without writing. An unchanged
     * record is not written.
     */
    update<T>(roomId: string, mutate: (room: RoomRecord) => T): Promise<Updated<T> | undefined>;
    /**
     * Deletes the room atomically if `condition` (evaluated on the current record) holds, remembering
     * why it closed; returns the deleted record. Only one of several concurrent callers gets it.
     */
    remove(roomId: string, closed: ClosedRecord, condition?: (room: RoomRecord) => boolean): Promise<RoomRecord | undefined>;
    /** Why a recently removed room closed. */
    closedInfo(roomId: string): Promise<ClosedRecord | undefined>;
    /** Marks traffic without a full update (hot path; may be throttled). */
    touch(roomId: string, now: number): Promise<void>;
    list(): Promise<RoomRecord[]>;
    count(): Promise<number>;
    close(): Promise<void>;
}

const TOMBSTONE_MS = 60 * 60 * 1000;
const MAX_TOMBSTONES = 10_000;

function copy(room: RoomRecord): { text: string; room: RoomRecord } {
    const text = JSON.stringify(room);
    return { text, room: JSON.parse(text) };
}

export class MemoryRoomStore implements RoomStore {
    protected readonly rooms = new Map<string, RoomRecord>();
    protected readonly tombstones = new Map<string, ClosedRecord & { until: number }>();

    async create(room: RoomRecord): Promise<void> {
        if (this.rooms.has(room.id)) {
            throw new Error(`Room ${room.id} exists`);
        }
        this.rooms.set(room.id, copy(room).room);
    }

    /** The stored record itself (no copy, this is the relay's hot path): do not mutate it. */
    async get(roomId: string): Promise<RoomRecord | undefined> {
        return this.rooms.get(roomId);
    }

    async update<T>(roomId: string, mutate: (room: RoomRecord) => T): Promise<Updated<T> | undefined> {
        const current = this.rooms.get(roomId);
        if (!current) {
            return undefined;
        }
        const { text, room } = copy(current);
        const result = mutate(room);
        if (JSON.stringify(room) !== text) {
            this.rooms.set(roomId, room);
        }
        return { room: copy(room).room, result };
    }

    async remove(roomId: string, closed: ClosedRecord, condition?: (room: RoomRecord) => boolean): Promise<RoomRecord | undefined> {
        const room = this.rooms.get(roomId);
        if (!room || (condition && !condition(copy(room).room))) {
            return undefined;
        }
        this.rooms.delete(roomId);
        if (this.tombstones.size >= MAX_TOMBSTONES) {
            const now = Date.now();
            for (const [id, tombstone] of this.tombstones) {
                if (tombstone.until <= now || this.tombstones.size >= MAX_TOMBSTONES) {
                    this.tombstones.delete(id);
                }
            }
        }
        this.tombstones.set(roomId, { ...closed, until: Date.now() + TOMBSTONE_MS });
        return room;
    }

    async closedInfo(roomId: string): Promise<ClosedRecord | undefined> {
        const tombstone = this.tombstones.get(roomId);
        return tombstone && tombstone.until > Date.now() ? { reason: tombstone.reason, message: tombstone.message } : undefined;
    }

    async touch(roomId: string, now: number): Promise<void> {
        const room = this.rooms.get(roomId);
        if (room) {
            room.lastActivityAt = Math.max(room.lastActivityAt, now);
        }
    }

    async list(): Promise<RoomRecord[]> {
        return [...this.rooms.values()];
    }

    async count(): Promise<number> {
        return this.rooms.size;
    }

    async close(): Promise<void> {
        this.rooms.clear();
        this.tombstones.clear();
    }
}

export function memberList(room: RoomRecord): PeerInfo[] {
    const host = room.members[room.hostPeerId];
    const guests = Object.values(room.members).filter(member => member.info.id !== room.hostPeerId);
    return [...(host ? [host] : []), ...guests].map(member => member.info);
}

export function guestCount(room: RoomRecord): number {
    return Object.keys(room.members).length - (room.members[room.hostPeerId] ? 1 : 0);
}

/** Runs tasks for the same key one after another. */
export class KeyedMutex {
    protected readonly tails = new Map<string, Promise<unknown>>();

    run<T>(key: string, task: () => Promise<T>): Promise<T> {
        const previous = this.tails.get(key) ?? Promise.resolve();
        const result = previous.then(task, task);
        const tail = result.catch(() => undefined);
        this.tails.set(key, tail);
        tail.then(() => {
            if (this.tails.get(key) === tail) {
                this.tails.delete(key);
            }
        });
        return result;
    }
}
