/**
 * Keeps what each instance remembers on its sockets (memberships, pending joins, socket.io rooms)
 * in step with room changes made on any instance. A change names a peer; the instance holding that
 * peer's socket applies it. Changes are published through the socket.io adapter on the same Redis
 * connection as the events that follow them, so an instance applies a change (e.g. "joins the room
 * channel") before it delivers the events sent after it (e.g. the room's broadcasts).
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

export class PeerBus {
    protected readonly listeners: ((change: PeerChange) => void)[] = [];

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
