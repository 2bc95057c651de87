/** What the host does to an admitted guest: change its permission, remove it, hand out a new room key. */
import type { Rekey, RemovePeer, SetPermission } from '@theia-collab/protocol/lib/wire';
import type { HandlerResult } from './handler-result';
import { RoomContext, RoomPart } from './room-part';
import type { RoomExits } from './room-exits';
import { CollabSocket, fail, peerChannel, roomChannel } from './socket-state';

export class HostControls extends RoomPart {
    constructor(context: RoomContext, protected readonly exits: RoomExits) {
        super(context);
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
        if (!room.members[peerId] || !await this.exits.removePeer(roomId, peerId, 'removed')) {
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
}
