/**
 * The collaboration client: logs in, holds the socket.io connection to the coordination server and
 * creates or joins sessions (see session-impl.ts for what a session does).
 *
 * Reconnecting: when the connection drops (network, server restart), socket.io reconnects with backoff
 * and the client presents its session's room token (`auth.roomToken`) and the id of the connection that
 * dropped, so the server resumes the same peer (`room:resumed`); the session keeps its keys and sequence
 * numbers. Meanwhile the session is 'reconnecting': sending fails at once with 'disconnected', requests in
 * flight at the drop fail with 'disconnected' (nothing is retried behind the caller's back: a request may
 * or may not have been handled), and features re-synchronise on 'connected'. An expired login token is
 * replaced (anonymous login again, or `refreshToken`) when no room token vouches for the client. After
 * `reconnectTimeoutMs` (2 minutes) without success, or when the server ended the session (e.g. it
 * restarted without shared state), the session closes with a message saying why. One session per client
 * resumes (a connection with a room token is bound to that room); clients made by the Theia extension
 * hold one session each.
 */
import { io, Socket } from 'socket.io-client';
import { generateContentKey, generateSessionKeyPair, SessionKeyPair, shortFingerprint } from './crypto';
import { CollaborationError, isErrorData } from './errors';
import { joinProof, parseInvite } from './invite';
import {
    AdmittedEventSchema, CreateRoomResultSchema, DeniedEventSchema, JoinRoomResultSchema, LoginResultSchema, RoomClosedEventSchema, ROOM_EVENT_NAMES,
    RoomEventName, ServerHelloEventSchema, ServerShutdownEventSchema
} from './server-events';
import { estimateEventBytes, SendPacer } from './send-pacer';
import { CLIENT_MAX_ATTACHMENTS, parserWithAttachments } from './socket-parser';
import { CollaborationSession } from './session';
import { ClientLogger, CollaborationSessionImpl, RoomEventSink, SessionConnection } from './session-impl';
import { ClientEnvelope, ClientLimits, ClientToServerEvents, HandshakeAuth, HttpPaths, LoginResult, ServerShutdownEvent } from './wire';

export { ClientLogger, CollaborationSessionImpl } from './session-impl';

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** How long a client keeps trying to get its connection back. */
export const DEFAULT_RECONNECT_TIMEOUT_MS = 2 * 60_000;
/** After reconnecting, how long a session waits for the server to resume (or end) it. */
const RESUME_ANSWER_MS = 15_000;
/** A login token this close to its expiry is replaced before it is presented again. */
const TOKEN_EXPIRY_MARGIN_MS = 30_000;

/** A timer that does not keep a Node process alive (browsers have no such notion). */
function backgroundTimer(callback: () => void, ms: number): ReturnType<typeof setTimeout> {
    const timer = setTimeout(callback, ms);
    (timer as { unref?: () => void }).unref?.();
    return timer;
}

export interface ConnectOptions {
    serverUrl: string;
    name: string;
    /** A token from an earlier login; without it the client logs in anonymously as `name`. */
    token?: string;
    /** Default timeout of requests (server and peer), in milliseconds. */
    requestTimeout?: number;
    logger?: ClientLogger;
    /**
     * How long to keep trying to reconnect after the connection dropped, in milliseconds; then the
     * sessions close ('disconnected'). Default 2 minutes; 0 closes them at once.
     */
    reconnectTimeoutMs?: number;
    /** Backoff between reconnection attempts: first delay and maximum, in milliseconds (default 500 and 5000). */
    reconnectDelayMs?: number;
    reconnectDelayMaxMs?: number;
    /**
     * A new login token, when the one given as `token` expired or was refused on reconnecting. Without it
     * a client that logged in itself logs in anonymously again as `name`.
     */
    refreshToken?(): Promise<string>;
}

export interface SessionOptions {
    /**
     * Hold messages for features until `session.startDelivery()`: set it when handlers are registered after the
     * session is created (as the Theia extension does in its contributions' `onSessionStarted`), so nothing sent
     * meanwhile is missed.
     */
    holdDelivery?: boolean;
}

