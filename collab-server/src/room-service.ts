/**
 * Room lifecycle: create, join approval, permissions, removal, key distribution, leaving and
 * cleanup. Mutations of one room run one after another (KeyedMutex), so the store can be shared.
 */
import type { Logger } from 'pino';
import { Limits, PeerInfo, RoomClosedReason } from '@theia-collab/protocol/lib/wire';
import type {
    Admit, CreateRoom, CreateRoomResult, Deny, JoinRoom, JoinRoomResult, LeaveRoom, Rekey, RemovePeer, SetPermission
} from '@theia-collab/protocol/lib/wire';
import { randomId, TokenService } from './auth';
import type { ServerOptions } from './config';
import type { Relay } from './relay';
import { guestCount, KeyedMutex, memberList, RoomRecord, RoomStore } from './rooms';
import { checkScope, CollabServer, CollabSocket, fail, peerChannel, roomChannel } from './socket-state';

export const CLOSE_MESSAGES: Record<RoomClosedReason, string> = {
    'host-left': 'The host ended the session.',
    'expired': 'The session reached its maximum duration and was closed.',
    'idle': 'The session was closed after a period of inactivity.',
    'removed': 'The host removed you from the session.',
    'shutdown': 'The collaboration server is shutting down.',
    'denied': 'The host declined your request to join.'
};

export type RoomServiceOptions = Pick<ServerOptions,
    'roomTtlMs' | 'idleRoomMs' | 'emptyRoomMs' | 'maxRoomsPerSocket' | 'maxPendingJoinsPerRoom'>;

/** The result of a handler: what to acknowledge, and what to do once acknowledged. */
export interface HandlerResult<T extends object = {}> {
    ack: T;
    after?: () => void;
}

export class RoomService {
    protected readonly mutex = new KeyedMutex();

