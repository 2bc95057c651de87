/**
 * The flooders of hostile.spec.ts, run in a child process of their own (so that encoding their floods
 * does not starve the event loop of the server under test): an outsider flooding events, an outsider
 * flooding bytes, and a guest of the session (a real protocol client, admitted by the host) flooding the
 * room with broadcasts. Each sends as fast as it can until the server disconnects it.
 *
 * Run as `node hostile-flooder.js '<json FloodOptions>'`: reports `{ joined: true }` once the insider is
 * in the session, floods when it receives `'go'`, then reports `{ results }`.
 */
import { io as connectSocket, Socket as ClientSocket } from 'socket.io-client';
import { CollaborationClient } from '@theia-collab/protocol/lib/client';

export interface FloodOptions {
    url: string;
    invite: string;
    /** Give up flooding after this long (the test then fails: the flooder was not cut off). */
    maxMs: number;
}

export interface FloodResult {
    /** Why the socket closed ('io server disconnect': the server disconnected it), or 'still connected'. */
    reason: string;
    /** Error codes the server answered with. */
    refused: string[];
    sent: number;
    ms: number;
}

export type FloodResults = Record<'events' | 'bytes' | 'room', FloodResult>;

function delay(ms: number): Promise<void> {
    return new Promise(resolve => setTimeout(resolve, ms));
}

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

async function outsider(url: string, name: string): Promise<ClientSocket> {
    const response = await fetch(`${url}/api/login/anonymous`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name })
    });
    const { token } = await response.json();
    const socket = connectSocket(url, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
    await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
    });
    return socket;
}

async function flood(socket: ClientSocket, maxMs: number, burst: () => number): Promise<FloodResult> {
    const refused: string[] = [];
    socket.on('server:error', (error: { code?: string }) => refused.push(String(error?.code)));
    const gone = new Promise<string>(resolve => socket.once('disconnect', reason => resolve(reason)));
    const started = Date.now();
    let sent = 0;
    while (socket.connected && Date.now() - started < maxMs) {
        sent += burst();
        await delay(0);
    }
    const reason = await Promise.race([gone, delay(5000).then(() => 'still connected')]);
    return { reason, refused: [...new Set(refused)], sent, ms: Date.now() - started };
}

export async function runFlooders({ url, invite, maxMs }: FloodOptions, go: Promise<void>, joined: () => void): Promise<FloodResults> {
    const eventFlooder = await outsider(url, 'Event flood');
    const byteFlooder = await outsider(url, 'Byte flood');
    const insiderClient = await CollaborationClient.connect({ serverUrl: url, name: 'Insider', logger: quiet });
    const session = await insiderClient.joinSession(invite);
    const insider = (insiderClient as unknown as { socket: ClientSocket }).socket;
    joined();
    await go;
    const junk = Buffer.alloc(900 * 1024, 7);
    try {
        const [events, bytes, room] = await Promise.all([
            flood(eventFlooder, maxMs, () => {
                for (let i = 0; i < 200; i++) {
                    eventFlooder.emit('room:leave', { roomId: 'F'.repeat(22) });
                }
                return 200;
            }),
            flood(byteFlooder, maxMs, () => {
                for (let i = 0; i < 8; i++) {
                    byteFlooder.emit('relay', { room: 'F'.repeat(22), kind: 'broadcast', seq: 1, key: 0, data: junk });
                }
                return 8;
            }),
            flood(insider, maxMs, () => {
                for (let i = 0; i < 200; i++) {
                    insider.emit('relay', { room: session.roomId, kind: 'broadcast', seq: 1, key: 0, data: Buffer.alloc(64) });
                }
                return 200;
            })
        ]);
        return { events, bytes, room };
    } finally {
        eventFlooder.close();
        byteFlooder.close();
        insiderClient.dispose();
    }
}

if (require.main === module) {
    let start!: () => void;
    const go = new Promise<void>(resolve => start = resolve);
    process.on('message', message => message === 'go' && start());
    runFlooders(JSON.parse(process.argv[2]), go, () => process.send!({ joined: true })).then(
        results => process.send!({ results }, () => process.exit(0)),
        error => {
            console.error(error);
            process.exit(1);
        });
}
