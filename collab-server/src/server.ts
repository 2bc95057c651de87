/**
 * Wires the server together: options, logger, tokens, login providers, HTTP routes, socket.io with
 * authentication, rooms, relay, metrics, the cleanup timer and graceful shutdown. With `redisUrl`,
 * rooms and pending requests live in Redis and socket.io fans out through the Redis adapter, so that
 * several instances act as one server (see README, "Several instances").
 */
import { parserWithAttachments, SERVER_MAX_ATTACHMENTS } from '@theia-collab/protocol/lib/socket-parser';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { AddressInfo } from 'net';
import { Server } from 'socket.io';
import { CollaborationError } from '@theia-collab/protocol/lib/errors';
import { HttpPaths, PROTOCOL_VERSION, ServerHelloEvent } from '@theia-collab/protocol/lib/wire';
import { AddressConnections } from './address-connections';
import { AnonymousLoginProvider, loadTokenUsers, LoginProvider, TokenLoginProvider, TokenService, UserIdentity } from './auth';
import { Cluster, LocalCluster } from './cluster';
import { resolveOptions, ServerOptions } from './config';
import { ConnectionHandler, engineFrameLimit } from './connection';
import { ContentService, ContentStore } from './content-store';
import { checkHealth } from './health';
import { createHttpHandler } from './http';
import { infoChallengeResponse } from './info-challenge';
import { OidcLoginProvider } from './oidc';
import { RedisOidcLoginStore } from './oidc-login-store';
import { createLogger, Logger } from './logger';
import { LogLimiter } from './log-limiter';
import { ServerMetrics } from './metrics';
import { PeerBus } from './peer-bus';
import { MemoryPendingRequests, PendingRequestStore } from './pending-requests';
import { KeyedRateLimiter, SocketRateLimiter } from './rate-limit';
import { guardPublisher, RedisConnection, setRedisTimer } from './redis';
import { redisAdapter } from './redis-adapter';
import { RedisReplayWindow } from './redis-replay-window';
import { RedisPendingRequests, RedisRoomStore } from './redis-store';
import { Relay } from './relay';
import { MemoryReplayWindow, ReplayWindow } from './replay-window';
import { RoomCache, RoomReader } from './room-cache';
import { CLOSE_MESSAGES, RoomService } from './room-service';
import { MemoryRoomStore, RoomStore } from './rooms';
import type { CollabServer } from './socket-state';
import { isStoreUnavailable } from './unavailable';

export interface ServerHandle {
    /** `http://<hostname>:<port>` */
    readonly url: string;
    readonly port: number;
    readonly options: Readonly<ServerOptions>;
    readonly logger: Logger;
    readonly io: CollabServer;
    /** Random per start; other instances see it in Redis. */
    readonly instanceId: string;
    readonly metrics: ServerMetrics;
    /** Stored content held by this instance. */
    readonly contentStore: ContentStore;
    /** The replay window (in memory, or with Redis in Redis). */
    readonly replayWindow: ReplayWindow;
    /**
     * Stops gracefully: refuses new connections and events, sends `server:shutdown`, lets events being
     * handled finish, then alone: closes every room ('shutdown'); with Redis: leaves the rooms to the
     * other instances (members may resume there with their room tokens). Closes socket.io, HTTP and
     * Redis. Idempotent.
     */
    close(): Promise<void>;
}

