/**
 * Wires the server together: options, logger, tokens, login providers, HTTP routes, socket.io with
 * authentication, rooms, relay, and the cleanup timer.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { AddressInfo } from 'net';
import { Server } from 'socket.io';
import { CollaborationError } from '@theia-collab/protocol/lib/errors';
import { HttpPaths, Limits } from '@theia-collab/protocol/lib/wire';
import { AnonymousLoginProvider, loadTokenUsers, LoginProvider, TokenLoginProvider, TokenService } from './auth';
import { resolveOptions, ServerOptions } from './config';
import { ConnectionHandler } from './connection';
import { createHttpHandler } from './http';
import { OidcLoginProvider } from './oidc';
import { createLogger, Logger } from './logger';
import { KeyedRateLimiter, SocketRateLimiter } from './rate-limit';
import { Relay } from './relay';
import { RoomService } from './room-service';
import { MemoryRoomStore } from './rooms';
import type { CollabServer } from './socket-state';

export interface ServerHandle {
    /** `http://<hostname>:<port>` */
    readonly url: string;
    readonly port: number;
    readonly options: Readonly<ServerOptions>;
    readonly logger: Logger;
    readonly io: CollabServer;
    /** Tells everyone their sessions end ('shutdown'), then closes socket.io and HTTP. Idempotent. */
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

export async function startServer(partial: Partial<ServerOptions> = {}): Promise<ServerHandle> {
    const options = resolveOptions(partial);
    const logger = options.logger ?? createLogger(options.logLevel);
    let secret = options.secret;
    if (!secret) {
        secret = crypto.randomBytes(32).toString('base64url');
        logger.warn('No secret configured (COLLAB_SECRET): using a random one for this process; tokens will not survive a restart. Set one for production.');
    }
    if (options.redisUrl) {
        logger.warn('COLLAB_REDIS_URL is reserved for a later version; rooms are kept in memory by this instance.');
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
    const store = options.store ?? new MemoryRoomStore();
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
    const oidc = options.oidc && options.providers.includes('oidc')
        ? new OidcLoginProvider(options.oidc, { tokens, loginLimiter, remoteAddress, serverUrl: () => url, logger })
        : undefined;

    // The HTTP routes must be registered before socket.io attaches: it then forwards everything
    // outside its own path to them (a listener added later would also see socket.io's requests).
    let routeHttp: http.RequestListener = (_request, response) => response.writeHead(503).end();
    const httpServer = http.createServer((request, response) => routeHttp(request, response));
    const io: CollabServer = new Server(httpServer, {
        path: HttpPaths.socket,
        serveClient: false,
        // Per message; room:rekey may carry a wrapped key for every peer.
        maxHttpBufferSize: Math.max(options.maxPayloadBytes, Limits.maxPeersPerRoom * Limits.maxKeyMaterialBytes) + 64 * 1024,
        cors: { origin: (origin, callback) => callback(null, originAllowed(origin)) },
        // Browsers do not apply CORS to WebSocket upgrades: check the Origin on every engine request.
        allowRequest: (request, callback) => callback(originAllowed(request.headers.origin) ? null : 'origin not allowed', originAllowed(request.headers.origin))
    });

    const relay = new Relay(io, store, options, logger);
    const rooms = new RoomService(io, store, tokens, relay, options, logger);
    const connections = new ConnectionHandler(rooms, relay, joinLimiter, options, logger);

    io.use((socket, next) => {
        const auth = (socket.handshake.auth ?? {}) as Record<string, unknown>;
        (async () => {
            const user = await tokens.verifyLoginToken(auth.token);
            const roomClaims = auth.roomToken === undefined ? undefined : await tokens.verifyRoomToken(auth.roomToken);
            if (roomClaims && roomClaims.sub !== user.id) {
                throw new CollaborationError('unauthorized', 'The room token belongs to another user.');
            }
            socket.data.user = user;
            socket.data.address = remoteAddress(socket.request);
            socket.data.roomClaims = roomClaims;
            socket.data.memberships = new Map();
            socket.data.pendingJoins = new Map();
            socket.data.limiter = new SocketRateLimiter(options.socketEventRateLimit, options.socketByteRateLimit, options.rateLimitStrikes);
        })().then(() => next(), error => {
            const data = CollaborationError.from(error, 'unauthorized').toJSON();
            logger.info({ address: remoteAddress(socket.request), code: data.code, reason: data.message }, 'connection refused');
            next(Object.assign(new Error(data.message), { data }));
        });
    });
    io.on('connection', socket => {
        logger.debug({ socket: socket.id, user: socket.data.user.id }, 'socket connected');
        connections.attach(socket);
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
        stats: async () => ({ rooms: await store.count(), sockets: io.of('/').sockets.size }),
        logger
    });
    httpServer.on('clientError', (error, socket) => {
        logger.debug({ err: error }, 'http client error');
        socket.destroy();
    });

    await new Promise<void>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(options.port, options.hostname, () => {
            httpServer.off('error', reject);
            resolve();
        });
    });
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
        rooms.sweep().catch(error => logger.error({ err: error }, 'room cleanup failed')).finally(() => sweeping = false);
    }, sweepMs);
    sweepTimer.unref();

    logger.info({ url, port, mode: options.mode, providers: options.providers }, 'collab-server listening');

    let closing: Promise<void> | undefined;
    const close = () => closing ??= (async () => {
        clearInterval(sweepTimer);
        try {
            await rooms.closeAll('shutdown');
        } catch (error) {
            logger.error({ err: error }, 'closing rooms failed');
        }
        relay.dispose();
        io.disconnectSockets(true);
        await new Promise<void>(resolve => {
            io.close(() => resolve());
            httpServer.closeIdleConnections();
            setTimeout(() => httpServer.closeAllConnections(), 2000).unref();
        });
        await store.close();
        logger.info('collab-server stopped');
    })();

    return { url, port, options, logger, io, close };
}
