/**
 * Room lifecycle: create, join approval, permissions, removal, key distribution, leaving, resuming
 * and cleanup. Room state lives in the RoomStore (possibly shared by several instances through
 * Redis): every change is an atomic update there, then the peer bus brings the sockets concerned (on
 * whichever instance) in step, then the events go out. Mutations of one room are also serialized per
 * instance (KeyedMutex), which keeps optimistic-update conflicts rare.
 */
import type { Logger } from 'pino';
import { CLIENT_MAX_ATTACHMENTS } from '@theia-collab/protocol/lib/socket-parser';
import { ConnectionStatus, Limits, PeerInfo, RoomClosedReason } from '@theia-collab/protocol/lib/wire';
import type {
    Admit, CreateRoom, CreateRoomResult, Deny, JoinRoom, JoinRoomResult, LeaveRoom, PeerLeftReason, Rekey, RemovePeer, Replay, ReplayResult, SetPermission
} from '@theia-collab/protocol/lib/wire';
import { randomId, TokenService } from './auth';
import type { Cluster } from './cluster';
import type { ServerOptions } from './config';
import type { ContentStore } from './content-store';
import type { ServerMetrics } from './metrics';
import type { PeerBus } from './peer-bus';
import type { LogLimiter } from './log-limiter';
import type { Relay } from './relay';
import type { ReplayWindow } from './replay-window';
import { guestCount, KeyedMutex, MemberRecord, memberList, RoomRecord, RoomStore, Updated } from './rooms';
import { checkScope, CollabServer, CollabSocket, fail, peerChannel, roomChannel } from './socket-state';
import { isStoreUnavailable, storeUnavailable } from './unavailable';

export const CLOSE_MESSAGES: Record<RoomClosedReason, string> = {
    'host-left': 'The host ended the session.',
    'expired': 'The session reached its maximum duration and was closed.',
    'idle': 'The session was closed after a period of inactivity.',
    'removed': 'The host removed you from the session.',
    'shutdown': 'The collaboration server is shutting down.',
    'denied': 'The host declined your request to join.'
};

export type RoomServiceOptions = Pick<ServerOptions,
    'roomTtlMs' | 'idleRoomMs' | 'emptyRoomMs' | 'maxRoomsPerSocket' | 'maxPendingJoinsPerRoom' | 'resumeGraceMs' | 'hostGraceMs' | 'guestGraceMs'
    | 'replayWindowBytesPerRoom'>;

/**
 * Disconnect reasons of a connection that dropped (network, crash) rather than closed on purpose
 * ('client namespace disconnect', a server-side kick, a malformed packet): its member keeps its place
 * for a grace period and may resume with its room token.
 */
const DROPPED_REASONS = new Set(['transport close', 'transport error', 'ping timeout', 'forced close']);

/** Why a host's room closed when it did not come back in time. */
const HOST_GONE_MESSAGE = 'The host lost the connection and did not come back in time: the session ended.';
/** A valid room token for a room the store does not know (nor remembers closing). */
const UNKNOWN_ROOM_MESSAGE = 'This session no longer exists on the collaboration server: it ended, or the server restarted.';
/** With a shared store (Redis): a room that vanished from it (a Redis without persistence restarted). */
export const LOST_STATE_MESSAGE = 'The collaboration server lost this session\'s state (its store restarted). Start or join a new session.';

/** How long a connection resuming through a store outage is kept waiting before its transport is closed (the client then reconnects). */
const RESUME_RETRY_DELAYS_MS = [250, 500, 1000, 2000, 2000];

/** A disconnection whose handling failed because the store was away: done again once it is back. */
interface UnfinishedDisconnect {
    roomId: string;
    peerId: string;
    socketId: string;
    dropped: boolean;
    pending: boolean;
    at: number;
}
const MAX_UNFINISHED = 100_000;

/** The result of a handler: what to acknowledge, and what to do once acknowledged. */
export interface HandlerResult<T extends object = {}> {
    ack: T;
    after?: () => void;
}

function updateEmpty(room: RoomRecord, now = Date.now()): void {
    const empty = guestCount(room) === 0 && Object.keys(room.pending).length === 0;
    if (!empty) {
        room.emptySince = undefined;
    } else if (room.emptySince === undefined) {
        room.emptySince = now;
    }
}

export class RoomService {
    protected readonly mutex = new KeyedMutex();
    /** Members of this instance whose connection dropped: when their grace period ends. */
    protected readonly graceTimers = new Map<string, NodeJS.Timeout>();
    /** Disconnections not yet recorded in the store (it was away), by room|peer|socket. */
    protected readonly unfinished = new Map<string, UnfinishedDisconnect>();
    /** Rooms of local connections found missing from the store by the last check (closed when missing twice). */
    protected missing = new Set<string>();

