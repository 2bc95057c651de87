/**
 * What the parts of the room service share (see room-service.ts): their dependencies, the per-room mutex,
 * and the small helpers every part uses (store updates, socket bookkeeping, permission checks).
 */
import type { Logger } from 'pino';
import type { ConnectionStatus } from '@theia-collab/protocol/lib/wire';
import type { TokenService } from './auth';
import type { Cluster } from './cluster';
import type { ServerOptions } from './config';
import type { ContentStore } from './content-store';
import type { LogLimiter } from './log-limiter';
import type { ServerMetrics } from './metrics';
import type { PeerBus } from './peer-bus';
import type { Relay } from './relay';
import type { ReplayWindow } from './replay-window';
import { guestCount, KeyedMutex, RoomRecord, RoomStore, Updated } from './rooms';
import { checkScope, CollabServer, CollabSocket, fail, peerChannel, roomChannel } from './socket-state';

export type RoomServiceOptions = Pick<ServerOptions,
    'roomTtlMs' | 'idleRoomMs' | 'emptyRoomMs' | 'maxRoomsPerSocket' | 'maxPendingJoinsPerRoom' | 'resumeGraceMs' | 'hostGraceMs' | 'guestGraceMs'
    | 'replayWindowBytesPerRoom'>;

export interface RoomServiceDependencies {
    io: CollabServer;
    store: RoomStore;
    tokens: TokenService;
    relay: Relay;
    content: ContentStore;
    peers: PeerBus;
    cluster: Cluster;
    metrics: ServerMetrics;
    options: RoomServiceOptions;
    logger: Logger;
    /** The replay window, when envelopes are kept for members that resume. */
    replayWindow?: ReplayWindow;
    /** Bounds log lines of failures that repeat while the store is away. */
    logLimiter?: LogLimiter;
}

/** The dependencies and the one per-room mutex that all parts of a room service share. */
export class RoomContext {
    /** Mutations of one room are serialized per instance: fewer optimistic-update conflicts in the store. */
    readonly mutex = new KeyedMutex();

    constructor(readonly deps: RoomServiceDependencies) { }
}

export function updateEmpty(room: RoomRecord, now = Date.now()): void {
    const empty = guestCount(room) === 0 && Object.keys(room.pending).length === 0;
    if (!empty) {
        room.emptySince = undefined;
    } else if (room.emptySince === undefined) {
        room.emptySince = now;
    }
}

/** A part of the room service: its dependencies under short names, and the helpers the parts share. */
export abstract class RoomPart {
    protected readonly mutex: KeyedMutex;
    protected readonly io: CollabServer;
    protected readonly store: RoomStore;
    protected readonly tokens: TokenService;
    protected readonly relay: Relay;
    protected readonly content: ContentStore;
    protected readonly peers: PeerBus;
    protected readonly cluster: Cluster;
    protected readonly metrics: ServerMetrics;
    protected readonly options: RoomServiceOptions;
    protected readonly logger: Logger;
    protected readonly window?: ReplayWindow;
    protected readonly logLimiter?: LogLimiter;

    constructor(context: RoomContext) {
        const deps = context.deps;
        this.mutex = context.mutex;
        this.io = deps.io;
        this.store = deps.store;
        this.tokens = deps.tokens;
        this.relay = deps.relay;
        this.content = deps.content;
        this.peers = deps.peers;
        this.cluster = deps.cluster;
        this.metrics = deps.metrics;
        this.options = deps.options;
        this.logger = deps.logger;
        this.window = deps.replayWindow;
        this.logLimiter = deps.logLimiter;
    }

    protected get instance(): string {
        return this.cluster.instanceId;
    }

    /** Serialized on this instance (fewer conflicts), atomic across instances (the store). */
    protected update<T>(roomId: string, mutate: (room: RoomRecord) => T): Promise<Updated<T> | undefined> {
        return this.mutex.run(roomId, () => this.store.update(roomId, mutate));
    }

    /** Drops what this socket remembers about a room. */
    protected forget(socket: CollabSocket, roomId: string, peerId: string): void {
        socket.data.memberships.delete(roomId);
        socket.data.pendingJoins.delete(roomId);
        socket.leave(roomChannel(roomId));
        socket.leave(peerChannel(peerId));
    }

    protected requireHost(socket: CollabSocket, roomId: string): void {
        checkScope(socket, roomId);
        const membership = socket.data.memberships.get(roomId);
        if (!membership) {
            fail('not-member', 'You are not in this session.');
        }
        if (membership.role !== 'host') {
            fail('forbidden', 'Only the host can do this.');
        }
    }

    protected async requireRoom(roomId: string): Promise<RoomRecord> {
        const room = await this.store.get(roomId);
        if (!room) {
            fail('room-closed', 'This session has ended.');
        }
        return room;
    }

    /** Whether a socket recorded in the store may still be connected. */
    protected async socketAlive(socketId: string, instance: string | undefined): Promise<boolean> {
        if (!instance || instance === this.instance) {
            return !!this.localSocket(socketId);
        }
        return (await this.cluster.liveInstances()).has(instance);
    }

    protected localSocket(socketId: string): CollabSocket | undefined {
        const socket = this.io.sockets.sockets.get(socketId);
        return socket?.connected ? socket : undefined;
    }

    /** Tells the other members that `peerId` is reconnecting or back (the guests also by `room:host-status`, for the host). */
    protected announceStatus(roomId: string, hostPeerId: string, peerId: string, status: ConnectionStatus): void {
        const audience = this.io.to(roomChannel(roomId)).except(peerChannel(peerId));
        audience.emit('room:peer-status', { roomId, peerId, status });
        if (peerId === hostPeerId) {
            audience.emit('room:host-status', { roomId, status });
        }
    }

    /** A failure that repeats while the store is away: logged a few times per interval. */
    protected logLimited(level: 'warn' | 'info', fields: object, message: string): void {
        if (this.logLimiter) {
            this.logLimiter.log(level, ['store'], fields, message);
        } else {
            this.logger[level](fields, message);
        }
    }
}
