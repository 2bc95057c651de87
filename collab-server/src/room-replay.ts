/** `room:replay`: a resumed member asks for what it missed while its connection was away. */
import { CLIENT_MAX_ATTACHMENTS } from '@theia-collab/protocol/lib/socket-parser';
import type { Replay, ReplayResult } from '@theia-collab/protocol/lib/wire';
import type { HandlerResult } from './handler-result';
import { RoomPart } from './room-part';
import { checkScope, CollabSocket, fail } from './socket-state';

export class RoomReplay extends RoomPart {
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
}