    constructor(
        protected readonly io: CollabServer,
        protected readonly store: RoomStore,
        protected readonly tokens: TokenService,
        protected readonly relay: Relay,
        protected readonly content: ContentStore,
        protected readonly peers: PeerBus,
        protected readonly cluster: Cluster,
        protected readonly metrics: ServerMetrics,
        protected readonly options: RoomServiceOptions,
        protected readonly logger: Logger,
        protected readonly window?: ReplayWindow,
        /** Bounds log lines of failures that repeat while the store is away. */
        protected readonly logLimiter?: LogLimiter
    ) { }

    protected get instance(): string {
        return this.cluster.instanceId;
    }

    async create(socket: CollabSocket, request: CreateRoom): Promise<HandlerResult<CreateRoomResult>> {
        if (socket.data.roomClaims) {
            fail('forbidden', 'This connection is bound to another session by its room token.');
        }
        if (socket.data.memberships.size + socket.data.pendingJoins.size >= this.options.maxRoomsPerSocket) {
            fail('forbidden', 'Too many sessions on one connection.');
        }
        const now = Date.now();
        const roomId = randomId(16);
        const peer: PeerInfo = {
            id: randomId(12),
            userId: socket.data.user.id,
            name: socket.data.user.name,
            role: 'host',
            permission: 'readwrite',
            publicKey: request.publicKey
        };
        const room: RoomRecord = {
            id: roomId,
            hostPeerId: peer.id,
            createdAt: now,
            expiresAt: now + this.options.roomTtlMs,
            lastActivityAt: now,
            emptySince: now,
            members: { [peer.id]: { info: peer, socketId: socket.id, instance: this.instance, joinedAt: now } },
            pending: {}
        };
        const roomToken = await this.tokens.issueRoomToken({ sub: peer.userId, room: roomId, peer: peer.id, role: 'host' }, room.expiresAt);
        if (!socket.connected) {
            fail('disconnected', 'The connection closed.');
        }
        // Registered on the socket first: its disconnect handling (queued after this) then closes the room.
        socket.data.memberships.set(roomId, { peerId: peer.id, role: 'host' });
        socket.join([roomChannel(roomId), peerChannel(peer.id)]);
        try {
            await this.store.create(room);
        } catch (error) {
            this.forget(socket, roomId, peer.id);
            throw error;
        }
        this.logger.info({ room: roomId, peer: peer.id, user: peer.userId }, 'room created');
        return { ack: { roomId, peer, expiresAt: room.expiresAt, roomToken } };
    }

    async join(socket: CollabSocket, request: JoinRoom): Promise<HandlerResult<JoinRoomResult>> {
        checkScope(socket, request.roomId);
        const { roomId } = request;
        if (socket.data.memberships.has(roomId) || socket.data.pendingJoins.has(roomId)) {
            fail('bad-request', 'This connection is already in or waiting for this session.');
        }
        if (socket.data.memberships.size + socket.data.pendingJoins.size >= this.options.maxRoomsPerSocket) {
            fail('forbidden', 'Too many sessions on one connection.');
        }
        if (!socket.connected) {
            fail('disconnected', 'The connection closed.');
        }
        const now = Date.now();
        const requestId = randomId(12);
        const peer: PeerInfo = {
            id: randomId(12),
            userId: socket.data.user.id,
            name: socket.data.user.name,
            role: 'guest',
            permission: 'readonly',
            publicKey: request.publicKey,
            // What the joiner says of itself (a program, not a person): passed on for the host to show.
            ...(request.program ? { program: true } : {})
        };
        socket.data.pendingJoins.set(roomId, { requestId, peerId: peer.id });
        socket.join(peerChannel(peer.id));
        let updated: Updated<void> | undefined;
        try {
            updated = await this.update(roomId, room => {
                const pendingCount = Object.keys(room.pending).length;
                if (pendingCount >= this.options.maxPendingJoinsPerRoom) {
                    fail('rate-limited', 'Too many people are waiting to join this session; try again later.');
                }
                if (Object.keys(room.members).length + pendingCount >= Limits.maxPeersPerRoom) {
                    fail('forbidden', 'This session is full.');
                }
                room.pending[requestId] = { requestId, peer, socketId: socket.id, instance: this.instance, requestedAt: now, ...(request.proof ? { proof: request.proof } : {}) };
                room.lastActivityAt = Math.max(room.lastActivityAt, now);
                room.emptySince = undefined;
            });
            if (!updated) {
                fail('not-found', 'No such session: it may have ended or the link may be wrong.');
            }
        } catch (error) {
            this.forget(socket, roomId, peer.id);
            throw error;
        }
        const hostPeerId = updated.room.hostPeerId;
        this.logger.info({ room: roomId, peer: peer.id, user: peer.userId, requestId }, 'join requested');
        return {
            ack: { requestId, peerId: peer.id },
            // The proof is opaque here: only the host, which made the invite's secret, can check it.
            after: () => this.io.to(peerChannel(hostPeerId)).emit('room:join-request', { roomId, requestId, peer, ...(request.proof ? { proof: request.proof } : {}) })
        };
    }

