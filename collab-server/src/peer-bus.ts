/**
 * Keeps what each instance remembers on its sockets (memberships, pending joins, socket.io rooms)
 * in step with room changes made on any instance. A change names a peer; the instance holding that
 * peer's socket applies it. Changes are published through the socket.io adapter on the same Redis
 * connection as the events that follow them, so an instance applies a change (e.g. "joins the room
 * channel") before it delivers the events sent after it (e.g. the room's broadcasts).
 *
 * With the sharded adapter (one Redis channel per socket.io room, subscribed while a local socket is in the room)
 * joining the room channel on admission would subscribe only then: broadcasts published between the admission and
 * the subscription would be lost for this instance. So an instance subscribes as soon as one of its sockets asks to
 * join (`subscribeEarly`): a placeholder id (no socket, so it receives nothing) holds the room channel while the
 * join is pending, and lets go once the socket joined the channel itself or the join ended. (On a Redis Cluster
 * the peer change and the room's broadcasts may travel on different shards, so their order is not guaranteed
 * across them; see README "Scale-out".)
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import { PeerId, RoomId } from '@theia-collab/protocol/lib/wire';
import { CollabServer, CollabSocket, peerChannel, roomChannel } from './socket-state';

export const PeerChange = z.discriminatedUnion('op', [
    /** The pending guest `peerId` became a member. */
    z.object({ op: z.literal('admitted'), roomId: RoomId, peerId: PeerId }),
    /** The peers are no longer in the room (left, removed, denied, cancelled, closed); `socketId`: only that socket. */
    z.object({ op: z.literal('detach'), roomId: RoomId, peerIds: z.array(PeerId).max(4096), socketId: z.string().max(64).optional() })
]);
export type PeerChange = z.infer<typeof PeerChange>;

/** Placeholder ids holding a room channel for a pending join: `<HOLD><socket id>|<room id>` (never a socket id). */
const HOLD = '~pending:';

export class PeerBus {
    protected readonly listeners: ((change: PeerChange) => void)[] = [];
    protected early = false;

    constructor(protected readonly io: CollabServer, protected readonly shared: boolean, protected readonly logger: Logger) {
        if (shared) {
            io.sockets.on('collab:peer', (raw: unknown) => {
                const parsed = PeerChange.safeParse(raw);
                if (parsed.success) {
                    this.apply(parsed.data);
                } else {
                    this.logger.warn('malformed peer change from another instance');
                }
            });
        }
    }

    /**
     * Subscribes to a room's channel while one of this instance's sockets waits to join the room (see above).
     * The pending join is recorded before the socket joins its peer channel (room-service.ts).
     */
    subscribeEarly(): void {
        if (this.early) {
            return;
        }
        this.early = true;
        const adapter = this.io.sockets.adapter;
        adapter.on('join-room', (room: string, id: string) => {
            if (!room.startsWith(peerChannel(''))) {
                return;
            }
            const socket = this.io.sockets.sockets.get(id);
            socket?.data.pendingJoins.forEach((pending, roomId) => {
                if (peerChannel(pending.peerId) === room && !socket.data.memberships.has(roomId)) {
                    adapter.addAll(`${HOLD}${id}|${roomId}`, new Set([roomChannel(roomId)]));
                }
            });
        });
        adapter.on('leave-room', (room: string, id: string) => {
            if (room.startsWith(peerChannel('')) && !id.startsWith(HOLD)) {
                this.release(id);
            }
        });
    }

    /** Lets go of the placeholders of socket `id` (of one room, or all). */
    protected release(id: string, roomId?: string): void {
        if (!this.early) {
            return;
        }
        const adapter = this.io.sockets.adapter;
        const stem = `${HOLD}${id}|`;
        if (roomId !== undefined) {
            adapter.delAll(`${stem}${roomId}`);
            return;
        }
        for (const holder of [...adapter.sids.keys()]) {
            if (holder.startsWith(stem)) {
                adapter.delAll(holder);
            }
        }
    }

    /** Applies on this instance at once, and on the others. */
    publish(change: PeerChange): void {
        if (this.shared) {
            this.io.serverSideEmit('collab:peer', change);
        }
        this.apply(change);
    }

    /** Called for every change, local or remote (e.g. to drop cached room records). */
    onChange(listener: (change: PeerChange) => void): void {
        this.listeners.push(listener);
    }

    protected apply(change: PeerChange): void {
        switch (change.op) {
            case 'admitted':
                for (const socket of this.localSockets(change.peerId)) {
                    const pending = socket.data.pendingJoins.get(change.roomId);
                    if (pending?.peerId === change.peerId) {
                        socket.data.pendingJoins.delete(change.roomId);
                        socket.data.memberships.set(change.roomId, { peerId: change.peerId, role: 'guest' });
                        socket.join(roomChannel(change.roomId));
                        this.release(socket.id, change.roomId);
                    }
                }
                break;
            case 'detach':
                for (const peerId of change.peerIds) {
                    for (const socket of this.localSockets(peerId)) {
                        if (change.socketId !== undefined && socket.id !== change.socketId) {
                            continue;
                        }
                        if (socket.data.memberships.get(change.roomId)?.peerId === peerId) {
                            socket.data.memberships.delete(change.roomId);
                            socket.leave(roomChannel(change.roomId));
                        }
                        if (socket.data.pendingJoins.get(change.roomId)?.peerId === peerId) {
                            socket.data.pendingJoins.delete(change.roomId);
                            this.release(socket.id, change.roomId);
                        }
                        socket.leave(peerChannel(peerId));
                    }
                }
                break;
        }
        this.listeners.forEach(listener => listener(change));
    }

    protected localSockets(peerId: string): CollabSocket[] {
        const ids = this.io.sockets.adapter.rooms.get(peerChannel(peerId));
        const sockets: CollabSocket[] = [];
        ids?.forEach(id => {
            const socket = this.io.sockets.sockets.get(id);
            if (socket) {
                sockets.push(socket);
            }
        });
        return sockets;
    }
}