export interface JoinOptions extends SessionOptions {
    /** Called once the host has been asked; show the guest's own fingerprint so the host can compare. */
    onPending?(info: { fingerprint: string }): void;
    /** Aborting withdraws the join request. */
    signal?: AbortSignal;
    /** Tells the host this client is a program (a bot, an AI agent), not a person; it shows the request so. */
    program?: boolean;
}

function trimUrl(serverUrl: string): string {
    return serverUrl.trim().replace(/\/+$/, '');
}

async function errorFromResponse(response: Response): Promise<CollaborationError> {
    let body: unknown;
    try {
        body = await response.json();
    } catch {
        body = undefined;
    }
    const data = isErrorData(body) ? body : isErrorData((body as { error?: unknown })?.error) ? (body as { error: unknown }).error : undefined;
    if (isErrorData(data)) {
        return new CollaborationError(data.code, data.message);
    }
    const code = response.status === 401 ? 'unauthorized' : response.status === 403 ? 'forbidden' : response.status === 429 ? 'rate-limited' : 'internal';
    return new CollaborationError(code, `The collaboration server answered ${response.status} ${response.statusText}.`.trim());
}

/** Anonymous login: `POST /api/login/anonymous` with the display name. */
export async function login(serverUrl: string, name: string): Promise<LoginResult> {
    let response: Response;
    try {
        response = await fetch(trimUrl(serverUrl) + HttpPaths.loginAnonymous, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ name })
        });
    } catch (error) {
        throw new CollaborationError('disconnected', `Cannot reach the collaboration server at ${serverUrl}: ${error instanceof Error ? error.message : error}`);
    }
    if (!response.ok) {
        throw await errorFromResponse(response);
    }
    const parsed = LoginResultSchema.safeParse(await response.json().catch(() => undefined));
    if (!parsed.success) {
        throw new CollaborationError('internal', 'The collaboration server sent an invalid login response.');
    }
    return parsed.data;
}

function connectError(error: Error & { data?: unknown }): CollaborationError {
    if (isErrorData(error.data)) {
        return new CollaborationError(error.data.code, error.data.message);
    }
    if (isErrorData((error.data as { error?: unknown })?.error)) {
        return CollaborationError.from((error.data as { error: unknown }).error);
    }
    return new CollaborationError('disconnected', `Cannot connect to the collaboration server: ${error.message}`);
}

/** A join waiting for the host's answer. */
class PendingJoin implements RoomEventSink {
    settled = false;

    constructor(
        readonly roomId: string,
        private readonly onEvent: (event: RoomEventName, payload: unknown) => void,
        private readonly onDisconnect: (message: string) => void
    ) { }

    handle(event: RoomEventName, payload: unknown): void {
        if (!this.settled) {
            this.onEvent(event, payload);
        }
    }

    disconnected(message: string): void {
        if (!this.settled) {
            this.onDisconnect(message);
        }
    }

    /** The server cancels a join request whose connection dropped: it has to be made again. */
    suspended(message: string): boolean {
        this.disconnected(message);
        return false;
    }
}

/** `exp` of a JWT, in epoch milliseconds, without verifying it (only to know when to log in again). */
function tokenExpiry(token: string): number | undefined {
    try {
        const payload = token.split('.')[1];
        const json = new TextDecoder().decode(Uint8Array.from(atob(payload.replace(/-/g, '+').replace(/_/g, '/')), c => c.charCodeAt(0)));
        const exp = (JSON.parse(json) as { exp?: unknown }).exp;
        return typeof exp === 'number' ? exp * 1000 : undefined;
    } catch {
        return undefined;
    }
}

interface ClientSetup {
    serverUrl: string;
    options: ConnectOptions;
    token: string;
    tokenExpiresAt?: number;
    /** Set when the client logged in itself (it may do so again). */
    user?: LoginResult['user'];
}