    async admit(socket: CollabSocket, request: Admit): Promise<HandlerResult> {
        const { roomId, requestId } = request;
        this.requireHost(socket, roomId);
        const seen = (await this.store.get(roomId))?.pending[requestId];
        const guestAlive = seen ? await this.socketAlive(seen.socketId, seen.instance) : true;
        const now = Date.now();
        const updated = await this.update(roomId, room => {
            const pending = room.pending[requestId];
            if (!pending) {
                return undefined;
            }
            delete room.pending[requestId];
            updateEmpty(room, now);
            if (!guestAlive && pending.socketId === seen?.socketId) {
                return { gone: true as const, peerId: pending.peer.id };
            }
            const self: PeerInfo = { ...pending.peer, permission: request.permission };
            room.members[self.id] = { info: self, socketId: pending.socketId, instance: pending.instance, joinedAt: now };
            room.lastActivityAt = Math.max(room.lastActivityAt, now);
            updateEmpty(room, now);
            return { gone: false as const, self };
        });
        if (!updated) {
            fail('room-closed', 'This session has ended.');
        }
        const result = updated.result;
        if (!result) {
            fail('not-found', 'No such join request: the guest may have left.');
        }
        if (result.gone) {
            this.peers.publish({ op: 'detach', roomId, peerIds: [result.peerId] });
            fail('not-found', 'The guest is no longer connected.');
        }
        const { self } = result;
        const room = updated.room;
        const roomToken = await this.tokens.issueRoomToken({ sub: self.userId, room: roomId, peer: self.id, role: 'guest' }, room.expiresAt);
        // Moves the guest's socket (on whichever instance) into the room before the room hears of it.
        this.peers.publish({ op: 'admitted', roomId, peerId: self.id });
        this.logger.info({ room: roomId, peer: self.id, permission: self.permission }, 'guest admitted');
        this.io.to(peerChannel(self.id)).emit('room:admitted', {
            roomId,
            self,
            peers: memberList(room),
            keyId: request.keyId,
            keyMaterial: request.keyMaterial,
            expiresAt: room.expiresAt,
            roomToken
        });
        this.io.to(roomChannel(roomId)).except(peerChannel(self.id)).emit('room:peer-joined', { roomId, peer: self });
        return { ack: {} };
    }

    async deny(socket: CollabSocket, request: Deny): Promise<HandlerResult> {
        const { roomId, requestId } = request;
        this.requireHost(socket, roomId);
        const updated = await this.update(roomId, room => {
            const pending = room.pending[requestId];
            if (pending) {
                delete room.pending[requestId];
                updateEmpty(room);
            }
            return pending;
        });
        if (!updated) {
            fail('room-closed', 'This session has ended.');
        }
        const pending = updated.result;
        if (!pending) {
            fail('not-found', 'No such join request: the guest may have left.');
        }
        this.io.to(peerChannel(pending.peer.id)).emit('room:denied', { roomId, reason: request.reason || CLOSE_MESSAGES.denied });
        this.peers.publish({ op: 'detach', roomId, peerIds: [pending.peer.id] });
        this.logger.info({ room: roomId, requestId }, 'join denied');
        return { ack: {} };
    }

    async setPermission(socket: CollabSocket, request: SetPermission): Promise<HandlerResult> {
        const { roomId, peerId, permission } = request;
        this.requireHost(socket, roomId);
        const now = Date.now();
        const updated = await this.update(roomId, room => {
            const member = room.members[peerId];
            if (!member) {
                fail('not-found', 'That peer is not in this session.');
            }
            if (peerId === room.hostPeerId) {
                fail('bad-request', `The host's permission cannot be changed.`);
            }
            member.info = { ...member.info, permission };
            room.lastActivityAt = Math.max(room.lastActivityAt, now);
        });
        if (!updated) {
            fail('room-closed', 'This session has ended.');
        }
        this.io.to(roomChannel(roomId)).emit('room:permission-changed', { roomId, peerId, permission });
        return { ack: {} };
    }

    async remove(socket: CollabSocket, request: RemovePeer): Promise<HandlerResult> {
        const { roomId, peerId } = request;
        this.requireHost(socket, roomId);
        const room = await this.requireRoom(roomId);
        if (peerId === room.hostPeerId) {
            fail('bad-request', 'The host cannot remove itself; leave instead.');
        }
        if (!room.members[peerId] || !await this.removePeer(roomId, peerId, 'removed')) {
            fail('not-found', 'That peer is not in this session.');
        }
        return { ack: {} };
    }

    async rekey(socket: CollabSocket, request: Rekey): Promise<HandlerResult> {
        const { roomId, keyId } = request;
        this.requireHost(socket, roomId);
        const room = await this.requireRoom(roomId);
        const from = room.hostPeerId;
        let delivered = 0;
        for (const { peerId, keyMaterial } of request.keys) {
            // Peers that left in the meantime are skipped: the new key is meant to exclude them anyway.
            if (peerId !== from && room.members[peerId]) {
                this.io.to(peerChannel(peerId)).emit('room:key', { roomId, keyId, from, keyMaterial });
                delivered++;
            }
        }
        await this.store.touch(roomId, Date.now());
        this.logger.info({ room: roomId, keyId, delivered }, 'room key distributed');
        return { ack: {} };
    }

