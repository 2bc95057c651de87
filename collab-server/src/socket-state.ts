/**
 * Types shared by the socket-side modules: the typed socket.io server, what the server keeps on
 * each socket, channel names and error helpers.
 */
import type { Server, Socket } from 'socket.io';
import { CollaborationError, CollaborationErrorCode } from '@theia-collab/protocol/lib/errors';
import type { ClientToServerEvents, Role, ServerToClientEvents } from '@theia-collab/protocol/lib/wire';
import type { RoomClaims, UserIdentity } from './auth';
import type { SocketRateLimiter } from './rate-limit';
import type { ReplayMark } from './replay-window';

export interface Membership {
    peerId: string;
    role: Role;
    /**
     * When this connection resumed a member whose previous connection had dropped: when the server noticed
     * that (what it missed since then is in the replay window, see `room:replay`).
     */
    detachedAt?: number;
    /** When this connection resumed the member (a point of the replay window's order): it gets live what follows. */
    resumedAt?: ReplayMark;
}

export interface PendingJoin {
    requestId: string;
    peerId: string;
}

export interface SocketData {
    user: UserIdentity;
    address: string;
    /** Set when the connection presented a room token: the connection is then bound to that room. */
    roomClaims?: RoomClaims;
    /** With `roomClaims`: the client's connection that dropped, which this one may take over. */
    previousSocketId?: string;
    /** Rooms this socket is an admitted member of. */
    memberships: Map<string, Membership>;
    /** Rooms this socket asked to join and is waiting for. */
    pendingJoins: Map<string, PendingJoin>;
    limiter: SocketRateLimiter;
    /** Set once the socket is being disconnected for flooding: its remaining packets are dropped quietly. */
    flooding?: boolean;
}

/** Events between server instances (through the socket.io Redis adapter), see peer-bus.ts. */
export interface InterServerEvents {
    'collab:peer': (change: unknown) => void;
}

export type CollabServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type CollabSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/** Admitted members of a room. */
export function roomChannel(roomId: string): string {
    return `room:${roomId}`;
}

/** One peer (admitted or pending), wherever its socket is. */
export function peerChannel(peerId: string): string {
    return `peer:${peerId}`;
}

export function fail(code: CollaborationErrorCode, message: string): never {
    throw new CollaborationError(code, message);
}

/** A connection opened with a room token may only act on that room. */
export function checkScope(socket: CollabSocket, roomId: string): void {
    const claims = socket.data.roomClaims;
    if (claims && claims.room !== roomId) {
        fail('forbidden', 'This connection is bound to another session by its room token.');
    }
}
