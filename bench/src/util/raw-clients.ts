/**
 * Raw socket.io clients for load: they speak the collab-server wire protocol directly (login, room
 * create/join/admit, relay of envelopes whose data the server never reads), or the bare baseline's
 * `join` + `relay`. No encryption here; see encrypted-clients.ts for the real client.
 */
import * as crypto from 'crypto';
import { io, Socket } from 'socket.io-client';
import { withTimeout } from './time';

export type ServerKind = 'collab' | 'bare';

export function randomPublicKey(): string {
    return crypto.randomBytes(65).toString('base64url');
}

export async function login(url: string, name: string): Promise<string> {
    const response = await fetch(`${url}/api/login/anonymous`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name })
    });
    if (!response.ok) {
        throw new Error(`login failed: ${response.status} ${await response.text()}`);
    }
    return (await response.json() as { token: string }).token;
}

export function openSocket(url: string, auth?: Record<string, unknown>): Socket {
    return io(url, { transports: ['websocket'], forceNew: true, reconnection: false, timeout: 30_000, ...(auth ? { auth } : {}) });
}

export function connected(socket: Socket, timeoutMs = 30_000): Promise<void> {
    if (socket.connected) {
        return Promise.resolve();
    }
    return withTimeout(new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', error => reject(error));
    }), timeoutMs, 'socket.io connect');
}

export async function ack<T = any>(socket: Socket, event: string, payload: unknown, timeoutMs = 30_000): Promise<T> {
    const response = await socket.timeout(timeoutMs).emitWithAck(event, payload);
    if (response && typeof response === 'object' && (response as { ok?: boolean }).ok === false) {
        throw new Error(`${event} refused: ${JSON.stringify(response)}`);
    }
    return response as T;
}

/** Connected sockets that are all members of one room (the first is the host for the collab-server). */
export interface RawRoom {
    kind: ServerKind;
    roomId: string;
    sockets: Socket[];
    close(): void;
}

/**
 * The host's socket answers join requests itself (admit read-write). Resolves with the guest's
 * admission; the handshake is `room:join` -> host admits -> `room:admitted`.
 */
export function autoAdmit(host: Socket, roomId: string): void {
    host.on('room:join-request', (event: { roomId: string; requestId: string }) => {
        if (event.roomId !== roomId) {
            return;
        }
        host.emit('room:admit', {
            roomId, requestId: event.requestId, permission: 'readwrite', keyMaterial: crypto.randomBytes(48), keyId: 0
        }, () => undefined);
    });
}

export async function joinCollabRoom(guest: Socket, roomId: string, timeoutMs = 30_000): Promise<void> {
    const admitted = withTimeout(new Promise<void>(resolve => {
        const onAdmitted = (event: { roomId: string }) => {
            if (event.roomId === roomId) {
                guest.off('room:admitted', onAdmitted);
                resolve();
            }
        };
        guest.on('room:admitted', onAdmitted);
    }), timeoutMs, 'room:admitted');
    await ack(guest, 'room:join', { roomId, publicKey: randomPublicKey() }, timeoutMs);
    await admitted;
}

/** `urls[i % urls.length]` for client i: spreads a room over several server instances. */
export async function createRawRoom(kind: ServerKind, urls: string[], size: number): Promise<RawRoom> {
    const sockets: Socket[] = [];
    const close = () => sockets.forEach(socket => socket.close());
    try {
        if (kind === 'bare') {
            const roomId = crypto.randomBytes(16).toString('base64url');
            for (let i = 0; i < size; i++) {
                const socket = openSocket(urls[i % urls.length]);
                sockets.push(socket);
                await connected(socket);
                await ack(socket, 'join', roomId);
            }
            return { kind, roomId, sockets, close };
        }
        for (let i = 0; i < size; i++) {
            const url = urls[i % urls.length];
            const socket = openSocket(url, { token: await login(url, i === 0 ? 'Host' : `Guest ${i}`) });
            sockets.push(socket);
            await connected(socket);
        }
        const created = await ack<{ roomId: string }>(sockets[0], 'room:create', { publicKey: randomPublicKey() });
        autoAdmit(sockets[0], created.roomId);
        for (const guest of sockets.slice(1)) {
            await joinCollabRoom(guest, created.roomId);
        }
        return { kind, roomId: created.roomId, sockets, close };
    } catch (error) {
        close();
        throw error;
    }
}