    async leave(socket: CollabSocket, request: LeaveRoom): Promise<HandlerResult> {
        const { roomId } = request;
        const membership = socket.data.memberships.get(roomId);
        const pendingJoin = socket.data.pendingJoins.get(roomId);
        if (membership?.role === 'host') {
            await this.closeRoom(roomId, 'host-left', undefined, room => room.members[membership.peerId]?.socketId === socket.id);
            this.forget(socket, roomId, membership.peerId);
        } else if (membership) {
            await this.removePeer(roomId, membership.peerId, 'left', member => member.socketId === socket.id);
            this.forget(socket, roomId, membership.peerId);
        } else if (pendingJoin) {
            await this.cancelJoin(roomId, pendingJoin.requestId, pendingJoin.peerId, socket.id);
            this.forget(socket, roomId, pendingJoin.peerId);
        } else {
            fail('not-member', 'You are not in this session.');
        }
        return { ack: {} };
    }

    /**
     * A socket went away: cancel its join requests; leave or close its rooms, unless the connection
     * dropped (`reason`): then its members keep their place for a grace period (see `connectionDropped`).
     */
    async disconnected(socket: CollabSocket, reason?: string): Promise<void> {
        const pending = [...socket.data.pendingJoins];
        const memberships = [...socket.data.memberships];
        socket.data.pendingJoins.clear();
        socket.data.memberships.clear();
        const dropped = reason !== undefined && DROPPED_REASONS.has(reason);
        const now = Date.now();
        const work: UnfinishedDisconnect[] = [
            ...pending.map(([roomId, { peerId }]) => ({ roomId, peerId, socketId: socket.id, dropped: false, pending: true, at: now })),
            ...memberships.map(([roomId, { peerId }]) => ({ roomId, peerId, socketId: socket.id, dropped, pending: false, at: now }))
        ];
        let failure: unknown;
        for (const item of work) {
            try {
                await this.finishDisconnect(item);
            } catch (error) {
                if (!isStoreUnavailable(error)) {
                    failure ??= error;
                } else if (this.unfinished.size < MAX_UNFINISHED) {
                    // Recorded once the store is back (see `checkLocalRooms`), with the time it happened.
                    this.unfinished.set(`${item.roomId}|${item.peerId}|${item.socketId}`, item);
                    this.logLimited('warn', { room: item.roomId, peer: item.peerId, err: error }, 'disconnection not recorded: the store is away; retrying once it is back');
                }
            }
        }
        if (failure) {
            throw failure;
        }
    }

    protected async finishDisconnect(item: UnfinishedDisconnect): Promise<void> {
        if (item.pending || !item.dropped) {
            await this.connectionLost(item.roomId, item.peerId, item.socketId);
        } else {
            await this.connectionDropped(item.roomId, item.peerId, item.socketId, item.at);
        }
    }

    /**
     * The connection of member `peerId` dropped: it stays in the room, detached, for `hostGraceMs` (the
     * host) or `guestGraceMs`; the others hear it is reconnecting, requests waiting for it fail with
     * 'disconnected'. Should it not resume in time, it leaves ('disconnected'; the host: the room closes).
     */
    protected async connectionDropped(roomId: string, peerId: string, socketId: string, now = Date.now()): Promise<void> {
        const updated = await this.update(roomId, room => {
            const member = room.members[peerId];
            if (!member || member.socketId !== socketId || member.detachedAt !== undefined) {
                return undefined;
            }
            member.detachedAt = now;
            member.graceMs = peerId === room.hostPeerId ? this.options.hostGraceMs : this.options.guestGraceMs;
            return member.graceMs;
        });
        const graceMs = updated?.result;
        if (!updated || graceMs === undefined) {
            return;
        }
        // Drops the room's cached record on every instance (the dropped socket itself is gone already), so
        // that messages to the member are refused at once.
        this.peers.publish({ op: 'detach', roomId, peerIds: [peerId], socketId });
        await this.relay.peerLeft(roomId, peerId, 'The peer lost its connection before answering.');
        this.announceStatus(roomId, updated.room.hostPeerId, peerId, 'reconnecting');
        this.scheduleExpiry(roomId, peerId, now, Math.max(0, now + graceMs - Date.now()));
        this.logger.info({ room: roomId, peer: peerId, graceMs }, 'member connection dropped: keeping its place');
    }

    /** Tells the other members that `peerId` is reconnecting or back (the guests also by `room:host-status`, for the host). */
    protected announceStatus(roomId: string, hostPeerId: string, peerId: string, status: ConnectionStatus): void {
        const audience = this.io.to(roomChannel(roomId)).except(peerChannel(peerId));
        audience.emit('room:peer-status', { roomId, peerId, status });
        if (peerId === hostPeerId) {
            audience.emit('room:host-status', { roomId, status });
        }
    }

