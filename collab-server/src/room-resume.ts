/**
 * Coming back: a connection that presents a room token takes over its member's place, when the member's
 * previous connection is gone. And the other way round: this instance stops while others go on, its
 * members keep their place to resume elsewhere.
 */
import { memberList } from './rooms';
import type { GracePeriods } from './grace-periods';
import { LOST_STATE_MESSAGE, UNKNOWN_ROOM_MESSAGE } from './room-messages';
import type { RoomExits } from './room-exits';
import { RoomContext, RoomPart } from './room-part';
import { CollabSocket, peerChannel, roomChannel } from './socket-state';
import { isStoreUnavailable, storeUnavailable } from './unavailable';

/** How long a connection resuming through a store outage is kept waiting before its transport is closed (the client then reconnects). */
const RESUME_RETRY_DELAYS_MS = [250, 500, 1000, 2000, 2000];

export class RoomResume extends RoomPart {
    constructor(context: RoomContext, protected readonly exits: RoomExits, protected readonly grace: GracePeriods) {
        super(context);
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
        this.grace.clearExpiry(roomId, peerId);
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
                await this.exits.cancelJoin(roomId, requestId, peerId, socket.id);
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
}
