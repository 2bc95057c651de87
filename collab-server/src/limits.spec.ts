import * as assert from 'assert';
import { io as connectSocket } from 'socket.io-client';
import { PROTOCOL_VERSION } from '@theia-collab/protocol/lib/wire';
import { ServerHelloEventSchema } from '@theia-collab/protocol/lib/server-events';
import { engineFrameLimit, maxEventBytes } from './connection';
import type { ServerHandle } from './server';
import { bytes, connect, createRoom, login, publicKey, settle, startTestServer, TestClient, TestRoom } from './test-support';

const KiB = 1024;
const MiB = 1024 * KiB;

describe('limits a connection is told, and oversized frames', () => {
    let server: ServerHandle | undefined;
    let clients: TestClient[];

    beforeEach(() => {
        clients = [];
    });

    afterEach(async () => {
        clients.forEach(client => client.close());
        await server?.close();
        server = undefined;
    });

    describe('server:hello', () => {
        /** Connects a raw client that records from the very first event on. */
        async function firstEvents(target: ServerHandle, auth: Record<string, unknown> = {}): Promise<{ event: string; args: unknown[] }[]> {
            // With a room token alone: the room token names the user.
            const token = auth.roomToken ? undefined : (await login(target, 'Hello')).token;
            const socket = connectSocket(target.url, { auth: { ...token ? { token } : {}, ...auth }, transports: ['websocket'], reconnection: false, forceNew: true });
            const events: { event: string; args: unknown[] }[] = [];
            socket.onAny((event: string, ...args: unknown[]) => events.push({ event, args }));
            try {
                await new Promise<void>((resolve, reject) => {
                    socket.once('connect', () => resolve());
                    socket.once('connect_error', reject);
                });
                for (let i = 0; i < 100 && events.length === 0; i++) {
                    await settle(20);
                }
                await settle(100);
                return events;
            } finally {
                socket.close();
            }
        }

        it('tells each connection its limits right after it connects, before anything else', async () => {
            server = await startTestServer();
            const events = await firstEvents(server);
            assert.strictEqual(events[0]?.event, 'server:hello', JSON.stringify(events));
            assert.deepStrictEqual(events[0].args[0], {
                protocol: PROTOCOL_VERSION,
                limits: {
                    maxPayloadBytes: MiB,
                    events: { max: 500, windowMs: 1000 },
                    bytes: { max: 32 * MiB, windowMs: 1000 },
                    replayWindowMs: 120_000
                }
            });
            assert.ok(ServerHelloEventSchema.safeParse(events[0].args[0]).success);
        });

        it('says the limits the server is configured with, also to a connection that resumes', async () => {
            server = await startTestServer({
                maxPayloadBytes: 600 * KiB, socketEventRateLimit: { max: 40, windowMs: 2000 }, socketByteRateLimit: { max: 4 * MiB, windowMs: 500 },
                replayWindowMs: 0
            });
            const expected = {
                protocol: PROTOCOL_VERSION,
                limits: { maxPayloadBytes: 600 * KiB, events: { max: 40, windowMs: 2000 }, bytes: { max: 4 * MiB, windowMs: 500 }, replayWindowMs: 0 }
            };
            assert.deepStrictEqual((await firstEvents(server))[0], { event: 'server:hello', args: [expected] });
            // With a room token (resuming): hello first, then the answer about the room.
            const room = await createRoom(server, 0, clients);
            room.host.close();
            await settle(100);
            const events = await firstEvents(server, { roomToken: room.hostRoomToken });
            assert.deepStrictEqual(events.map(event => event.event), ['server:hello', 'room:closed']);
            assert.deepStrictEqual(events[0].args[0], expected);
        });
    });

    describe('frames around the limits', () => {
        const maxPayload = MiB;
        let room: TestRoom;

        beforeEach(async () => {
            server = await startTestServer({ socketByteRateLimit: { max: 64 * MiB, windowMs: 1000 } });
            room = await createRoom(server, 1, clients);
        });

        function relay(data: Uint8Array, seq: number): Record<string, unknown> {
            return { room: room.roomId, kind: 'broadcast', seq, key: 1, data };
        }

        /** The connection is still up and works: a broadcast reaches the guest. */
        async function stillServing(seq: number): Promise<void> {
            assert.ok(room.host.socket.connected, 'the host was disconnected');
            assert.deepStrictEqual(await room.host.request('relay', relay(bytes(10), seq)), { ok: true });
            const got = await room.guests[0].waitFor('relay', event => event.seq === seq);
            assert.strictEqual(new Uint8Array(got.data).byteLength, 10);
        }

        it('the engine limit is twice the largest event, and bounded', () => {
            assert.strictEqual(maxEventBytes(MiB), MiB + 64 * KiB);
            assert.strictEqual(engineFrameLimit(MiB), 2 * MiB + 128 * KiB);
            assert.strictEqual(engineFrameLimit(576 * KiB), 2 * (576 + 64) * KiB);
        });

        it('accepts data at the payload limit, and refuses one byte more with too-large, staying connected', async () => {
            assert.deepStrictEqual(await room.host.request('relay', relay(bytes(maxPayload), 1)), { ok: true });
            assert.strictEqual(new Uint8Array((await room.guests[0].waitFor('relay')).data).byteLength, maxPayload);
            const over = await room.host.request('relay', relay(bytes(maxPayload + 1), 2));
            assert.strictEqual(over.error.code, 'too-large');
            await stillServing(3);
        });

        it('refuses data 100 KiB over the limit (beyond the old engine limit) with too-large, staying connected', async () => {
            const over = await room.host.request('relay', relay(bytes(maxPayload + 100 * KiB), 1));
            assert.deepStrictEqual(over.error, { code: 'too-large', message: `Envelope data exceeds ${maxPayload} bytes; send it in chunks.` });
            const part = await room.host.request('content:put', { roomId: room.roomId, contentId: 'c'.repeat(16), index: 0, count: 1, data: bytes(maxPayload + 100 * KiB) });
            assert.strictEqual(part.error.code, 'too-large');
            // Without an ack callback: a server:error.
            room.host.socket.emit('relay', relay(bytes(maxPayload + 100 * KiB), 2));
            assert.strictEqual((await room.host.waitFor('server:error')).code, 'too-large');
            await stillServing(3);
            assert.strictEqual(room.guests[0].events('relay').length, 0, 'nothing oversized was relayed');
        });

        it('refuses a frame just under the engine limit with too-large, and drops the connection just above it', async () => {
            const engineLimit = engineFrameLimit(maxPayload);
            const under = await room.host.request('relay', relay(bytes(engineLimit), 1));
            assert.strictEqual(under.error.code, 'too-large');
            await stillServing(2);
            room.host.socket.emit('relay', relay(bytes(engineLimit + 1), 3));
            await room.host.waitFor('disconnect', undefined, 5000);
            assert.strictEqual(room.host.socket.connected, false);
        });

        it('refuses other events far above any payload with too-large, not bad-request', async () => {
            const client = await connect(server!, { name: 'Large' });
            clients.push(client);
            const join = await client.request('room:join', { roomId: room.roomId, publicKey: publicKey() + 'A'.repeat(maxEventBytes(maxPayload)) });
            assert.strictEqual(join.error.code, 'too-large');
            const small = await client.request('room:join', { roomId: room.roomId, publicKey: publicKey() + 'A'.repeat(1000) });
            assert.strictEqual(small.error.code, 'bad-request');
            assert.ok(client.socket.connected);
        });
    });
});
