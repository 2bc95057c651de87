/**
 * Leaving a room: on purpose (`room:leave`), or because the connection went away. A connection that
 * dropped (network, crash) keeps its member's place for a grace period; one closed on purpose leaves at
 * once. Disconnections that could not be recorded (the store was away) are recorded once it is back.
 */
import type { LeaveRoom } from '@theia-collab/protocol/lib/wire';
import type { GracePeriods } from './grace-periods';
import type { HandlerResult } from './handler-result';
import type { RoomExits } from './room-exits';
import { RoomContext, RoomPart } from './room-part';
import { CollabSocket, fail } from './socket-state';
import { isStoreUnavailable } from './unavailable';

/**
 * Disconnect reasons of a connection that dropped (network, crash) rather than closed on purpose
 * ('client namespace disconnect', a server-side kick, a malformed packet): its member keeps its place
 * for a grace period and may resume with its room token.
 */
const DROPPED_REASONS = new Set(['transport close', 'transport error', 'ping timeout', 'forced close']);

/** A disconnection whose handling failed because the store was away: done again once it is back. */
export interface UnfinishedDisconnect {
    roomId: string;
    peerId: string;
    socketId: string;
    dropped: boolean;
    pending: boolean;
    at: number;
}
const MAX_UNFINISHED = 100_000;

export class RoomDepartures extends RoomPart {
    /** Disconnections not yet recorded in the store (it was away), by room|peer|socket. */
    protected readonly unfinished = new Map<string, UnfinishedDisconnect>();

    constructor(context: RoomContext, protected readonly exits: RoomExits, protected readonly grace: GracePeriods) {
        super(context);
    }

    async leave(socket: CollabSocket, request: LeaveRoom): Promise<HandlerResult> {
        const { roomId } = request;
        const membership = socket.data.memberships.get(roomId);
        const pendingJoin = socket.data.pendingJoins.get(roomId);
        if (membership?.role === 'host') {
            await this.exits.closeRoom(roomId, 'host-left', undefined, room => room.members[membership.peerId]?.socketId === socket.id);
            this.forget(socket, roomId, membership.peerId);
        } else if (membership) {
            await this.exits.removePeer(roomId, membership.peerId, 'left', member => member.socketId === socket.id);
            this.forget(socket, roomId, membership.peerId);
        } else if (pendingJoin) {
            await this.exits.cancelJoin(roomId, pendingJoin.requestId, pendingJoin.peerId, socket.id);
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

    /** Records the disconnections that happened while the store was away (see `disconnected`); throws while it still is. */
    async retryUnfinished(): Promise<void> {
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
        this.grace.scheduleExpiry(roomId, peerId, now, Math.max(0, now + graceMs - Date.now()));
        this.logger.info({ room: roomId, peer: peerId, graceMs }, 'member connection dropped: keeping its place');
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
            await this.exits.cancelJoin(roomId, pending.requestId, peerId, socketId);
        }
        // Also when it was pending above: the host may have admitted it meanwhile.
        if (peerId === room.hostPeerId) {
            await this.exits.closeRoom(roomId, 'host-left', undefined, current => current.members[peerId]?.socketId === socketId);
        } else {
            await this.exits.removePeer(roomId, peerId, 'disconnected', member => member.socketId === socketId);
        }
    }
}
