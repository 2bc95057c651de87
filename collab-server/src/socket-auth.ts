/**
 * Who may open a socket.io connection: the middleware every handshake passes. It bounds the connected
 * sockets per address, refuses while the server drains, checks the login token (or a room token alone, to
 * resume), and sets up what the server keeps on the socket (socket-state.ts).
 */
import type * as http from 'http';
import { CollaborationError } from '@theia-collab/protocol/lib/errors';
import type { AddressConnections } from './address-connections';
import type { TokenService, UserIdentity } from './auth';
import type { Cluster } from './cluster';
import type { ServerOptions } from './config';
import type { LogLimiter } from './log-limiter';
import type { ServerMetrics } from './metrics';
import { SocketRateLimiter } from './rate-limit';
import type { CollabSocket } from './socket-state';

export interface SocketAuthenticationDependencies {
    options: Pick<ServerOptions, 'maxConnectionsPerAddress' | 'socketEventRateLimit' | 'socketByteRateLimit' | 'rateLimitStrikes'>;
    tokens: TokenService;
    cluster: Cluster;
    /** Connected sockets per address (at most `maxConnectionsPerAddress`). */
    connectionsPerAddress: AddressConnections;
    remoteAddress(request: http.IncomingMessage): string;
    /** True once the server stops: new connections are refused with 'unavailable'. */
    draining(): boolean;
    metrics: ServerMetrics;
    logLimiter: LogLimiter;
}

/** The socket.io middleware (`io.use`) that authenticates every connection. */
export function createSocketAuthentication(deps: SocketAuthenticationDependencies): (socket: CollabSocket, next: (error?: Error) => void) => void {
    const { options, tokens, cluster, connectionsPerAddress, remoteAddress, metrics, logLimiter } = deps;
    return (socket, next) => {
        const auth = (socket.handshake.auth ?? {}) as Record<string, unknown>;
        const address = remoteAddress(socket.request);
        // Taken at once (not after the token check), so that concurrent handshakes cannot overshoot the cap;
        // given back when the socket goes, is refused, or never gets connected (its transport closed meanwhile).
        const release = connectionsPerAddress.admits(address) ? connectionsPerAddress.add(address) : undefined;
        (async () => {
            if (deps.draining()) {
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
    };
}
