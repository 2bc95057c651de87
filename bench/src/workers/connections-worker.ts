/**
 * Load generator for the connection scale benchmark (forked, IPC): holds a share of the clients and
 * runs the phases the coordinator asks for, reporting durations and per-client handshake latencies.
 */
import type { Socket } from 'socket.io-client';
import { ack, autoAdmit, connected, login, openSocket, randomPublicKey, ServerKind } from '../util/raw-clients';
import { now, pool, withTimeout } from '../util/time';

export interface WorkerSetup {
    kind: ServerKind;
    url: string;
    /** Rooms of this worker and clients per room (the first of each room is its host). */
    rooms: number;
    perRoom: number;
    roomPrefix: string;
    connectConcurrency: number;
    /** Rooms joined per second by this worker (open loop; a room = host create + guests join). */
    joinRatePerSec: number;
}

export type WorkerCommand = { cmd: 'setup'; setup: WorkerSetup } | { cmd: 'login' } | { cmd: 'connect' } | { cmd: 'join' } | { cmd: 'close' };

export interface PhaseReport {
    phase: string;
    ms: number;
    /** Per client (connect) or per guest (join) handshake latency, ms. */
    latencies: number[];
    /** Room creation latency (collab hosts), ms. */
    createLatencies?: number[];
    errors: string[];
}

let setup: WorkerSetup;
let tokens: string[] = [];
let sockets: Socket[] = [];

function reply(message: unknown): void {
    process.send!(message);
}

async function loginAll(): Promise<PhaseReport> {
    const total = setup.rooms * setup.perRoom;
    tokens = new Array(total);
    const errors: string[] = [];
    const started = now();
    await pool(Array.from({ length: total }, (_, i) => i), 32, async i => {
        try {
            tokens[i] = await login(setup.url, `user-${setup.roomPrefix}-${i}`);
        } catch (error) {
            errors.push(String(error));
        }
    });
    return { phase: 'login', ms: now() - started, latencies: [], errors: errors.slice(0, 5) };
}

async function connectAll(): Promise<PhaseReport> {
    const total = setup.rooms * setup.perRoom;
    sockets = new Array(total);
    const latencies: number[] = [];
    const errors: string[] = [];
    const started = now();
    await pool(Array.from({ length: total }, (_, i) => i), setup.connectConcurrency, async i => {
        const t0 = now();
        const socket = openSocket(setup.url, setup.kind === 'collab' ? { token: tokens[i] } : undefined);
        sockets[i] = socket;
        try {
            await connected(socket, 60_000);
            latencies.push(now() - t0);
        } catch (error) {
            errors.push(String(error));
        }
    });
    return { phase: 'connect', ms: now() - started, latencies, errors: errors.slice(0, 5) };
}

async function joinAll(): Promise<PhaseReport> {
    const latencies: number[] = [];
    const createLatencies: number[] = [];
    const errors: string[] = [];
    const started = now();
    const interval = 1000 / setup.joinRatePerSec;
    await pool(Array.from({ length: setup.rooms }, (_, r) => r), 500, async r => {
        const due = started + r * interval - now();
        if (due > 0) {
            await new Promise(resolve => setTimeout(resolve, due));
        }
        const members = sockets.slice(r * setup.perRoom, (r + 1) * setup.perRoom);
        try {
            if (setup.kind === 'bare') {
                const roomId = `${setup.roomPrefix}-${r}`;
                await Promise.all(members.map(async socket => {
                    const t0 = now();
                    await ack(socket, 'join', roomId);
                    latencies.push(now() - t0);
                }));
                return;
            }
            const [host, ...guests] = members;
            const t0 = now();
            const created = await ack<{ roomId: string }>(host, 'room:create', { publicKey: randomPublicKey() });
            createLatencies.push(now() - t0);
            autoAdmit(host, created.roomId);
            await Promise.all(guests.map(async guest => {
                const t1 = now();
                const admitted = withTimeout(new Promise<void>(resolve => guest.once('room:admitted', () => resolve())), 60_000, 'room:admitted');
                await ack(guest, 'room:join', { roomId: created.roomId, publicKey: randomPublicKey() });
                await admitted;
                latencies.push(now() - t1);
            }));
        } catch (error) {
            errors.push(String(error));
        }
    });
    return { phase: 'join', ms: now() - started, latencies, createLatencies, errors: errors.slice(0, 5) };
}

process.on('message', (message: WorkerCommand) => {
    const run = async () => {
        switch (message.cmd) {
            case 'setup':
                setup = message.setup;
                return { phase: 'setup', ms: 0, latencies: [], errors: [] };
            case 'login':
                return setup.kind === 'collab' ? loginAll() : { phase: 'login', ms: 0, latencies: [], errors: [] };
            case 'connect':
                return connectAll();
            case 'join':
                return joinAll();
            case 'close':
                sockets.forEach(socket => socket?.close());
                setTimeout(() => process.exit(0), 200);
                return { phase: 'close', ms: 0, latencies: [], errors: [] };
        }
    };
    run().then(reply, error => reply({ phase: message.cmd, ms: 0, latencies: [], errors: [String(error)] }));
});