    protected scheduleExpiry(roomId: string, peerId: string, detachedAt: number, graceMs: number): void {
        const key = `${roomId}|${peerId}`;
        clearTimeout(this.graceTimers.get(key));
        const timer = setTimeout(() => {
            this.graceTimers.delete(key);
            this.expireDetached(roomId, peerId, detachedAt)
                .catch(error => this.logger.error({ err: error, room: roomId, peer: peerId }, 'ending a grace period failed'));
        }, graceMs);
        timer.unref();
        this.graceTimers.set(key, timer);
    }

    protected clearExpiry(roomId: string, peerId: string): void {
        const key = `${roomId}|${peerId}`;
        clearTimeout(this.graceTimers.get(key));
        this.graceTimers.delete(key);
    }

    /** The grace period of a member detached at `detachedAt` is over: if it is still detached, it goes. */
    protected async expireDetached(roomId: string, peerId: string, detachedAt: number): Promise<void> {
        const room = await this.store.get(roomId);
        const member = room?.members[peerId];
        if (!room || !member || member.detachedAt !== detachedAt) {
            return;
        }
        const socketId = member.socketId;
        const unchanged = (current: MemberRecord | undefined) => current?.socketId === socketId && current.detachedAt === detachedAt;
        this.logger.info({ room: roomId, peer: peerId }, 'member did not come back in time');
        if (peerId === room.hostPeerId) {
            await this.closeRoom(roomId, 'host-left', HOST_GONE_MESSAGE, current => unchanged(current.members[peerId]));
        } else {
            await this.removePeer(roomId, peerId, 'disconnected', unchanged);
        }
    }

    /** Stops the grace period timers (the server stops). */
    dispose(): void {
        this.graceTimers.forEach(timer => clearTimeout(timer));
        this.graceTimers.clear();
    }

    /**
     * A connection that presented a room token (`auth.roomToken`): if that member's previous
     * connection is gone (detached when its instance stopped, or its instance died), this connection
     * becomes that member again and gets `room:resumed`. A member whose connection is alive is not
     * taken over (the connection is only bound to the room). For a room that is gone, or a member
     * that is no longer in it, the connection gets `room:closed`.
     */
    async resume(socket: CollabSocket): Promise<void> {
        const claims = socket.data.roomClaims;
        if (!claims) {
            return;
        }
        const { room: roomId, peer: peerId } = claims;
        const room = await this.store.get(roomId);
        if (!room) {
            const closed = await this.store.closedInfo(roomId);
            socket.emit('room:closed', {
                roomId, reason: closed?.reason ?? 'shutdown', message: closed?.message ?? (this.cluster.shared ? LOST_STATE_MESSAGE : UNKNOWN_ROOM_MESSAGE)
            });
            return;
        }
        const member = room.members[peerId];
        if (!member || member.info.userId !== claims.sub) {
            if (!Object.values(room.pending).some(pending => pending.peer.id === peerId)) {
                socket.emit('room:closed', { roomId, reason: 'removed', message: 'You are no longer in this session.' });
            }
            return;
        }
        // Taken over: a detached member, a connection that is gone, or the one this client says dropped
        // (the server may not have noticed yet). Not a live connection of someone else with the same token.
        const takeOver = member.detachedAt !== undefined || member.socketId === socket.data.previousSocketId
            || !await this.socketAlive(member.socketId, member.instance);
        if (member.socketId === socket.id || !takeOver) {
            return;
        }
        const previous = member.socketId;
        if (!socket.connected) {
            return;
        }
        const updated = await this.update(roomId, current => {
            const again = current.members[peerId];
            if (!again || again.socketId !== previous) {
                return undefined;
            }
            const detachedAt = again.detachedAt;
            again.socketId = socket.id;
            again.instance = this.instance;
            delete again.detachedAt;
            delete again.graceMs;
            return { info: again.info, detachedAt };
        });
        const self = updated?.result?.info;
        if (!updated || !self) {
            return;
        }
        // Should the previous connection still be around somewhere, it no longer speaks for the peer.
        this.peers.publish({ op: 'detach', roomId, peerIds: [peerId], socketId: previous });
        this.localSocket(previous)?.disconnect(true);
        this.clearExpiry(roomId, peerId);
        socket.data.user = { ...socket.data.user, name: self.name };
        const role = peerId === updated.room.hostPeerId ? 'host' : 'guest';
        const detachedAt = updated.result!.detachedAt;
        socket.join([roomChannel(roomId), peerChannel(peerId)]);
        // From here on this connection gets the room's envelopes live: a replay leaves them out.
        const resumedAt = this.window?.mark();
        socket.data.memberships.set(roomId, { peerId, role, ...detachedAt !== undefined ? { detachedAt } : {}, ...resumedAt ? { resumedAt } : {} });
        socket.emit('room:resumed', {
            roomId,
            self,
            peers: memberList(updated.room),
            expiresAt: updated.room.expiresAt,
            pending: role === 'host' ? Object.values(updated.room.pending).map(pending => ({
                roomId, requestId: pending.requestId, peer: pending.peer, ...(pending.proof ? { proof: pending.proof } : {})
            })) : [],
            reconnecting: Object.values(updated.room.members).filter(other => other.detachedAt !== undefined).map(other => other.info.id)
        });
        this.announceStatus(roomId, updated.room.hostPeerId, peerId, 'connected');
        this.metrics.resumed.inc();
        this.logger.info({ room: roomId, peer: peerId, role }, 'member resumed');
    }

