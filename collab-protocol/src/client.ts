/**
 * The collaboration client: logs in, holds the socket.io connection to the coordination server and
 * creates or joins sessions (see session-impl.ts for what a session does).
 */
import { io, Socket } from 'socket.io-client';
import { generateContentKey, generateSessionKeyPair, SessionKeyPair, shortFingerprint } from './crypto';
import { CollaborationError, isErrorData } from './errors';
import { parseInvite } from './invite';
import { AdmittedEventSchema, CreateRoomResultSchema, DeniedEventSchema, JoinRoomResultSchema, LoginResultSchema, RoomClosedEventSchema, ROOM_EVENT_NAMES, RoomEventName } from './server-events';
import { CollaborationSession } from './session';
import { ClientLogger, CollaborationSessionImpl, RoomEventSink, SessionConnection } from './session-impl';
import { ClientEnvelope, ClientToServerEvents, HttpPaths, LoginResult } from './wire';

export { ClientLogger, CollaborationSessionImpl } from './session-impl';

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export interface ConnectOptions {
    serverUrl: string;
    name: string;
    /** A token from an earlier login; without it the client logs in anonymously as `name`. */
    token?: string;
    /** Default timeout of requests (server and peer), in milliseconds. */
    requestTimeout?: number;
    logger?: ClientLogger;
}

export interface JoinOptions {
    /** Called once the host has been asked; show the guest's own fingerprint so the host can compare. */
    onPending?(info: { fingerprint: string }): void;
    /** Aborting withdraws the join request. */
    signal?: AbortSignal;
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
}

export class CollaborationClient {
    private readonly rooms = new Map<string, RoomEventSink>();
    private disposed = false;
    private readonly connection: SessionConnection;

    private constructor(
        readonly serverUrl: string,
        private readonly socket: Socket,
        readonly requestTimeout: number,
        readonly logger: ClientLogger,
        /** The logged-in user, when the client logged in itself. */
        readonly user?: LoginResult['user']
    ) {
        for (const event of ROOM_EVENT_NAMES) {
            socket.on(event, (payload: unknown) => this.route(event, payload));
        }
        socket.on('server:error', (error: unknown) =>
            logger.warn('collaboration: the server refused a message:', isErrorData(error) ? `[${error.code}] ${error.message}` : error));
        socket.on('disconnect', (reason: string) => {
            for (const sink of [...this.rooms.values()]) {
                sink.disconnected(`Disconnected from the collaboration server (${reason}).`);
            }
            this.rooms.clear();
        });
        const client = this;
        this.connection = {
            serverUrl,
            logger,
            requestTimeout,
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
        const logger = options.logger ?? console;
        let token = options.token;
        let user: LoginResult['user'] | undefined;
        if (!token) {
            const result = await login(serverUrl, options.name);
            token = result.token;
            user = result.user;
        }
        const url = new URL(serverUrl);
        const socket = io(url.origin, {
            path: url.pathname.replace(/\/+$/, '') + HttpPaths.socket,
            auth: { token },
            transports: ['websocket'],
            forceNew: true
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
        return new CollaborationClient(serverUrl, socket, options.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT_MS, logger, user);
    }

    get connected(): boolean {
        return this.socket.connected;
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
        return new Promise<T>((resolve, reject) => {
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
        });
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
    async createSession(): Promise<CollaborationSession> {
        this.assertUsable();
        const [keyPair, contentKey] = await Promise.all([generateSessionKeyPair(), generateContentKey()]);
        const ack = await this.request<unknown>('room:create', { publicKey: keyPair.publicKeyEncoded });
        const created = CreateRoomResultSchema.safeParse(ack);
        if (!created.success) {
            throw new CollaborationError('internal', 'The collaboration server sent an invalid answer to room creation.');
        }
        const session = new CollaborationSessionImpl(this.connection, keyPair, { role: 'host', created: created.data, contentKey });
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
        const keyPair = await generateSessionKeyPair();
        return new Promise<CollaborationSession>((resolve, reject) => this.startJoin(parsed.roomId, parsed.fingerprint, keyPair, options, resolve, reject));
    }

    private startJoin(
        roomId: string, hostFingerprint: string, keyPair: SessionKeyPair, options: JoinOptions,
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
                const session = new CollaborationSessionImpl(this.connection, keyPair, { role: 'guest', admitted: admitted.data, hostFingerprint });
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
        this.request<unknown>('room:join', { roomId, publicKey: keyPair.publicKeyEncoded }).then(async ack => {
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