export class CollaborationClient {
    private readonly rooms = new Map<string, RoomEventSink>();
    private disposed = false;
    private readonly connection: SessionConnection;
    readonly serverUrl: string;
    readonly requestTimeout: number;
    readonly logger: ClientLogger;
    /** The logged-in user, when the client logged in itself. */
    readonly user?: LoginResult['user'];
    private readonly reconnectTimeoutMs: number;
    private token: string | undefined;
    private tokenExpiresAt: number | undefined;
    /** Id of the current connection, and of the one that dropped (so the server lets us take its place). */
    private socketId: string | undefined;
    private previousSocketId: string | undefined;
    /** Whether the last handshake presented a room token. */
    private presentedRoomToken = false;
    private refreshedLogin = false;
    private reconnecting = false;
    private refusals = 0;
    private giveUpTimer: ReturnType<typeof setTimeout> | undefined;
    private retryTimer: ReturnType<typeof setTimeout> | undefined;
    private resumeTimer: ReturnType<typeof setTimeout> | undefined;
    private shutdownNotice: ServerShutdownEvent | undefined;
    /** Keeps what this client sends under the limits the server announced. */
    private readonly pacer = new SendPacer();
    private _limits: ClientLimits | undefined;

    private constructor(private readonly socket: Socket, private readonly setup: ClientSetup, hello: ClientLimits | undefined) {
        this.serverUrl = setup.serverUrl;
        this.requestTimeout = setup.options.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT_MS;
        this.logger = setup.options.logger ?? console;
        this.user = setup.user;
        this.reconnectTimeoutMs = setup.options.reconnectTimeoutMs ?? DEFAULT_RECONNECT_TIMEOUT_MS;
        this.token = setup.token;
        this.tokenExpiresAt = setup.tokenExpiresAt;
        this.socketId = socket.id;
        const logger = this.logger;
        if (hello) {
            this.takeLimits(hello);
        }
        socket.off('server:hello');
        socket.on('server:hello', (payload: unknown) => {
            const parsed = ServerHelloEventSchema.safeParse(payload);
            if (parsed.success) {
                this.takeLimits(parsed.data.limits);
            }
        });
        for (const event of ROOM_EVENT_NAMES) {
            socket.on(event, (payload: unknown) => this.route(event, payload));
        }
        socket.on('server:error', (error: unknown) =>
            logger.warn('collaboration: the server refused a message:', isErrorData(error) ? `[${error.code}] ${error.message}` : error));
        socket.on('server:shutdown', (payload: unknown) => {
            const parsed = ServerShutdownEventSchema.safeParse(payload);
            if (parsed.success) {
                this.shutdownNotice = { resume: parsed.data.resume, message: parsed.data.message || 'The collaboration server is shutting down.' };
                logger.info(`collaboration: the server is stopping (${parsed.data.resume ? 'sessions resume elsewhere' : 'sessions end'})`);
            }
        });
        socket.on('disconnect', (reason: string) => this.onDisconnect(reason));
        socket.on('connect', () => this.onConnect());
        socket.on('connect_error', (error: Error & { data?: unknown }) => this.onConnectError(error));
        const client = this;
        this.connection = {
            serverUrl: this.serverUrl,
            logger,
            requestTimeout: this.requestTimeout,
            get connected() { return socket.connected; },
            request: (event, payload, timeout) => this.request(event, payload, timeout),
            relay: (envelope, timeout) => this.relay(envelope, timeout),
            detach(roomId, sink) {
                if (client.rooms.get(roomId) === sink) {
                    client.rooms.delete(roomId);
                }
            }
        };
    }