    /**
     * `resume`, through a store outage: tried again for a few seconds; then the transport is closed (not the
     * socket.io connection, which the client would take as final), so that the client reconnects and tries again.
     */
    async resumeConnection(socket: CollabSocket): Promise<void> {
        for (let attempt = 0; ; attempt++) {
            try {
                await this.resume(socket);
                return;
            } catch (error) {
                if (!isStoreUnavailable(error) || !socket.connected) {
                    throw error;
                }
                if (attempt >= RESUME_RETRY_DELAYS_MS.length) {
                    this.logLimited('warn', { socket: socket.id, err: error }, 'resuming failed: the store is away; closing the transport so that the client reconnects');
                    socket.emit('server:error', storeUnavailable().toJSON());
                    socket.conn.close();
                    return;
                }
                await new Promise(resolve => setTimeout(resolve, RESUME_RETRY_DELAYS_MS[attempt]));
                if (!socket.connected) {
                    return;
                }
            }
        }
    }

    /**
     * `room:replay`: what was relayed in the room lately that was meant for this member and that it does not
     * have (`after`), from the replay window, in relay order, exactly as delivered.
     */
    async replay(socket: CollabSocket, request: Replay): Promise<HandlerResult<ReplayResult>> {
        const { roomId } = request;
        checkScope(socket, roomId);
        const membership = socket.data.memberships.get(roomId);
        if (!membership) {
            fail('not-member', 'You are not a member of this session.');
        }
        const room = await this.store.get(roomId);
        const member = room?.members[membership.peerId];
        if (!room || !member) {
            fail('room-closed', 'This session has ended.');
        }
        if (!this.window || this.window.limits.windowMs <= 0) {
            return { ack: { envelopes: [], complete: false } };
        }
        const after = new Map<string, number>();
        for (const [sender, seq] of Object.entries(request.after)) {
            after.set(sender, seq);
        }
        const result = await this.window.read({
            roomId,
            requester: membership.peerId,
            after,
            joinedAt: member.joinedAt,
            since: membership.detachedAt,
            until: membership.resumedAt,
            maxBytes: this.options.replayWindowBytesPerRoom,
            // Each envelope is a binary attachment of the answer: stay within what the protocol client accepts.
            maxEnvelopes: CLIENT_MAX_ATTACHMENTS - 16
        });
        this.metrics.replayed(result.envelopes.length, result.complete);
        this.logger.debug({ room: roomId, peer: membership.peerId, envelopes: result.envelopes.length, complete: result.complete }, 'replayed');
        return { ack: result };
    }

    /**
     * This instance stops while others go on (shared store): its members keep their place for
     * `resumeGraceMs` (see `resume`); its pending join requests are cancelled.
     */
    async detachLocal(): Promise<void> {
        const now = Date.now();
        await Promise.all([...this.io.sockets.sockets.values()].map(async socket => {
            const pending = [...socket.data.pendingJoins];
            const memberships = [...socket.data.memberships];
            socket.data.pendingJoins.clear();
            socket.data.memberships.clear();
            for (const [roomId, { requestId, peerId }] of pending) {
                await this.cancelJoin(roomId, requestId, peerId, socket.id);
            }
            for (const [roomId, { peerId }] of memberships) {
                const updated = await this.update(roomId, room => {
                    const member = room.members[peerId];
                    if (member?.socketId === socket.id) {
                        member.detachedAt = now;
                        return true;
                    }
                    return false;
                });
                if (updated?.result) {
                    this.announceStatus(roomId, updated.room.hostPeerId, peerId, 'reconnecting');
                }
            }
        }));
    }

    /** Closes a room for everyone still in it (the leaving host excepted). False if it was gone (or `condition` failed). */
    async closeRoom(roomId: string, reason: RoomClosedReason, message = CLOSE_MESSAGES[reason], condition?: (room: RoomRecord) => boolean): Promise<boolean> {
        const room = await this.mutex.run(roomId, () => this.store.remove(roomId, { reason, message }, condition));
        if (!room) {
            return false;
        }
        this.content.dropRoom(roomId);
        this.window?.dropRoom(roomId);
        await this.relay.roomClosed(roomId);
        const event = { roomId, reason, message };
        let audience = this.io.to(roomChannel(roomId));
        if (reason === 'host-left') {
            audience = audience.except(peerChannel(room.hostPeerId));
        }
        audience.emit('room:closed', event);
        const pending = Object.values(room.pending).map(request => request.peer.id);
        pending.forEach(peerId => this.io.to(peerChannel(peerId)).emit('room:closed', event));
        this.peers.publish({ op: 'detach', roomId, peerIds: [...Object.keys(room.members), ...pending] });
        this.logger.info({ room: roomId, reason }, 'room closed');
        return true;
    }

