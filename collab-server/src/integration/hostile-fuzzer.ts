/**
 * The fuzzers of hostile.spec.ts, run in a child process of their own (so that their CPU use does not
 * stall the event loop of the server under test): socket.io clients emitting random and malformed
 * events, and raw WebSocket clients sending engine.io / socket.io frames, valid and not. Every worker
 * draws from its own PRNG seeded from the run's seed, so the packets depend on the seed only.
 *
 * Run as `node hostile-fuzzer.js '<json FuzzOptions>'`; reports a FuzzResult with `process.send`.
 */
import WebSocket from 'ws';
import { io as connectSocket, Socket as ClientSocket } from 'socket.io-client';
import { prng } from './reliability-fixture';

export interface FuzzOptions {
    url: string;
    roomId: string;
    peerIds: string[];
    seed: number;
    socketWorkers: number;
    eventsPerWorker: number;
    rawWorkers: number;
    framesPerWorker: number;
}

export interface FuzzResult {
    sent: number;
    frames: number;
    errors: number;
    disconnected: number;
}

function delay(ms: number): Promise<void> {
    return new Promise(resolve => setTimeout(resolve, ms));
}

export async function runFuzzer({ url, roomId, peerIds, seed, socketWorkers, eventsPerWorker, rawWorkers, framesPerWorker }: FuzzOptions): Promise<FuzzResult> {
    const sockets: ClientSocket[] = [];
    const loginToken = async (name: string): Promise<string> => {
        const response = await fetch(`${url}/api/login/anonymous`, {
            method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name })
        });
        return (await response.json()).token;
    };
    const rawSocket = async (token: string): Promise<ClientSocket> => {
        const socket = connectSocket(url, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
        sockets.push(socket);
        await new Promise<void>((resolve, reject) => {
            socket.once('connect', () => resolve());
            socket.once('connect_error', reject);
        });
        return socket;
    };

    /** Junk generators drawing from their own PRNG, so every worker's packets depend on the seed only. */
    const junkFactory = (random: () => number) => {
        const int = (n: number) => Math.floor(random() * n);
        const pick = <T>(items: readonly T[]): T => items[int(items.length)];
        const junkString = (): string => {
            switch (int(6)) {
                case 0: return '';
                case 1: return 'x'.repeat(int(200_000));
                case 2: return String.fromCharCode(...Array.from({ length: int(64) }, () => int(0xFFFF)));
                case 3: return pick(['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '\u0000', '../../etc/passwd']);
                case 4: return roomId;
                default: return pick(peerIds);
            }
        };
        const junkValue = (depth: number): unknown => {
            switch (int(depth > 6 ? 7 : 11)) {
                case 0: return null;
                case 1: return int(2) === 0 ? -int(2 ** 31) : random() * 1e308;
                case 2: return random() < 0.5;
                case 3: return junkString();
                case 4: return Buffer.from(Array.from({ length: int(3000) }, () => int(256)));
                case 5: return undefined;
                case 6: return int(Number.MAX_SAFE_INTEGER);
                case 7: return Array.from({ length: int(8) }, () => junkValue(depth + 1));
                case 8: {
                    const object: Record<string, unknown> = {};
                    for (let i = int(8); i > 0; i--) {
                        object[junkString().slice(0, 40)] = junkValue(depth + 1);
                    }
                    return object;
                }
                case 9: {
                    // Deep nesting.
                    let value: unknown = junkValue(depth + 1);
                    for (let i = int(300); i > 0; i--) {
                        value = int(2) ? [value] : { a: value };
                    }
                    return value;
                }
                default: return { __proto__: { ok: true }, constructor: { prototype: { polluted: true } } };
            }
        };
        const envelope = (): Record<string, unknown> => {
            const base: Record<string, unknown> = {
                room: int(3) ? roomId : junkString(),
                kind: pick(['broadcast', 'request', 'response', 'notification', 'junk']),
                seq: int(4) ? int(1000) : junkValue(5),
                key: int(4) ? int(3) : junkValue(5),
                data: int(4) ? Buffer.from(Array.from({ length: int(2000) }, () => int(256))) : junkValue(5)
            };
            if (int(2)) { base.target = int(3) ? pick(peerIds) : junkValue(5); }
            if (int(2)) { base.id = int(3) ? int(100) : junkValue(5); }
            if (int(8) === 0) { base.sender = pick(peerIds); }
            return base;
        };
        const eventNames = ['room:create', 'room:join', 'room:admit', 'room:deny', 'room:set-permission', 'room:remove', 'room:rekey',
            'room:leave', 'relay', 'relay', 'relay', 'content:put', 'content:get', 'content:delete',
            'connect', 'disconnect', 'error', 'newListener', '__proto__', 'constructor', 'server:error'];
        const payload = (event: string): unknown => {
            if (event === 'relay' && int(2)) {
                return envelope();
            }
            if (event.startsWith('content:') && int(2)) {
                return { roomId: int(3) ? roomId : junkString(), contentId: int(2) ? 'fuzzfuzzfuzzfuzz' + int(4) : junkValue(5),
                    index: int(3) ? int(130) : junkValue(5), count: int(3) ? int(130) : junkValue(5),
                    data: int(3) ? Buffer.from(Array.from({ length: int(2000) }, () => int(256))) : junkValue(5) };
            }
            if (int(3) === 0) {
                return { roomId: int(2) ? roomId : junkString(), requestId: junkString(), peerId: pick(peerIds), permission: pick(['readwrite', 'admin']),
                    publicKey: junkString(), keyMaterial: junkValue(5), keyId: junkValue(5), keys: junkValue(3) };
            }
            return junkValue(0);
        };

        return { int, pick, junkString, junkValue, envelope, eventNames, payload };
    };
    // Socket.io clients sending events: some also in a room of their own, so relays reach the relay code.
    let sent = 0;
    let errors = 0;
    let disconnected = 0;
    const fuzzWorker = async (worker: number, events: number) => {
        const { int, pick, junkString, junkValue, eventNames, payload } = junkFactory(prng(seed + worker));
        const token = await loginToken(`Fuzzer ${worker}`);
        let socket = await rawSocket(token);
        const count = (response: unknown) => {
            if ((response as { ok?: boolean })?.ok === false) {
                errors++;
            }
        };
        const watch = (s: ClientSocket) => {
            s.on('server:error', () => errors++);
            s.on('disconnect', () => disconnected++);
        };
        watch(socket);
        if (worker % 2 === 0) {
            await socket.timeout(5000).emitWithAck('room:create', { publicKey: 'A'.repeat(87) }).catch(() => undefined);
        }
        for (let i = 0; i < events; i++) {
            if (!socket.connected) {
                socket = await rawSocket(token);
                watch(socket);
            }
            const name = int(10) === 0 ? junkString().slice(0, int(2) ? 64 : 5000) : pick(eventNames);
            const args: unknown[] = [payload(name)];
            if (int(6) === 0) {
                args.push(junkValue(3));
            }
            try {
                if (int(3) === 0) {
                    socket.emit(name, ...args);
                } else {
                    socket.timeout(5000).emit(name, ...args, (error: Error | null, response: unknown) => {
                        if (!error) {
                            count(response);
                        }
                    });
                }
            } catch {
                // The client library itself may refuse (e.g. reserved event names): not sent.
                continue;
            }
            sent++;
            // Stay under the per-socket event rate limit most of the time (the flood test covers the rest).
            if (i % 40 === 39) {
                await delay(100);
            }
        }
    };

    // Raw WebSocket frames: engine.io and socket.io packets, valid and not.
    let frames = 0;
    const rawWorker = async (worker: number, count: number) => {
        const { int, pick, junkString, junkValue, envelope, eventNames, payload } = junkFactory(prng(seed + 1000 + worker));
        const token = await loginToken(`Raw ${worker}`);
        const wsUrl = `${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`;
        let ws: WebSocket | undefined;
        const open = async () => {
            const socket = new WebSocket(wsUrl);
            await new Promise<void>(resolve => {
                socket.once('open', () => resolve());
                socket.once('error', () => resolve());
            });
            socket.on('error', () => undefined);
            if (socket.readyState === WebSocket.OPEN && int(4)) {
                socket.send(`40${JSON.stringify({ token })}`);
            }
            return socket;
        };
        const json = (value: unknown) => {
            try {
                return JSON.stringify(value) ?? 'null';
            } catch {
                return '[]';
            }
        };
        const frame = (): string | Buffer => {
            switch (int(14)) {
                case 0: return junkString();
                case 1: return Buffer.from(Array.from({ length: int(5000) }, () => int(256)));
                case 2: return `42${json([pick(eventNames), payload('relay')])}`;
                case 3: return `42${int(1000)}${json([pick(eventNames), payload(pick(eventNames))])}`;
                case 4: return `451-${json(['relay', { ...envelope(), data: { _placeholder: true, num: int(3) } }])}`;
                case 5: return `4${int(10)}${junkString().slice(0, 100)}`;
                case 6: return `${int(10)}${junkString().slice(0, 100)}`;
                case 7: return `42["relay",${'['.repeat(20_000)}${']'.repeat(20_000)}]`;
                case 8: return `452-${json(['relay', { a: { _placeholder: true, num: 5 } }])}`;
                case 9: return '42["relay",' + '{"a":'.repeat(5000) + '1' + '}'.repeat(5000) + ']';
                case 10: return `42${json(['relay', 'y'.repeat(int(2) ? 1_500_000 : 100_000)])}`;
                case 11: return int(2) ? '2' : '3';
                case 12: return `41`;
                default: return `42${json([junkString().slice(0, 100), junkValue(0)])}`;
            }
        };
        for (let i = 0; i < count; i++) {
            if (!ws || ws.readyState !== WebSocket.OPEN) {
                ws?.terminate();
                ws = await open();
                if (ws.readyState !== WebSocket.OPEN) {
                    continue;
                }
            }
            ws.send(frame());
            frames++;
            if (i % 20 === 19) {
                await delay(20);
            }
        }
        ws?.terminate();
    };


    try {
        await Promise.all([
            ...Array.from({ length: socketWorkers }, (_, worker) => fuzzWorker(worker, eventsPerWorker)),
            ...Array.from({ length: rawWorkers }, (_, worker) => rawWorker(worker, framesPerWorker))
        ]);
    } finally {
        sockets.forEach(socket => socket.close());
    }
    return { sent, frames, errors, disconnected };
}

if (require.main === module) {
    runFuzzer(JSON.parse(process.argv[2])).then(
        result => process.send!(result, () => process.exit(0)),
        error => {
            console.error(error);
            process.exit(1);
        });
}