    /** Logs in (anonymously unless a token is given) and opens the socket.io connection. */
    static async connect(options: ConnectOptions): Promise<CollaborationClient> {
        const serverUrl = trimUrl(options.serverUrl);
        let token = options.token;
        let tokenExpiresAt = token ? tokenExpiry(token) : undefined;
        let user: LoginResult['user'] | undefined;
        if (!token) {
            const result = await login(serverUrl, options.name);
            token = result.token;
            tokenExpiresAt = result.expiresAt;
            user = result.user;
        }
        const setup: ClientSetup = { serverUrl, options, token, tokenExpiresAt, user };
        let client: CollaborationClient | undefined;
        const url = new URL(serverUrl);
        const socket = io(url.origin, {
            path: url.pathname.replace(/\/+$/, '') + HttpPaths.socket,
            // Evaluated on every (re)connection: the current login token, and what resumes the session.
            auth: callback => {
                if (!client) {
                    callback({ token } satisfies HandshakeAuth);
                } else {
                    client.handshakeAuth().then(callback, () => callback({}));
                }
            },
            transports: ['websocket'],
            parser: parserWithAttachments(CLIENT_MAX_ATTACHMENTS),
            forceNew: true,
            reconnection: (options.reconnectTimeoutMs ?? DEFAULT_RECONNECT_TIMEOUT_MS) > 0,
            reconnectionDelay: options.reconnectDelayMs ?? 500,
            reconnectionDelayMax: options.reconnectDelayMaxMs ?? 5000,
            randomizationFactor: 0.5,
            timeout: 10_000
        });
        // The server says its limits as soon as the connection is up, before `connect` resolves here.
        let hello: ClientLimits | undefined;
        socket.on('server:hello', (payload: unknown) => {
            const parsed = ServerHelloEventSchema.safeParse(payload);
            hello = parsed.success ? parsed.data.limits : hello;
        });
        await new Promise<void>((resolve, reject) => {
            const cleanup = () => {
                socket.off('connect', onConnect);
                socket.off('connect_error', onError);
            };
            const onConnect = () => {
                cleanup();
                resolve();
            };
            const onError = (error: Error) => {
                cleanup();
                socket.close();
                reject(connectError(error));
            };
            socket.on('connect', onConnect);
            socket.on('connect_error', onError);
        });
        client = new CollaborationClient(socket, setup, hello);
        return client;
    }

    // ---- reconnecting ----

    /** The handshake of a reconnection: the room token of the session to resume, a valid login token. */
    private async handshakeAuth(): Promise<HandshakeAuth> {
        const resumable = [...this.rooms.values()].find(sink => sink.roomToken);
        const auth: HandshakeAuth = {};
        if (resumable?.roomToken) {
            auth.roomToken = resumable.roomToken;
            if (this.previousSocketId) {
                auth.previousSocketId = this.previousSocketId;
            }
        }
        this.presentedRoomToken = !!auth.roomToken;
        const expired = !this.token || (this.tokenExpiresAt !== undefined && this.tokenExpiresAt - TOKEN_EXPIRY_MARGIN_MS <= Date.now());
        if (expired && !auth.roomToken) {
            // Without a room token to vouch for us, we need a valid login.
            await this.refreshLogin().catch(error => this.logger.warn(`collaboration: logging in again failed: ${CollaborationError.from(error).message}`));
        }
        const stillExpired = !this.token || (this.tokenExpiresAt !== undefined && this.tokenExpiresAt <= Date.now());
        if (this.token && !(stillExpired && auth.roomToken)) {
            auth.token = this.token;
        }
        return auth;
    }

    private get canRefreshLogin(): boolean {
        return !!this.setup.options.refreshToken || !!this.setup.user;
    }

    private async refreshLogin(): Promise<void> {
        if (this.setup.options.refreshToken) {
            const token = await this.setup.options.refreshToken();
            this.token = token;
            this.tokenExpiresAt = tokenExpiry(token);
        } else if (this.setup.user) {
            const result = await login(this.serverUrl, this.setup.options.name);
            this.token = result.token;
            this.tokenExpiresAt = result.expiresAt;
        } else {
            throw new CollaborationError('unauthorized', 'The login token expired.');
        }
    }