    async closeAll(reason: RoomClosedReason): Promise<void> {
        const rooms = await this.store.list();
        await Promise.all(rooms.map(room => this.closeRoom(room.id, reason)));
    }

    /**
     * With a shared store, per instance and periodic: records disconnections that happened while the store was
     * away, and checks that the rooms of this instance's connections are still in the store. A room missing in
     * two checks in a row (a Redis without persistence restarted, or its closing did not reach this instance)
     * is closed for its local members: `room:closed` with the reason it closed, if the store remembers it, or
     * 'shutdown' and LOST_STATE_MESSAGE; they never wait for a session that no longer exists.
     */
    async checkLocalRooms(): Promise<void> {
        for (const [key, item] of [...this.unfinished]) {
            try {
                await this.finishDisconnect(item);
            } catch (error) {
                if (isStoreUnavailable(error)) {
                    throw error;
                }
                this.logger.error({ err: error, room: item.roomId, peer: item.peerId }, 'recording a disconnection failed');
            }
            this.unfinished.delete(key);
        }
        const local = new Map<string, CollabSocket[]>();
        for (const socket of this.io.sockets.sockets.values()) {
            for (const roomId of [...socket.data.memberships.keys(), ...socket.data.pendingJoins.keys()]) {
                const sockets = local.get(roomId);
                sockets ? sockets.push(socket) : local.set(roomId, [socket]);
            }
        }
        const missing = new Set<string>();
        for (const [roomId, sockets] of local) {
            if (await this.store.get(roomId)) {
                continue;
            }
            if (!this.missing.has(roomId)) {
                missing.add(roomId);
                continue;
            }
            const closed = await this.store.closedInfo(roomId);
            const event = { roomId, reason: closed?.reason ?? 'shutdown' as RoomClosedReason, message: closed?.message ?? LOST_STATE_MESSAGE };
            let told = 0;
            for (const socket of sockets) {
                const peerId = socket.data.memberships.get(roomId)?.peerId ?? socket.data.pendingJoins.get(roomId)?.peerId;
                if (peerId !== undefined) {
                    socket.emit('room:closed', event);
                    this.forget(socket, roomId, peerId);
                    this.clearExpiry(roomId, peerId);
                    told++;
                }
            }
            this.content.dropRoom(roomId);
            this.window?.dropRoom(roomId);
            await this.relay.roomClosed(roomId).catch(() => undefined);
            this.logger.warn({ room: roomId, members: told, reason: event.reason, known: !!closed }, 'room missing from the store: its members here were told it closed');
        }
        this.missing = missing;
    }

    /** A failure that repeats while the store is away: logged a few times per interval. */
    protected logLimited(level: 'warn' | 'info', fields: object, message: string): void {
        if (this.logLimiter) {
            this.logLimiter.log(level, ['store'], fields, message);
        } else {
            this.logger[level](fields, message);
        }
    }

    /**
     * Closes expired, idle and long-empty rooms; removes members detached for longer than the resume
     * grace period; detaches members and cancels join requests of instances that died. Runs on one
     * instance at a time (cluster lock), and every step is conditional, so overlapping runs are harmless.
     */
    async sweep(now = Date.now()): Promise<void> {
        const live = await this.cluster.liveInstances();
        for (const room of await this.store.list()) {
            if (now >= room.expiresAt) {
                await this.closeRoom(room.id, 'expired');
            } else if (now - room.lastActivityAt >= this.options.idleRoomMs) {
                await this.closeRoom(room.id, 'idle');
            } else if (room.emptySince !== undefined && now - room.emptySince >= this.options.emptyRoomMs) {
                await this.closeRoom(room.id, 'idle', 'The session was closed because nobody joined it for a long time.');
            } else {
                await this.sweepPeers(room, live, now);
            }
        }
    }

    protected async sweepPeers(room: RoomRecord, live: Set<string>, now: number): Promise<void> {
        for (const pending of Object.values(room.pending)) {
            if (pending.instance && !live.has(pending.instance)) {
                await this.cancelJoin(room.id, pending.requestId, pending.peer.id, pending.socketId);
            }
        }
        for (const member of Object.values(room.members)) {
            const peerId = member.info.id;
            const unchanged = (current: MemberRecord | undefined) => current?.socketId === member.socketId && current.detachedAt === member.detachedAt;
            if (member.detachedAt !== undefined) {
                if (now - member.detachedAt < (member.graceMs ?? this.options.resumeGraceMs)) {
                    continue;
                }
                this.logger.info({ room: room.id, peer: peerId }, 'detached member did not resume in time');
                if (peerId === room.hostPeerId) {
                    await this.closeRoom(room.id, 'host-left', HOST_GONE_MESSAGE, current => unchanged(current.members[peerId]));
                    return;
                }
                await this.removePeer(room.id, peerId, 'disconnected', unchanged);
            } else if (member.instance && !live.has(member.instance)) {
                this.logger.info({ room: room.id, peer: peerId, instance: member.instance }, 'member detached: its server instance is gone');
                const updated = await this.update(room.id, current => {
                    const again = current.members[peerId];
                    if (again && unchanged(again)) {
                        again.detachedAt = now;
                        return true;
                    }
                    return false;
                });
                if (updated?.result) {
                    await this.relay.peerLeft(room.id, peerId, 'The peer lost its connection before answering.');
                    this.announceStatus(room.id, room.hostPeerId, peerId, 'reconnecting');
                }
            }
        }
    }

