/**
 * Room state and its storage. State is plain data so that a shared store (Redis) can replace the
 * in-memory one; sockets are referenced by id only.
 */
import type { PeerInfo } from '@theia-collab/protocol/lib/wire';

export interface MemberRecord {
    info: PeerInfo;
    socketId: string;
    joinedAt: number;
}

export interface PendingJoinRecord {
    requestId: string;
    /** The guest as it will appear once admitted (permission is set on admission). */
    peer: PeerInfo;
    socketId: string;
    requestedAt: number;
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

/**
 * Storage of room records. Callers mutate a record obtained from `get` and then `save` it; they
 * serialize mutations of one room themselves (see RoomService).
 */
export interface RoomStore {
    create(room: RoomRecord): Promise<void>;
    get(roomId: string): Promise<RoomRecord | undefined>;
    save(room: RoomRecord): Promise<void>;
    /** Marks traffic without a full save (hot path). */
    touch(roomId: string, now: number): Promise<void>;
    delete(roomId: string): Promise<boolean>;
    list(): Promise<RoomRecord[]>;
    count(): Promise<number>;
    close(): Promise<void>;
}

export class MemoryRoomStore implements RoomStore {
    protected readonly rooms = new Map<string, RoomRecord>();

    async create(room: RoomRecord): Promise<void> {
        if (this.rooms.has(room.id)) {
            throw new Error(`Room ${room.id} exists`);
        }
        this.rooms.set(room.id, room);
    }

    async get(roomId: string): Promise<RoomRecord | undefined> {
        return this.rooms.get(roomId);
    }

    async save(room: RoomRecord): Promise<void> {
        if (this.rooms.has(room.id)) {
            this.rooms.set(room.id, room);
        }
    }

    async touch(roomId: string, now: number): Promise<void> {
        const room = this.rooms.get(roomId);
        if (room) {
            room.lastActivityAt = now;
        }
    }

    async delete(roomId: string): Promise<boolean> {
        return this.rooms.delete(roomId);
    }

    async list(): Promise<RoomRecord[]> {
        return [...this.rooms.values()];
    }

    async count(): Promise<number> {
        return this.rooms.size;
    }

    async close(): Promise<void> {
        this.rooms.clear();
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