    private onDisconnect(reason: string): void {
        // What waits for budget can no longer be sent on this connection: each fails 'disconnected'.
        this.pacer.flush();
        if (this.disposed || reason === 'io client disconnect') {
            return;
        }
        const shutdown = this.shutdownNotice;
        this.shutdownNotice = undefined;
        const final = reason === 'io server disconnect' || (shutdown !== undefined && !shutdown.resume) || this.reconnectTimeoutMs <= 0;
        const message = shutdown && !shutdown.resume
            ? shutdown.message
            : reason === 'io server disconnect'
                ? 'The collaboration server closed the connection.'
                : `Lost the connection to the collaboration server (${reason}).`;
        if (final) {
            this.endAll(message);
            this.socket.disconnect();
            return;
        }
        this.previousSocketId = this.socketId;
        this.socketId = undefined;
        let resumable = 0;
        for (const [roomId, sink] of [...this.rooms]) {
            if (!sink.suspended(message)) {
                this.rooms.delete(roomId);
            } else if (++resumable > 1) {
                sink.disconnected('Lost the connection to the collaboration server; only one session per connection can be resumed.');
                this.rooms.delete(roomId);
            }
        }
        clearTimeout(this.resumeTimer);
        if (!this.reconnecting) {
            this.reconnecting = true;
            this.refusals = 0;
            this.refreshedLogin = false;
            this.logger.info(`collaboration: ${message} Reconnecting.`);
            this.giveUpTimer = backgroundTimer(() => this.giveUp(
                `Lost the connection to the collaboration server and could not reconnect within ${Math.round(this.reconnectTimeoutMs / 1000)} s.`),
            this.reconnectTimeoutMs);
        }
    }

    private onConnect(): void {
        this.socketId = this.socket.id;
        if (!this.reconnecting) {
            return;
        }
        this.reconnecting = false;
        clearTimeout(this.giveUpTimer);
        clearTimeout(this.retryTimer);
        this.logger.info('collaboration: reconnected to the collaboration server');
        // The server answers a room token with `room:resumed` or `room:closed`; do not wait forever.
        clearTimeout(this.resumeTimer);
        this.resumeTimer = backgroundTimer(() => {
            for (const sink of [...this.rooms.values()]) {
                if (sink instanceof CollaborationSessionImpl && sink.awaitingResume) {
                    sink.disconnected('The collaboration server did not resume the session after reconnecting.');
                }
            }
        }, RESUME_ANSWER_MS);
    }

    /** Only while reconnecting (the first connection is handled by `connect`). */
    private onConnectError(error: Error & { data?: unknown }): void {
        if (this.disposed || !this.reconnecting || this.socket.active) {
            // Not reached, or the transport failed: socket.io tries again by itself.
            return;
        }
        // Refused by the server: socket.io does not try again by itself.
        const refusal = connectError(error);
        this.refusals++;
        if (refusal.code === 'unauthorized') {
            if (this.presentedRoomToken) {
                // The room token is not (or no longer) valid: that session cannot come back.
                for (const [roomId, sink] of [...this.rooms]) {
                    if (sink.roomToken) {
                        sink.disconnected(`The session could not be resumed: ${refusal.message}`);
                        this.rooms.delete(roomId);
                    }
                }
            } else if (this.canRefreshLogin && !this.refreshedLogin) {
                this.refreshedLogin = true;
                this.token = undefined;
            } else {
                this.giveUp(`The collaboration server refused the connection: ${refusal.message}`);
                return;
            }
        } else if (refusal.code !== 'unavailable' && refusal.code !== 'rate-limited' && refusal.code !== 'disconnected') {
            this.giveUp(`The collaboration server refused the connection: ${refusal.message}`);
            return;
        }
        const base = this.setup.options.reconnectDelayMs ?? 500;
        const delay = Math.min(this.setup.options.reconnectDelayMaxMs ?? 5000, base * 2 ** Math.min(this.refusals - 1, 10)) * (0.5 + Math.random());
        clearTimeout(this.retryTimer);
        this.retryTimer = backgroundTimer(() => {
            if (!this.disposed && this.reconnecting && !this.socket.connected) {
                this.socket.connect();
            }
        }, delay);
    }

    /** Stops reconnecting: every session ends with `message`. */
    private giveUp(message: string): void {
        if (this.disposed) {
            return;
        }
        this.reconnecting = false;
        clearTimeout(this.giveUpTimer);
        clearTimeout(this.retryTimer);
        this.logger.warn(`collaboration: ${message}`);
        this.endAll(message);
        this.socket.disconnect();
    }

    private endAll(message: string): void {
        clearTimeout(this.resumeTimer);
        for (const sink of [...this.rooms.values()]) {
            sink.disconnected(message);
        }
        this.rooms.clear();
    }

