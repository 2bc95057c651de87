/**
 * Grace periods of members whose connection dropped, timed on the instance that saw the drop: when one ends
 * and the member is still detached, it leaves (the host: its room closes). The sweep (room-cleanup.ts) is the
 * backstop for members of instances that went away.
 */
import { HOST_GONE_MESSAGE } from './room-messages';
import { RoomContext, RoomPart } from './room-part';
import type { RoomExits } from './room-exits';
import type { MemberRecord } from './rooms';

export class GracePeriods extends RoomPart {
    /** Members of this instance whose connection dropped: when their grace period ends. */
    protected readonly graceTimers = new Map<string, NodeJS.Timeout>();

    constructor(context: RoomContext, protected readonly exits: RoomExits) {
        super(context);
    }

    scheduleExpiry(roomId: string, peerId: string, detachedAt: number, graceMs: number): void {
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

    clearExpiry(roomId: string, peerId: string): void {
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
            await this.exits.closeRoom(roomId, 'host-left', HOST_GONE_MESSAGE, current => unchanged(current.members[peerId]));
        } else {
            await this.exits.removePeer(roomId, peerId, 'disconnected', unchanged);
        }
    }

    /** Stops the grace period timers (the server stops). */
    dispose(): void {
        this.graceTimers.forEach(timer => clearTimeout(timer));
        this.graceTimers.clear();
    }
}
