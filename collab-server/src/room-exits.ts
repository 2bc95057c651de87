/**
 * Ways out of a room: closing it for everyone, removing a guest, cancelling a join request. Each is a
 * conditional update of the store, then the sockets concerned (on any instance) are detached and told.
 */
import type { PeerLeftReason, RoomClosedReason } from '@theia-collab/protocol/lib/wire';
import { CLOSE_MESSAGES } from './room-messages';
import { RoomPart, updateEmpty } from './room-part';
import type { MemberRecord, RoomRecord } from './rooms';
import { peerChannel, roomChannel } from './socket-state';

export class RoomExits extends RoomPart {
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

    async cancelJoin(roomId: string, requestId: string, peerId: string, socketId: string): Promise<void> {
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
    async removePeer(roomId: string, peerId: string, reason: PeerLeftReason, condition?: (member: MemberRecord) => boolean): Promise<boolean> {
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
}
