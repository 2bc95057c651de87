/**
 * Periodic cleanup of rooms: the sweep (one instance at a time) closes expired, idle and long-empty rooms and
 * ends overdue grace periods; the per-instance check finds rooms that vanished from a shared store.
 */
import type { RoomClosedReason } from '@theia-collab/protocol/lib/wire';
import type { GracePeriods } from './grace-periods';
import type { RoomDepartures } from './room-departures';
import type { RoomExits } from './room-exits';
import { HOST_GONE_MESSAGE, LOST_STATE_MESSAGE } from './room-messages';
import { RoomContext, RoomPart } from './room-part';
import type { MemberRecord, RoomRecord } from './rooms';
import type { CollabSocket } from './socket-state';

export class RoomCleanup extends RoomPart {
    /** Rooms of local connections found missing from the store by the last check (closed when missing twice). */
    protected missing = new Set<string>();

    constructor(context: RoomContext, protected readonly exits: RoomExits, protected readonly departures: RoomDepartures, protected readonly grace: GracePeriods) {
        super(context);
    }

    /**
     * With a shared store, per instance and periodic: records disconnections that happened while the store was
     * away, and checks that the rooms of this instance's connections are still in the store. A room missing in
     * two checks in a row (a Redis without persistence restarted, or its closing did not reach this instance)
     * is closed for its local members: `room:closed` with the reason it closed, if the store remembers it, or
     * 'shutdown' and LOST_STATE_MESSAGE; they never wait for a session that no longer exists.
     */
    async checkLocalRooms(): Promise<void> {
        await this.departures.retryUnfinished();
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
                    this.grace.clearExpiry(roomId, peerId);
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

    /**
     * Closes expired, idle and long-empty rooms; removes members detached for longer than the resume
     * grace period; detaches members and cancels join requests of instances that died. Runs on one
     * instance at a time (cluster lock), and every step is conditional, so overlapping runs are harmless.
     */
    async sweep(now = Date.now()): Promise<void> {
        const live = await this.cluster.liveInstances();
        for (const room of await this.store.list()) {
            if (now >= room.expiresAt) {
                await this.exits.closeRoom(room.id, 'expired');
            } else if (now - room.lastActivityAt >= this.options.idleRoomMs) {
                await this.exits.closeRoom(room.id, 'idle');
            } else if (room.emptySince !== undefined && now - room.emptySince >= this.options.emptyRoomMs) {
                await this.exits.closeRoom(room.id, 'idle', 'The session was closed because nobody joined it for a long time.');
            } else {
                await this.sweepPeers(room, live, now);
            }
        }
    }

    protected async sweepPeers(room: RoomRecord, live: Set<string>, now: number): Promise<void> {
        for (const pending of Object.values(room.pending)) {
            if (pending.instance && !live.has(pending.instance)) {
                await this.exits.cancelJoin(room.id, pending.requestId, pending.peer.id, pending.socketId);
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
                    await this.exits.closeRoom(room.id, 'host-left', HOST_GONE_MESSAGE, current => unchanged(current.members[peerId]));
                    return;
                }
                await this.exits.removePeer(room.id, peerId, 'disconnected', unchanged);
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
}