    get connected(): boolean {
        return this.socket.connected;
    }

    /** The limits the server announced for this connection (undefined for a server that does not say). */
    get limits(): ClientLimits | undefined {
        return this._limits;
    }

    private takeLimits(limits: ClientLimits): void {
        this._limits = limits;
        this.pacer.setLimits(limits);
    }

    private route(event: RoomEventName, payload: unknown): void {
        const roomId = event === 'relay' ? (payload as { room?: unknown })?.room : (payload as { roomId?: unknown })?.roomId;
        const sink = typeof roomId === 'string' ? this.rooms.get(roomId) : undefined;
        if (sink) {
            sink.handle(event, payload);
        }
    }

    private request<T>(event: keyof ClientToServerEvents, payload: object, timeout = this.requestTimeout): Promise<T> {
        if (!this.socket.connected) {
            return Promise.reject(new CollaborationError('disconnected', 'Not connected to the collaboration server.'));
        }
        return new Promise<T>((resolve, reject) => this.pacer.schedule(estimateEventBytes(payload), () => {
            if (!this.socket.connected) {
                reject(new CollaborationError('disconnected', 'Not connected to the collaboration server.'));
                return;
            }
            this.socket.timeout(timeout).emit(event, payload, (error: Error | null, ack: unknown) => {
                if (error) {
                    reject(new CollaborationError(this.socket.connected ? 'timeout' : 'disconnected',
                        `The collaboration server did not answer '${event}'${this.socket.connected ? ` within ${timeout} ms` : ''}.`));
                } else if (typeof ack !== 'object' || ack === null || typeof (ack as { ok?: unknown }).ok !== 'boolean') {
                    reject(new CollaborationError('internal', `Invalid answer from the collaboration server to '${event}'.`));
                } else if ((ack as { ok: boolean }).ok) {
                    resolve(ack as T);
                } else {
                    reject(CollaborationError.from((ack as { error?: unknown }).error ?? { code: 'internal', message: 'Request refused.' }));
                }
            });
        }));
    }

    private relay(envelope: ClientEnvelope, timeout: number): Promise<void> {
        return this.request<{}>('relay', envelope, timeout).then(() => undefined);
    }

    private assertUsable(): void {
        if (this.disposed) {
            throw new CollaborationError('disconnected', 'The collaboration client was disposed.');
        }
    }

    /** Hosts a new session; its `invite` is what guests need. */
    async createSession(options: SessionOptions = {}): Promise<CollaborationSession> {
        this.assertUsable();
        const [keyPair, contentKey] = await Promise.all([generateSessionKeyPair(), generateContentKey()]);
        const ack = await this.request<unknown>('room:create', { publicKey: keyPair.publicKeyEncoded });
        const created = CreateRoomResultSchema.safeParse(ack);
        if (!created.success) {
            throw new CollaborationError('internal', 'The collaboration server sent an invalid answer to room creation.');
        }
        const session = new CollaborationSessionImpl(this.connection, keyPair, { role: 'host', created: created.data, contentKey, holdDelivery: options.holdDelivery });
        this.rooms.set(created.data.roomId, session);
        try {
            await session.ready;
        } catch (error) {
            this.request('room:leave', { roomId: created.data.roomId }).catch(() => undefined);
            throw CollaborationError.from(error);
        }
        return session;
    }

    /**
     * Asks to join the session of an invite (code or link). Resolves once the host admitted this
     * client and the host's key matched the invite's fingerprint.
     */
    async joinSession(invite: string, options: JoinOptions = {}): Promise<CollaborationSession> {
        this.assertUsable();
        const parsed = parseInvite(invite);
        if (parsed.serverUrl && trimUrl(parsed.serverUrl) !== this.serverUrl) {
            this.logger.warn(`collaboration: the invite names server ${parsed.serverUrl}, joining through ${this.serverUrl}`);
        }
        if (this.rooms.has(parsed.roomId)) {
            throw new CollaborationError('bad-request', 'This client is already in that session.');
        }
        if (options.signal?.aborted) {
            throw new CollaborationError('cancelled', 'Joining was cancelled.');
        }
        if (!parsed.secret) {
            throw new CollaborationError('bad-request', 'This invite has no secret (it comes from an older version): ask the host for a new invite.');
        }
        const keyPair = await generateSessionKeyPair();
        const proof = joinProof(parsed.secret, parsed.roomId, keyPair.publicKeyEncoded);
        return new Promise<CollaborationSession>((resolve, reject) =>
            this.startJoin(parsed.roomId, parsed.fingerprint, proof, keyPair, options, resolve, reject));
    }