export function packageVersion(): string {
    try {
        return JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')).version ?? '0.0.0';
    } catch {
        return '0.0.0';
    }
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export function createOriginCheck(allowedOrigins: string[]): (origin: string | undefined) => boolean {
    const allowAny = allowedOrigins.includes('*');
    const allowed = new Set(allowedOrigins.filter(origin => origin !== '*').map(origin => origin.replace(/\/+$/, '').toLowerCase()));
    return origin => {
        if (origin === undefined) {
            // Not a browser (or a same-origin GET): CORS does not apply; tokens still do.
            return true;
        }
        if (allowAny) {
            return true;
        }
        if (allowed.size > 0) {
            return allowed.has(origin.toLowerCase());
        }
        try {
            const url = new URL(origin);
            return (url.protocol === 'http:' || url.protocol === 'https:')
                && (LOOPBACK_HOSTS.has(url.hostname) || url.hostname.endsWith('.localhost'));
        } catch {
            return false;
        }
    };
}

/** Resolves when no local socket has packets waiting to be written (or after `timeoutMs`). */
async function flushed(io: CollabServer, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const pending = () => [...io.of('/').sockets.values()].some(socket => (socket.conn as unknown as { writeBuffer?: unknown[] }).writeBuffer?.length);
    while (pending() && Date.now() < deadline) {
        await new Promise(resolve => setTimeout(resolve, 10));
    }
}

export async function startServer(partial: Partial<ServerOptions> = {}): Promise<ServerHandle> {
    const options = resolveOptions(partial);
    const logger = options.logger ?? createLogger(options.logLevel);
    const logLimiter = new LogLimiter(logger, options.logRateLimit);
    let secret = options.secret;
    if (!secret) {
        secret = crypto.randomBytes(32).toString('base64url');
        logger.warn('No secret configured (COLLAB_SECRET): using a random one for this process; tokens will not survive a restart. Set one for production.');
    }
    if (options.mode === 'production' && options.metrics && !options.metricsToken) {
        logger.warn('GET /metrics is served without a credential: set COLLAB_METRICS_TOKEN (or --metrics-token, "metricsToken"), '
            + 'or keep /metrics away from the public in the reverse proxy, or switch it off (COLLAB_METRICS=false).');
    }
    if (options.providers.includes('anonymous') && options.mode === 'production') {
        logger.warn('Anonymous login is switched on in production mode: anyone who can reach this server can create sessions.');
    }
    if (options.allowedOrigins.includes('*')) {
        logger.warn('allowedOrigins contains *: any web page may use this server from a browser.');
    }

    const tokens = new TokenService(secret, options.issuer, options.tokenTtlMs);
    const providers: LoginProvider[] = [];
    if (options.providers.includes('anonymous')) {
        providers.push(new AnonymousLoginProvider());
    }
    if (options.providers.includes('token')) {
        const users = loadTokenUsers(options.tokenUsersFile!);
        providers.push(new TokenLoginProvider(users));
        logger.info({ users: users.size }, 'token login enabled');
    }
    const originAllowed = createOriginCheck(options.allowedOrigins);
    const loginLimiter = new KeyedRateLimiter(options.loginRateLimit);
    const joinLimiter = new KeyedRateLimiter(options.joinRateLimit);
    const remoteAddress = (request: http.IncomingMessage): string => {
        const forwarded = request.headers['x-forwarded-for'];
        if (options.trustProxy && typeof forwarded === 'string' && forwarded.trim()) {
            return forwarded.split(',')[0].trim();
        }
        return request.socket.remoteAddress ?? 'unknown';
    };

    const redis = options.redisUrl || options.redisCluster
        ? await RedisConnection.connect({ url: options.redisUrl ?? options.redisCluster![0], clusterUrls: options.redisCluster, prefix: options.redisPrefix, logger })
        : undefined;
    const oidc = options.oidc && options.providers.includes('oidc')
        ? new OidcLoginProvider(options.oidc, {
            tokens, loginLimiter, remoteAddress, serverUrl: () => url, logger,
            // On a Redis Cluster every login key in one slot (the store's scripts touch a login and the index).
            logins: redis ? new RedisOidcLoginStore(redis.client, options.redisCluster ? `${options.redisPrefix}{oidc}` : options.redisPrefix) : undefined
        })
        : undefined;
    const cluster: Cluster = redis ?? new LocalCluster();
    const store: RoomStore = options.store ?? (redis
        ? new RedisRoomStore(redis.client, { prefix: options.redisPrefix, touchIntervalMs: Math.max(10, Math.min(1000, Math.floor(options.idleRoomMs / 10))) })
        : new MemoryRoomStore());
    const requests: PendingRequestStore = redis
        ? new RedisPendingRequests(redis.client, options.redisPrefix, options.requestTimeoutMs + 60_000)
        : new MemoryPendingRequests();

    // The HTTP routes must be registered before socket.io attaches: it then forwards everything
    // outside its own path to them (a listener added later would also see socket.io's requests).
    let routeHttp: http.RequestListener = (_request, response) => response.writeHead(503).end();
    const httpServer = http.createServer((request, response) => routeHttp(request, response));
    const io: CollabServer = new Server(httpServer, {
        path: HttpPaths.socket,
        serveClient: false,
        pingInterval: options.pingIntervalMs,
        pingTimeout: options.pingTimeoutMs,
        // Per frame. Twice the largest event the server reads, so that events between the two get a clear
        // 'too-large' (see connection.ts) instead of a dropped connection; still bounded.
        maxHttpBufferSize: engineFrameLimit(options.maxPayloadBytes),
        // A rekey carries one wrapped key per guest: more binary attachments than socket.io's default of 10.
        parser: parserWithAttachments(SERVER_MAX_ATTACHMENTS),
        cors: { origin: (origin, callback) => callback(null, originAllowed(origin)) },
        // Browsers do not apply CORS to WebSocket upgrades: check the Origin on every engine request.
        // Called for handshakes only: also bounds the transport connections per address.
        allowRequest: (request, callback) => {
            if (!originAllowed(request.headers.origin)) {
                return callback('origin not allowed', false);
            }
            if (!transports.admits(remoteAddress(request))) {
                metrics.reject('connect', 'rate-limited');
                logLimiter.log('info', [`address:${remoteAddress(request)}`], { address: remoteAddress(request) }, 'connection refused: too many transport connections from one address');
                return callback('too many connections', false);
            }
            callback(null, true);
        }
    });
    // Per address: transport (engine.io) connections, and connected sockets (see the middleware below).
    const transports = new AddressConnections(2 * options.maxConnectionsPerAddress);
    const connectionsPerAddress = new AddressConnections(options.maxConnectionsPerAddress);
    io.engine.on('connection', (conn: { request: http.IncomingMessage; once(event: 'close', listener: () => void): void }) => {
        conn.once('close', transports.add(remoteAddress(conn.request)));
    });
    // Set once `metrics` exists (below); the adapter of the main namespace is created at once.
    let adapterReceived: ((channel: 'room' | 'server', bytes: number) => void) | undefined;
    if (redis) {
        io.adapter(redisAdapter(redis.publisher, redis.subscriber, {
            kind: options.redisAdapter, key: `${options.redisPrefix}socket.io`, requestsTimeout: 5000,
            received: (channel, bytes) => adapterReceived?.(channel, bytes)
        }) as Parameters<typeof io.adapter>[0]);
    }

    const content = new ContentStore({
        bytesPerRoom: options.contentBytesPerRoom, bytes: options.contentBytes, reservedBytesPerRoom: options.contentReservedBytesPerRoom
    }, logger);
    const windowLimits = { windowMs: options.replayWindowMs, bytesPerRoom: options.replayWindowBytesPerRoom, bytes: options.replayWindowBytes };
    const replayWindow: ReplayWindow = redis
        ? new RedisReplayWindow(redis.replay, {
            ...windowLimits,
            prefix: options.redisPrefix,
            // A member may resume (and ask) until its grace period ends; rooms without traffic close after idleRoomMs.
            metaTtlMs: options.replayWindowMs + Math.max(options.idleRoomMs, options.hostGraceMs, options.guestGraceMs, options.resumeGraceMs)
        }, logger)
        : new MemoryReplayWindow(windowLimits);
    const metrics = new ServerMetrics({
        instance: cluster.instanceId,
        version: packageVersion(),
        shared: cluster.shared,
        sockets: () => io.of('/').sockets.size,
        rooms: () => store.list(),
        contentBytes: () => content.bytes,
        replay: () => replayWindow.stats(async () => (await store.list()).map(room => room.id)),
        local: () => {
            const rooms = new Set<string>();
            let members = 0;
            for (const socket of io.of('/').sockets.values()) {
                members += socket.data.memberships.size;
                socket.data.memberships.forEach((_membership, roomId) => rooms.add(roomId));
            }
            return { rooms: rooms.size, members };
        }
    }, { defaultMetrics: options.processMetrics });
    adapterReceived = (channel, bytes) => metrics.adapterReceived(channel, bytes);
    if (redis) {
        for (const client of [redis.client, redis.replay]) {
            setRedisTimer(client, (operation, seconds) => metrics.redisDuration.observe({ operation }, seconds));
        }
        guardPublisher(redis.publisher, error => {
            metrics.storeFailures.inc({ operation: 'publish' });
            logLimiter.log('warn', ['redis:publish'], { err: error }, 'publishing to the other instances failed (Redis away): delivered on this instance only');
        });
    }
    const peers = new PeerBus(io, cluster.shared, logger);
    if (redis && options.redisAdapter === 'sharded') {
        peers.subscribeEarly();
    }
    let reader: RoomReader = store;
    if (cluster.shared) {
        const cache = new RoomCache(store);
        peers.onChange(change => cache.invalidate(change.roomId));
        reader = cache;
    }
    const relay = new Relay(io, reader, store, requests, options, metrics, logger, replayWindow);
    const rooms = new RoomService(io, store, tokens, relay, content, peers, cluster, metrics, options, logger, replayWindow, logLimiter);
    const contentService = new ContentService(content, reader, metrics, logger);
    const connections = new ConnectionHandler(rooms, relay, contentService, joinLimiter, options, metrics, logger, logLimiter);
    const hello: ServerHelloEvent = {
        protocol: PROTOCOL_VERSION,
        limits: {
            maxPayloadBytes: options.maxPayloadBytes,
            events: { max: Math.max(1, Math.floor(options.socketEventRateLimit.max)), windowMs: Math.max(1, Math.round(options.socketEventRateLimit.windowMs)) },
            bytes: { max: Math.max(1, Math.floor(options.socketByteRateLimit.max)), windowMs: Math.max(1, Math.round(options.socketByteRateLimit.windowMs)) },
            replayWindowMs: options.replayWindowMs
        }
    };
    let draining = false;

    io.use((socket, next) => {
        const auth = (socket.handshake.auth ?? {}) as Record<string, unknown>;
        const address = remoteAddress(socket.request);
        // Taken at once (not after the token check), so that concurrent handshakes cannot overshoot the cap;
        // given back when the socket goes, is refused, or never gets connected (its transport closed meanwhile).
        const release = connectionsPerAddress.admits(address) ? connectionsPerAddress.add(address) : undefined;
        (async () => {
            if (draining) {
                throw new CollaborationError('unavailable', 'The server is restarting: try again.');
            }
            if (!release) {
                throw new CollaborationError('rate-limited', `Too many connections from your address (at most ${options.maxConnectionsPerAddress}): close some.`);
            }
            const roomClaims = auth.roomToken === undefined ? undefined : await tokens.verifyRoomToken(auth.roomToken);
            if (roomClaims && !cluster.ready) {
                // Resuming needs the store: the client tries again shortly (it retries 'unavailable').
                throw new CollaborationError('unavailable', 'The collaboration server cannot reach its shared store right now: reconnecting shortly.');
            }
            let user: UserIdentity;
            if (roomClaims && auth.token === undefined) {
                // Resuming with the room token alone (the login token expired meanwhile): the room token
                // names the user; the connection is bound to that room. The name comes with `resume`.
                user = { id: roomClaims.sub, name: 'Participant', provider: 'anonymous' };
            } else {
                user = await tokens.verifyLoginToken(auth.token);
                if (roomClaims && roomClaims.sub !== user.id) {
                    throw new CollaborationError('unauthorized', 'The room token belongs to another user.');
                }
            }
            socket.data.user = user;
            socket.data.address = remoteAddress(socket.request);
            socket.data.roomClaims = roomClaims;
            socket.data.previousSocketId = roomClaims && typeof auth.previousSocketId === 'string' && auth.previousSocketId.length <= 64
                ? auth.previousSocketId : undefined;
            socket.data.memberships = new Map();
            socket.data.pendingJoins = new Map();
            socket.data.limiter = new SocketRateLimiter(options.socketEventRateLimit, options.socketByteRateLimit, options.rateLimitStrikes);
        })().then(() => {
            socket.once('disconnect', release!);
            next();
            // socket.io connects the socket on the next tick, unless its transport closed meanwhile.
            setImmediate(() => socket.connected || release!());
        }, error => {
            release?.();
            const data = CollaborationError.from(error, 'unauthorized').toJSON();
            metrics.reject('connect', data.code);
            logLimiter.log('info', [`address:${address}`], { address, code: data.code, reason: data.message }, 'connection refused');
            next(Object.assign(new Error(data.message), { data: data.code === 'rate-limited' && !release ? { ...data, reason: 'too-many-connections' } : data }));
        });
    });
    io.on('connection', socket => {
        logger.debug({ socket: socket.id, user: socket.data.user.id }, 'socket connected');
        metrics.connections.inc();
        // First the limits to stay under, before anything else (e.g. room:resumed).
        socket.emit('server:hello', hello);
        connections.attach(socket, socket.data.roomClaims ? () => rooms.resumeConnection(socket) : undefined);
    });

    routeHttp = createHttpHandler({
        version: packageVersion(),
        providers,
        oidc,
        tokens,
        loginLimiter,
        maxPayloadBytes: options.maxPayloadBytes,
        originAllowed,
        remoteAddress,
        health: () => checkHealth({ cluster, store, sockets: () => io.of('/').sockets.size, draining: () => draining }),
        metrics: options.metrics ? async () => ({ contentType: metrics.contentType, body: await metrics.text() }) : undefined,
        metricsToken: options.metricsToken,
        infoChallenge: options.infoChallengeSecret
            ? nonce => infoChallengeResponse(options.infoChallengeSecret!, (httpServer.address() as AddressInfo).port, nonce)
            : undefined,
        logger
    });
    httpServer.on('clientError', (error, socket) => {
        logger.debug({ err: error }, 'http client error');
        socket.destroy();
    });

    try {
        await new Promise<void>((resolve, reject) => {
            httpServer.once('error', reject);
            httpServer.listen(options.port, options.hostname, () => {
                httpServer.off('error', reject);
                resolve();
            });
        });
    } catch (error) {
        io.close();
        await cluster.close();
        metrics.dispose();
        replayWindow.dispose();
        logLimiter.dispose();
        throw error;
    }
    httpServer.on('error', error => logger.error({ err: error }, 'http server error'));
    const port = (httpServer.address() as AddressInfo).port;
    const host = options.hostname.includes(':') ? `[${options.hostname}]` : options.hostname;
    const url = `http://${host}:${port}`;

    const sweepMs = options.sweepIntervalMs
        ?? Math.min(10_000, Math.max(50, Math.floor(Math.min(options.idleRoomMs, options.emptyRoomMs, options.roomTtlMs) / 4)));
    let sweeping = false;
    const sweepTimer = setInterval(() => {
        if (sweeping) {
            return;
        }
        sweeping = true;
        loginLimiter.sweep();
        joinLimiter.sweep();
        oidc?.sweep();
        (async () => {
            // Stored content is per instance: every instance drops its own stale content, and that of rooms
            // closed elsewhere (a failing store lookup leaves the rest for the next period).
            content.sweep();
            await content.dropClosedRooms(async roomId => !!await store.get(roomId))
                .catch(error => logger.warn({ err: error }, 'stored content cleanup failed'));
            // One instance per period does the sweep (every step of it is conditional anyway).
            if (await cluster.tryLock('sweep', Math.max(10, sweepMs - 10))) {
                await rooms.sweep();
                if (cluster.shared) {
                    // Requests whose instance went away before timing them out.
                    await relay.sweepExpired(Date.now(), Math.max(1000, sweepMs));
                }
            }
        })().catch(error => isStoreUnavailable(error)
            ? logLimiter.log('warn', ['store'], { err: error }, 'room cleanup failed: the store is away')
            : logger.error({ err: error }, 'room cleanup failed')).finally(() => sweeping = false);
    }, sweepMs);
    sweepTimer.unref();

    // Per instance: the replay window drops what aged out; with Redis, disconnections that happened while Redis
    // was away are recorded, and the rooms of this instance's connections are checked (see checkLocalRooms).
    let checking = false;
    const checkTimer = setInterval(() => {
        if (checking) {
            return;
        }
        checking = true;
        (async () => {
            await replayWindow.sweep();
            if (cluster.shared && cluster.ready) {
                await rooms.checkLocalRooms();
            }
        })().catch(error => logLimiter.log(isStoreUnavailable(error) ? 'warn' : 'error', ['store'], { err: error }, 'checking the rooms of this instance failed'))
            .finally(() => checking = false);
    }, options.storeCheckIntervalMs ?? 2000);
    checkTimer.unref();

    logger.info({ url, port, mode: options.mode, providers: options.providers, instance: cluster.instanceId, redis: !!redis }, 'collab-server listening');

    let closing: Promise<void> | undefined;
    const close = () => closing ??= (async () => {
        draining = true;
        connections.draining = true;
        clearInterval(sweepTimer);
        clearInterval(checkTimer);
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

    return { url, port, options, logger, io, instanceId: cluster.instanceId, metrics, contentStore: content, replayWindow, close };
}
