/**
 * Faults a test can cause on a client's connection, as a network failure or a server outage would, and what
 * the client's sessions said meanwhile.
 */
import { CollaborationClient, ConnectOptions } from '@theia-collab/protocol/lib/client';
import type { CollaborationSession, ConnectionState } from '@theia-collab/protocol/lib/session';
import type { Socket } from 'socket.io-client';
import { RecordingLogger } from './recording-logger';

/** A protocol client that reconnects quickly (100–500 ms), for tests that cut connections. */
export async function connectClient(
    serverUrl: string, name: string, logger: RecordingLogger, options: Partial<ConnectOptions> = {}
): Promise<CollaborationClient> {
    return CollaborationClient.connect({ serverUrl, name, logger, reconnectDelayMs: 100, reconnectDelayMaxMs: 500, ...options });
}

/** The socket.io socket under a protocol client (tests only). */
export function socketOf(client: CollaborationClient): Socket {
    return (client as unknown as { socket: Socket }).socket;
}

/** Drops the client's connection from its side, as a network failure would: socket.io then reconnects. */
export function cutClientSide(client: CollaborationClient): void {
    socketOf(client).io.engine.close();
}

/**
 * Keeps a client offline for `ms`: its connection drops and every reconnection attempt meanwhile finds
 * nobody listening (the client's socket.io manager is pointed at a closed port), as when the network or
 * the server is down.
 */
export function keepOffline(client: CollaborationClient, ms: number): Promise<void> {
    const manager = socketOf(client).io as unknown as { uri: string; engine: { close(): void } };
    const uri = manager.uri;
    manager.uri = 'http://127.0.0.1:9';
    manager.engine.close();
    return new Promise(resolve => setTimeout(() => {
        manager.uri = uri;
        resolve();
    }, ms));
}

/** Records connection state changes of a session. */
export function connectionLog(session: CollaborationSession): { own: ConnectionState[]; host: ConnectionState[]; dispose(): void } {
    const own: ConnectionState[] = [];
    const host: ConnectionState[] = [];
    const a = session.onDidChangeConnection(state => own.push(state));
    const b = session.onDidChangeHostConnection(state => host.push(state));
    return { own, host, dispose: () => { a.dispose(); b.dispose(); } };
}

/** A seeded pseudo-random generator (mulberry32), so a failing random test can be replayed. */
export function prng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6D2B79F5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

interface ServerSockets {
    io: { of(namespace: string): { sockets: Map<string, { data: { memberships: Map<string, { peerId: string }> }; conn: { close(): void } }> } };
}

/** Drops a peer's connection from the server's side (closing the transport), for a server started by the kit. */
export function cutServerSide(server: object, peerId: string): void {
    for (const socket of (server as ServerSockets).io.of('/').sockets.values()) {
        for (const membership of socket.data.memberships.values()) {
            if (membership.peerId === peerId) {
                socket.conn.close();
                return;
            }
        }
    }
    throw new Error(`no server socket for peer ${peerId}`);
}
