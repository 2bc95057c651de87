/**
 * Test helpers (used by the *.spec.ts files only): start a server on a free port, log in over
 * HTTP, and connect real socket.io clients that record what they receive.
 */
import * as crypto from 'crypto';
import { io as connectClient, Socket as ClientSocket } from 'socket.io-client';
import { CLIENT_MAX_ATTACHMENTS, parserWithAttachments } from '@theia-collab/protocol/lib/socket-parser';
import type { LoginResult } from '@theia-collab/protocol/lib/wire';
import type { ServerOptions } from './config';
import { ServerHandle, startServer } from './server';

export async function startTestServer(options: Partial<ServerOptions> = {}): Promise<ServerHandle> {
    return startServer({ hostname: '127.0.0.1', port: 0, logLevel: (process.env.COLLAB_TEST_LOG as ServerOptions['logLevel']) ?? 'silent', ...options });
}

export function publicKey(): string {
    return crypto.randomBytes(65).toString('base64url');
}

export function bytes(length: number, fill?: number): Uint8Array {
    return fill === undefined ? new Uint8Array(crypto.randomBytes(length)) : new Uint8Array(length).fill(fill);
}

export async function postJson(server: ServerHandle, path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
    const response = await fetch(server.url + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body)
    });
    return { status: response.status, body: await response.json() };
}

export async function login(server: ServerHandle, name = 'Tester'): Promise<LoginResult> {
    const { status, body } = await postJson(server, '/api/login/anonymous', { name });
    if (status !== 200) {
        throw new Error(`login failed: ${status} ${JSON.stringify(body)}`);
    }
    return body as LoginResult;
}

export interface Received {
    event: string;
    args: any[];
}

/** A socket.io client that records every event it receives. */
export class TestClient {
    readonly received: Received[] = [];
    protected waiters: (() => void)[] = [];

    constructor(readonly socket: ClientSocket, readonly name: string) {
        socket.onAny((event: string, ...args: any[]) => {
            this.received.push({ event, args });
            this.waiters.forEach(wake => wake());
        });
        socket.on('disconnect', () => {
            this.received.push({ event: 'disconnect', args: [] });
            this.waiters.forEach(wake => wake());
        });
    }

    /** Emits with an ack and resolves with the server's response. */
    request<T = any>(event: string, ...args: unknown[]): Promise<T> {
        return this.socket.timeout(5000).emitWithAck(event, ...args) as Promise<T>;
    }

    events(event: string): any[] {
        return this.received.filter(item => item.event === event).map(item => item.args[0]);
    }

    /** Resolves with the first (not yet consumed) matching event, or rejects after `timeoutMs`. */
    waitFor(event: string, predicate: (payload: any) => boolean = () => true, timeoutMs = 5000): Promise<any> {
        return new Promise((resolve, reject) => {
            const check = (): boolean => {
                const index = this.received.findIndex(item => item.event === event && predicate(item.args[0]));
                if (index >= 0) {
                    const [item] = this.received.splice(index, 1);
                    cleanup();
                    resolve(item.args[0]);
                    return true;
                }
                return false;
            };
            const timer = setTimeout(() => {
                cleanup();
                reject(new Error(`${this.name}: no '${event}' within ${timeoutMs} ms (got: ${this.received.map(item => item.event).join(', ') || 'nothing'})`));
            }, timeoutMs);
            const cleanup = () => {
                clearTimeout(timer);
                this.waiters = this.waiters.filter(waiter => waiter !== wake);
            };
            const wake = () => { check(); };
            if (!check()) {
                this.waiters.push(wake);
            }
        });
    }

    clear(): void {
        this.received.length = 0;
    }

    close(): void {
        this.socket.disconnect();
    }
}

export interface ConnectOptions {
    name?: string;
    token?: string;
    auth?: Record<string, unknown>;
    extraHeaders?: Record<string, string>;
    /** Record from the first event on (e.g. `server:hello`, or a `room:resumed` sent right after connecting). */
    recordFromStart?: boolean;
}

