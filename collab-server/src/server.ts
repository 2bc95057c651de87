/**
 * Wires the server together: options, logger, tokens, login providers, HTTP routes, socket.io with
 * authentication (socket-auth.ts), rooms, relay, metrics, the cleanup timers (sweeper.ts) and graceful
 * shutdown (shutdown.ts). With `redisUrl`, rooms and pending requests live in Redis and socket.io fans out
 * through the Redis adapter, so that several instances act as one server (see README, "Several instances").
 */
import { parserWithAttachments, SERVER_MAX_ATTACHMENTS } from '@theia-collab/protocol/lib/socket-parser';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { AddressInfo } from 'net';
import { Server } from 'socket.io';
import { HttpPaths, PROTOCOL_VERSION, ServerHelloEvent } from '@theia-collab/protocol/lib/wire';
import { AddressConnections } from './address-connections';
import { AnonymousLoginProvider, loadTokenUsers, LoginProvider, TokenLoginProvider, TokenService } from './auth';
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
import { KeyedRateLimiter } from './rate-limit';
import { guardPublisher, RedisConnection, setRedisTimer } from './redis';
import { redisAdapter } from './redis-adapter';
import { RedisReplayWindow } from './redis-replay-window';
import { RedisPendingRequests, RedisRoomStore } from './redis-store';
import { Relay } from './relay';
import { MemoryReplayWindow, ReplayWindow } from './replay-window';
import { RoomCache, RoomReader } from './room-cache';
import { RoomService } from './room-service';
import { MemoryRoomStore, RoomStore } from './rooms';
import { createShutdown } from './shutdown';
import { createSocketAuthentication } from './socket-auth';
import type { CollabServer } from './socket-state';
import { startSweeper } from './sweeper';

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

/** Options that expose the server more than a production setup should: said once at start. */
function warnAboutExposure(options: ServerOptions, logger: Logger): void {
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
    warnAboutExposure(options, logger);

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
    const rooms = new RoomService({ io, store, tokens, relay, content, peers, cluster, metrics, options, logger, replayWindow, logLimiter });
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

    io.use(createSocketAuthentication({
        options, tokens, cluster, connectionsPerAddress, remoteAddress, draining: () => draining, metrics, logLimiter
    }));
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

    const sweeper = startSweeper({
        options, loginLimiter, joinLimiter, oidc, content, store, cluster, rooms, relay, replayWindow, logger, logLimiter
    });

    logger.info({ url, port, mode: options.mode, providers: options.providers, instance: cluster.instanceId, redis: !!redis }, 'collab-server listening');

    const close = createShutdown({
        options, io, httpServer, connections, startDraining: () => {
            draining = true;
        }, sweeper, cluster, rooms, relay, content, replayWindow,
        store, requests, metrics, logLimiter, logger
    });

    return { url, port, options, logger, io, instanceId: cluster.instanceId, metrics, contentStore: content, replayWindow, close };
}