    /**
     * Connection `socketId` of `peerId` is gone. A pending join is cancelled; a member leaves (the
     * host: the room closes), unless it has resumed on another connection meanwhile. A reconnection
     * grace period would mark the member detached here instead (as `detachLocal` does), leaving its
     * removal to the sweep.
     */
    protected async connectionLost(roomId: string, peerId: string, socketId: string): Promise<void> {
        const room = await this.store.get(roomId);
        if (!room) {
            return;
        }
        const pending = Object.values(room.pending).find(request => request.peer.id === peerId);
        if (pending) {
            await this.cancelJoin(roomId, pending.requestId, peerId, socketId);
        }
        // Also when it was pending above: the host may have admitted it meanwhile.
        if (peerId === room.hostPeerId) {
            await this.closeRoom(roomId, 'host-left', undefined, current => current.members[peerId]?.socketId === socketId);
        } else {
            await this.removePeer(roomId, peerId, 'disconnected', member => member.socketId === socketId);
        }
    }

    protected async cancelJoin(roomId: string, requestId: string, peerId: string, socketId: string): Promise<void> {
        const updated = await this.update(roomId, room => {
            const pending = room.pending[requestId];
            if (!pending || pending.socketId !== socketId) {
                return false;
            }
            delete room.pending[requestId];
            updateEmpty(room);
            return true;
        });
        this.peers.publish({ op: 'detach', roomId, peerIds: [peerId], socketId });
        if (updated?.result) {
            this.io.to(peerChannel(updated.room.hostPeerId)).emit('room:join-cancelled', { roomId, requestId });
            this.logger.info({ room: roomId, requestId }, 'join cancelled');
        }
    }

    /** Removes a guest (if `condition` holds for its record); false if it was not there. */
    protected async removePeer(roomId: string, peerId: string, reason: PeerLeftReason, condition?: (member: MemberRecord) => boolean): Promise<boolean> {
        const now = Date.now();
        const updated = await this.update(roomId, room => {
            const member = room.members[peerId];
            if (!member || peerId === room.hostPeerId || (condition && !condition(member))) {
                return false;
            }
            delete room.members[peerId];
            room.lastActivityAt = Math.max(room.lastActivityAt, now);
            updateEmpty(room, now);
            return true;
        });
        if (!updated?.result) {
            return false;
        }
        if (reason === 'removed') {
            this.io.to(peerChannel(peerId)).emit('room:closed', { roomId, reason: 'removed', message: CLOSE_MESSAGES.removed });
        }
        this.peers.publish({ op: 'detach', roomId, peerIds: [peerId] });
        await this.relay.peerLeft(roomId, peerId);
        this.io.to(roomChannel(roomId)).emit('room:peer-left', { roomId, peerId, reason });
        this.logger.info({ room: roomId, peer: peerId, reason }, 'peer left');
        return true;
    }

    /** Serialized on this instance (fewer conflicts), atomic across instances (the store). */
    protected update<T>(roomId: string, mutate: (room: RoomRecord) => T): Promise<Updated<T> | undefined> {
        return this.mutex.run(roomId, () => this.store.update(roomId, mutate));
    }

    /** Drops what this socket remembers about a room. */
    protected forget(socket: CollabSocket, roomId: string, peerId: string): void {
        socket.data.memberships.delete(roomId);
        socket.data.pendingJoins.delete(roomId);
        socket.leave(roomChannel(roomId));
        socket.leave(peerChannel(peerId));
    }

    protected requireHost(socket: CollabSocket, roomId: string): void {
        checkScope(socket, roomId);
        const membership = socket.data.memberships.get(roomId);
        if (!membership) {
            fail('not-member', 'You are not in this session.');
        }
        if (membership.role !== 'host') {
            fail('forbidden', 'Only the host can do this.');
        }
    }

    protected async requireRoom(roomId: string): Promise<RoomRecord> {
        const room = await this.store.get(roomId);
        if (!room) {
            fail('room-closed', 'This session has ended.');
        }
        return room;
    }

    /** Whether a socket recorded in the store may still be connected. */
    protected async socketAlive(socketId: string, instance: string | undefined): Promise<boolean> {
        if (!instance || instance === this.instance) {
            return !!this.localSocket(socketId);
        }
        return (await this.cluster.liveInstances()).has(instance);
    }

    protected localSocket(socketId: string): CollabSocket | undefined {
        const socket = this.io.sockets.sockets.get(socketId);
        return socket?.connected ? socket : undefined;
    }
}