function openSocket(server: ServerHandle, auth: Record<string, unknown>, extraHeaders?: Record<string, string>): ClientSocket {
    return connectClient(server.url, {
        auth,
        transports: ['websocket'],
        reconnection: false,
        forceNew: true,
        timeout: 5000,
        extraHeaders,
        // As the protocol client: a replay answer carries one binary attachment per envelope.
        parser: parserWithAttachments(CLIENT_MAX_ATTACHMENTS)
    });
}

/** Logs in (unless a token is given) and connects; rejects with the connect_error. */
export async function connect(server: ServerHandle, options: ConnectOptions = {}): Promise<TestClient> {
    const name = options.name ?? 'Tester';
    const token = options.token ?? (await login(server, name)).token;
    const socket = openSocket(server, { token, ...options.auth }, options.extraHeaders);
    const early = options.recordFromStart ? new TestClient(socket, name) : undefined;
    await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', error => {
            socket.close();
            reject(error);
        });
    });
    return early ?? new TestClient(socket, name);
}

/** Connects expecting a refusal; resolves with the connect_error. */
export async function connectRefused(server: ServerHandle, auth: Record<string, unknown>, extraHeaders?: Record<string, string>): Promise<Error & { data?: any }> {
    const socket = openSocket(server, auth, extraHeaders);
    return new Promise((resolve, reject) => {
        socket.once('connect', () => {
            socket.close();
            reject(new Error('connection unexpectedly accepted'));
        });
        socket.once('connect_error', error => {
            socket.close();
            resolve(error);
        });
    });
}

export interface TestRoom {
    roomId: string;
    host: TestClient;
    hostPeerId: string;
    hostRoomToken: string;
    guests: TestClient[];
    guestPeerIds: string[];
}

/** Host creates a room; each guest joins and is admitted (readwrite); all pending events are cleared. */
export async function createRoom(server: ServerHandle, guestCount = 0, clients: TestClient[] = []): Promise<TestRoom> {
    const host = await connect(server, { name: 'Host' });
    clients.push(host);
    const created = await host.request('room:create', { publicKey: publicKey() });
    if (!created.ok) {
        throw new Error(`create failed: ${JSON.stringify(created)}`);
    }
    const room: TestRoom = { roomId: created.roomId, host, hostPeerId: created.peer.id, hostRoomToken: created.roomToken, guests: [], guestPeerIds: [] };
    for (let i = 0; i < guestCount; i++) {
        const guest = await connect(server, { name: `Guest ${i + 1}` });
        clients.push(guest);
        const peerId = await admitGuest(room, guest);
        room.guests.push(guest);
        room.guestPeerIds.push(peerId);
    }
    await settle();
    host.clear();
    room.guests.forEach(guest => guest.clear());
    return room;
}

export async function admitGuest(room: TestRoom, guest: TestClient, permission: 'readonly' | 'readwrite' = 'readwrite'): Promise<string> {
    const joined = await guest.request('room:join', { roomId: room.roomId, publicKey: publicKey() });
    if (!joined.ok) {
        throw new Error(`join failed: ${JSON.stringify(joined)}`);
    }
    const request = await room.host.waitFor('room:join-request', event => event.requestId === joined.requestId);
    const admitted = await room.host.request('room:admit', {
        roomId: room.roomId, requestId: request.requestId, permission, keyMaterial: bytes(48), keyId: 1
    });
    if (!admitted.ok) {
        throw new Error(`admit failed: ${JSON.stringify(admitted)}`);
    }
    await guest.waitFor('room:admitted');
    return joined.peerId;
}

/** Lets in-flight messages arrive. */
export function settle(ms = 150): Promise<void> {
    return new Promise(resolve => setTimeout(resolve, ms));
}

/** Asserts that none of the clients received `event` (after letting in-flight messages arrive). */
export async function expectNone(clients: TestClient[], event: string, ms = 200): Promise<void> {
    await settle(ms);
    for (const client of clients) {
        const got = client.events(event);
        if (got.length) {
            throw new Error(`${client.name} unexpectedly received ${got.length} '${event}' event(s)`);
        }
    }
}
