/**
 * Getting into a room: the host creates it; a guest asks to join and waits; the host admits it (with a
 * permission and the room key wrapped for it) or denies it.
 */
import { Limits, PeerInfo } from '@theia-collab/protocol/lib/wire';
import type { Admit, CreateRoom, CreateRoomResult, Deny, JoinRoom, JoinRoomResult } from '@theia-collab/protocol/lib/wire';
import { randomId } from './auth';
import type { HandlerResult } from './handler-result';
import { CLOSE_MESSAGES } from './room-messages';
import { RoomPart, updateEmpty } from './room-part';
import { memberList, RoomRecord, Updated } from './rooms';
import { checkScope, CollabSocket, fail, peerChannel, roomChannel } from './socket-state';

export class RoomAdmission extends RoomPart {
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
}
