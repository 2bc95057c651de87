/**
 * Graceful shutdown of a server instance: refuses new connections and events, sends `server:shutdown`, lets
 * events being handled finish, then alone: closes every room ('shutdown'); with Redis: leaves the rooms to the
 * other instances (members may resume there with their room tokens). Then closes socket.io, HTTP and Redis.
 */
import type * as http from 'http';
import type { Logger } from 'pino';
import type { Cluster } from './cluster';
import type { ServerOptions } from './config';
import type { ConnectionHandler } from './connection';
import type { ContentStore } from './content-store';
import type { LogLimiter } from './log-limiter';
import type { ServerMetrics } from './metrics';
import type { PendingRequestStore } from './pending-requests';
import type { Relay } from './relay';
import type { ReplayWindow } from './replay-window';
import { CLOSE_MESSAGES, RoomService } from './room-service';
import type { RoomStore } from './rooms';
import type { CollabServer } from './socket-state';
import type { Sweeper } from './sweeper';

export interface ShutdownDependencies {
    options: Pick<ServerOptions, 'shutdownTimeoutMs'>;
    io: CollabServer;
    httpServer: http.Server;
    connections: ConnectionHandler;
    /** Marks the server as draining: new connections are refused from then on (see socket-auth.ts, /health). */
    startDraining(): void;
    sweeper: Sweeper;
    cluster: Cluster;
    rooms: RoomService;
    relay: Relay;
    content: ContentStore;
    replayWindow: ReplayWindow;
    store: RoomStore;
    requests: PendingRequestStore;
    metrics: ServerMetrics;
    logLimiter: LogLimiter;
    logger: Logger;
}

/** Resolves when no local socket has packets waiting to be written (or after `timeoutMs`). */
async function flushed(io: CollabServer, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const pending = () => [...io.of('/').sockets.values()].some(socket => (socket.conn as unknown as { writeBuffer?: unknown[] }).writeBuffer?.length);
    while (pending() && Date.now() < deadline) {
        await new Promise(resolve => setTimeout(resolve, 10));
    }
}

/** The server's `close()`: idempotent (every call gets the one shutdown). */
export function createShutdown(deps: ShutdownDependencies): () => Promise<void> {
    const { options, io, httpServer, connections, sweeper, cluster, rooms, relay, content, replayWindow, store, requests, metrics, logLimiter, logger } = deps;
    let closing: Promise<void> | undefined;
    return () => closing ??= (async () => {
        deps.startDraining();
        connections.draining = true;
        sweeper.stop();
        const sockets = io.of('/').sockets.size;
        logger.info({ sockets, resume: cluster.shared }, 'draining');
        io.local.emit('server:shutdown', cluster.shared
            ? { resume: true, message: 'This server is restarting; reconnecting resumes your session.' }
            : { resume: false, message: CLOSE_MESSAGES.shutdown });
        await connections.idle(options.shutdownTimeoutMs);
        try {
            if (cluster.shared) {
                await rooms.detachLocal();
            } else {
                await rooms.closeAll('shutdown');
            }
        } catch (error) {
            logger.error({ err: error }, 'closing rooms failed');
        }
        logger.debug('rooms closed or detached');
        relay.dispose();
        rooms.dispose();
        content.clear();
        replayWindow.dispose();
        // Let the last events reach the clients: closing discards what the transports still buffer.
        await flushed(io, 2000);
        if (!cluster.shared) {
            io.local.disconnectSockets(true);
        }
        // With Redis, the transports just close: clients reconnect on their own (to another instance) and resume.
        await new Promise<void>(resolve => {
            io.close(() => resolve());
            httpServer.closeIdleConnections();
            setTimeout(() => httpServer.closeAllConnections(), 2000).unref();
        });
        logger.debug('socket.io and http closed');
        await store.close();
        await requests.close();
        await cluster.close();
        logger.debug('store and cluster closed');
        metrics.dispose();
        logLimiter.dispose();
        logger.info('collab-server stopped');
    })();
}