    constructor(
        protected readonly io: CollabServer,
        protected readonly store: RoomStore,
        protected readonly tokens: TokenService,
        protected readonly relay: Relay,
        protected readonly options: RoomServiceOptions,
        protected readonly logger: Logger
    ) { }

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
            members: { [peer.id]: { info: peer, socketId: socket.id, joinedAt: now } },
            pending: {}
        };
        const roomToken = await this.tokens.issueRoomToken({ sub: peer.userId, room: roomId, peer: peer.id, role: 'host' }, room.expiresAt);
        if (!socket.connected) {
            fail('disconnected', 'The connection closed.');
        }
        // Registered on the socket before the store call, so a disconnect meanwhile closes the room.
        socket.data.memberships.set(roomId, { peerId: peer.id, role: 'host' });
        socket.join([roomChannel(roomId), peerChannel(peer.id)]);
        await this.store.create(room);
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
        return this.mutex.run(roomId, async () => {
            const room = await this.store.get(roomId);
            if (!room) {
                fail('not-found', 'No such session: it may have ended or the link may be wrong.');
            }
            const pendingCount = Object.keys(room.pending).length;
            if (pendingCount >= this.options.maxPendingJoinsPerRoom) {
                fail('rate-limited', 'Too many people are waiting to join this session; try again later.');
            }
            if (Object.keys(room.members).length + pendingCount >= Limits.maxPeersPerRoom) {
                fail('forbidden', 'This session is full.');
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
                publicKey: request.publicKey
            };
            room.pending[requestId] = { requestId, peer, socketId: socket.id, requestedAt: now };
            room.lastActivityAt = now;
            room.emptySince = undefined;
            // Registered on the socket before the store call, so a disconnect meanwhile cancels the request.
            socket.data.pendingJoins.set(roomId, { requestId, peerId: peer.id });
            socket.join(peerChannel(peer.id));
            await this.store.save(room);
            this.logger.info({ room: roomId, peer: peer.id, user: peer.userId, requestId }, 'join requested');
            return {
                ack: { requestId, peerId: peer.id },
                after: () => this.io.to(peerChannel(room.hostPeerId)).emit('room:join-request', { roomId, requestId, peer })
            };
        });
    }

    async admit(socket: CollabSocket, request: Admit): Promise<HandlerResult> {
        const { roomId, requestId } = request;
        this.requireHost(socket, roomId);
        return this.mutex.run(roomId, async () => {
            const room = await this.requireRoom(roomId);
            const pending = room.pending[requestId];
            if (!pending) {
                fail('not-found', 'No such join request: the guest may have left.');
            }
            const guestSocket = this.localSocket(pending.socketId);
            delete room.pending[requestId];
            if (!guestSocket) {
                this.updateEmpty(room);
                await this.store.save(room);
                fail('not-found', 'The guest is no longer connected.');
            }
            const now = Date.now();
            const self: PeerInfo = { ...pending.peer, permission: request.permission };
            room.members[self.id] = { info: self, socketId: guestSocket.id, joinedAt: now };
            room.lastActivityAt = now;
            this.updateEmpty(room);
            const roomToken = await this.tokens.issueRoomToken({ sub: self.userId, room: roomId, peer: self.id, role: 'guest' }, room.expiresAt);
            await this.store.save(room);
            guestSocket.data.pendingJoins.delete(roomId);
            guestSocket.data.memberships.set(roomId, { peerId: self.id, role: 'guest' });
            guestSocket.join(roomChannel(roomId));
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
        });
    }

    async deny(socket: CollabSocket, request: Deny): Promise<HandlerResult> {
        const { roomId, requestId } = request;
        this.requireHost(socket, roomId);
        return this.mutex.run(roomId, async () => {
            const room = await this.requireRoom(roomId);
            const pending = room.pending[requestId];
            if (!pending) {
                fail('not-found', 'No such join request: the guest may have left.');
            }
            delete room.pending[requestId];
            this.updateEmpty(room);
            await this.store.save(room);
            this.io.to(peerChannel(pending.peer.id)).emit('room:denied', { roomId, reason: request.reason || CLOSE_MESSAGES.denied });
            const guestSocket = this.localSocket(pending.socketId);
            if (guestSocket) {
                guestSocket.data.pendingJoins.delete(roomId);
                guestSocket.leave(peerChannel(pending.peer.id));
            }
            this.logger.info({ room: roomId, requestId }, 'join denied');
            return { ack: {} };
        });
    }

    async setPermission(socket: CollabSocket, request: SetPermission): Promise<HandlerResult> {
        const { roomId, peerId, permission } = request;
        this.requireHost(socket, roomId);
        return this.mutex.run(roomId, async () => {
            const room = await this.requireRoom(roomId);
            const member = room.members[peerId];
            if (!member) {
                fail('not-found', 'That peer is not in this session.');
            }
            if (peerId === room.hostPeerId) {
                fail('bad-request', `The host's permission cannot be changed.`);
            }
            member.info = { ...member.info, permission };
            room.lastActivityAt = Date.now();
            await this.store.save(room);
            this.io.to(roomChannel(roomId)).emit('room:permission-changed', { roomId, peerId, permission });
            return { ack: {} };
        });
    }

    async remove(socket: CollabSocket, request: RemovePeer): Promise<HandlerResult> {
        const { roomId, peerId } = request;
        this.requireHost(socket, roomId);
        return this.mutex.run(roomId, async () => {
            const room = await this.requireRoom(roomId);
            if (!room.members[peerId]) {
                fail('not-found', 'That peer is not in this session.');
            }
            if (peerId === room.hostPeerId) {
                fail('bad-request', 'The host cannot remove itself; leave instead.');
            }
            await this.removeMember(room, peerId, 'removed');
            return { ack: {} };
        });
    }

    async rekey(socket: CollabSocket, request: Rekey): Promise<HandlerResult> {
        const { roomId, keyId } = request;
        this.requireHost(socket, roomId);
        return this.mutex.run(roomId, async () => {
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
        });
    }

    async leave(socket: CollabSocket, request: LeaveRoom): Promise<HandlerResult> {
        const { roomId } = request;
        const membership = socket.data.memberships.get(roomId);
        if (membership?.role === 'host') {
            await this.closeRoom(roomId, 'host-left');
        } else if (membership) {
            await this.mutex.run(roomId, async () => {
                const room = await this.store.get(roomId);
                if (room?.members[membership.peerId]) {
                    await this.removeMember(room, membership.peerId, 'left');
                } else {
                    socket.data.memberships.delete(roomId);
                }
            });
        } else if (socket.data.pendingJoins.has(roomId)) {
            await this.cancelJoin(socket, roomId);
        } else {
            fail('not-member', 'You are not in this session.');
        }
        return { ack: {} };
    }

    /** A socket went away: cancel its join requests, leave or close its rooms. */
    async disconnected(socket: CollabSocket): Promise<void> {
        for (const roomId of [...socket.data.pendingJoins.keys()]) {
            await this.cancelJoin(socket, roomId);
        }
        for (const [roomId, membership] of [...socket.data.memberships]) {
            if (membership.role === 'host') {
                await this.closeRoom(roomId, 'host-left');
            } else {
                await this.mutex.run(roomId, async () => {
                    const room = await this.store.get(roomId);
                    if (room?.members[membership.peerId]) {
                        await this.removeMember(room, membership.peerId, 'disconnected');
                    }
                });
            }
        }
    }

    /** Closes a room for everyone still in it (the leaving host excepted). */
    async closeRoom(roomId: string, reason: RoomClosedReason, message = CLOSE_MESSAGES[reason]): Promise<void> {
        await this.mutex.run(roomId, async () => {
            const room = await this.store.get(roomId);
            if (!room) {
                return;
            }
            await this.store.delete(roomId);
            this.relay.roomClosed(roomId);
            const event = { roomId, reason, message };
            let audience = this.io.to(roomChannel(roomId));
            if (reason === 'host-left') {
                audience = audience.except(peerChannel(room.hostPeerId));
            }
            audience.emit('room:closed', event);
            for (const pending of Object.values(room.pending)) {
                this.io.to(peerChannel(pending.peer.id)).emit('room:closed', event);
                const socket = this.localSocket(pending.socketId);
                socket?.data.pendingJoins.delete(roomId);
                socket?.leave(peerChannel(pending.peer.id));
            }
            for (const member of Object.values(room.members)) {
                const socket = this.localSocket(member.socketId);
                if (socket) {
                    socket.data.memberships.delete(roomId);
                    socket.leave(roomChannel(roomId));
                    socket.leave(peerChannel(member.info.id));
                }
            }
            this.logger.info({ room: roomId, reason }, 'room closed');
        });
    }

    async closeAll(reason: RoomClosedReason): Promise<void> {
        const rooms = await this.store.list();
        await Promise.all(rooms.map(room => this.closeRoom(room.id, reason)));
    }

    /** Closes expired, idle and long-empty rooms. */
    async sweep(now = Date.now()): Promise<void> {
        for (const room of await this.store.list()) {
            if (now >= room.expiresAt) {
                await this.closeRoom(room.id, 'expired');
            } else if (now - room.lastActivityAt >= this.options.idleRoomMs) {
                await this.closeRoom(room.id, 'idle');
            } else if (room.emptySince !== undefined && now - room.emptySince >= this.options.emptyRoomMs) {
                await this.closeRoom(room.id, 'idle', 'The session was closed because nobody joined it for a long time.');
            }
        }
    }

    protected async cancelJoin(socket: CollabSocket, roomId: string): Promise<void> {
        const pendingJoin = socket.data.pendingJoins.get(roomId);
        if (!pendingJoin) {
            return;
        }
        socket.data.pendingJoins.delete(roomId);
        socket.leave(peerChannel(pendingJoin.peerId));
        await this.mutex.run(roomId, async () => {
            const room = await this.store.get(roomId);
            if (!room?.pending[pendingJoin.requestId]) {
                return;
            }
            delete room.pending[pendingJoin.requestId];
            this.updateEmpty(room);
            await this.store.save(room);
            this.io.to(peerChannel(room.hostPeerId)).emit('room:join-cancelled', { roomId, requestId: pendingJoin.requestId });
            this.logger.info({ room: roomId, requestId: pendingJoin.requestId }, 'join cancelled');
        });
    }

    /** Must run under the room's mutex. */
    protected async removeMember(room: RoomRecord, peerId: string, reason: 'left' | 'removed' | 'disconnected'): Promise<void> {
        const member = room.members[peerId];
        delete room.members[peerId];
        room.lastActivityAt = Date.now();
        this.updateEmpty(room);
        await this.store.save(room);
        if (reason === 'removed') {
            this.io.to(peerChannel(peerId)).emit('room:closed', { roomId: room.id, reason: 'removed', message: CLOSE_MESSAGES.removed });
        }
        const socket = member && this.localSocket(member.socketId);
        if (socket) {
            socket.data.memberships.delete(room.id);
            socket.leave(roomChannel(room.id));
            socket.leave(peerChannel(peerId));
        }
        this.relay.peerLeft(room.id, peerId);
        this.io.to(roomChannel(room.id)).emit('room:peer-left', { roomId: room.id, peerId, reason });
        this.logger.info({ room: room.id, peer: peerId, reason }, 'peer left');
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

    protected updateEmpty(room: RoomRecord): void {
        const empty = guestCount(room) === 0 && Object.keys(room.pending).length === 0;
        if (!empty) {
            room.emptySince = undefined;
        } else if (room.emptySince === undefined) {
            room.emptySince = Date.now();
        }
    }

    protected localSocket(socketId: string): CollabSocket | undefined {
        const socket = this.io.sockets.sockets.get(socketId);
        return socket?.connected ? socket : undefined;
    }
}