    private startJoin(
        roomId: string, hostFingerprint: string, proof: string, keyPair: SessionKeyPair, options: JoinOptions,
        resolve: (session: CollaborationSession) => void, reject: (error: CollaborationError) => void
    ): void {
        const leave = () => {
            if (this.socket.connected) {
                this.request('room:leave', { roomId }).catch(() => undefined);
            }
        };
        const fail = (error: CollaborationError, leaveRoom: boolean) => {
            if (pending.settled) {
                return;
            }
            pending.settled = true;
            options.signal?.removeEventListener('abort', onAbort);
            this.connection.detach(roomId, pending);
            if (leaveRoom) {
                leave();
            }
            reject(error);
        };
        const onAbort = () => fail(new CollaborationError('cancelled', 'Joining was cancelled.'), true);
        const pending = new PendingJoin(roomId, (event, payload) => {
            if (event === 'room:admitted') {
                const admitted = AdmittedEventSchema.safeParse(payload);
                if (!admitted.success) {
                    fail(new CollaborationError('bad-request', 'The server sent an invalid admission.'), true);
                    return;
                }
                pending.settled = true;
                options.signal?.removeEventListener('abort', onAbort);
                const session = new CollaborationSessionImpl(this.connection, keyPair, {
                    role: 'guest', admitted: admitted.data, hostFingerprint, holdDelivery: options.holdDelivery
                });
                this.rooms.set(roomId, session);
                session.ready.then(() => resolve(session), error => {
                    session.close('left', CollaborationError.from(error).message);
                    leave();
                    reject(CollaborationError.from(error));
                });
            } else if (event === 'room:denied') {
                const denied = DeniedEventSchema.safeParse(payload);
                fail(new CollaborationError('denied', (denied.success && denied.data.reason) || 'The host declined your request to join.'), false);
            } else if (event === 'room:closed') {
                const closed = RoomClosedEventSchema.safeParse(payload);
                fail(new CollaborationError(closed.success && closed.data.reason === 'denied' ? 'denied' : 'room-closed',
                    (closed.success && closed.data.message) || 'The session has ended.'), false);
            }
        }, message => fail(new CollaborationError('disconnected', message), false));
        this.rooms.set(roomId, pending);
        options.signal?.addEventListener('abort', onAbort, { once: true });
        this.request<unknown>('room:join', { roomId, publicKey: keyPair.publicKeyEncoded, proof, ...(options.program ? { program: true } : {}) }).then(async ack => {
            if (!JoinRoomResultSchema.safeParse(ack).success) {
                fail(new CollaborationError('internal', 'The collaboration server sent an invalid answer to the join request.'), true);
                return;
            }
            if (!pending.settled && options.onPending) {
                const fingerprint = await shortFingerprint(keyPair.publicKeyEncoded);
                if (!pending.settled) {
                    options.onPending({ fingerprint });
                }
            }
        }, error => fail(CollaborationError.from(error), false));
    }

    /** Closes every session of this client and the connection. */
    dispose(): void {
        if (this.disposed) {
            return;
        }
        this.disposed = true;
        clearTimeout(this.giveUpTimer);
        clearTimeout(this.retryTimer);
        clearTimeout(this.resumeTimer);
        for (const [roomId, sink] of [...this.rooms]) {
            if (this.socket.connected) {
                this.socket.emit('room:leave', { roomId }, () => undefined);
            }
            sink.disconnected('The collaboration client was closed.');
        }
        this.rooms.clear();
        this.socket.close();
    }
}
