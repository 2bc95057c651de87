import * as assert from 'assert';
import { KeyedRateLimiter, SocketRateLimiter, TokenBucket } from './rate-limit';
import type { ServerHandle } from './server';
import { connect, createRoom, login, postJson, publicKey, startTestServer, TestClient } from './test-support';

describe('rate limits', () => {
    describe('token buckets', () => {
        it('refill over time and never grant more than the capacity', () => {
            let now = 0;
            const bucket = new TokenBucket({ max: 3, windowMs: 300 }, () => now);
            assert.deepStrictEqual([bucket.take(), bucket.take(), bucket.take(), bucket.take()], [true, true, true, false]);
            now = 100;
            assert.deepStrictEqual([bucket.take(), bucket.take()], [true, false]);
            now = 10_000;
            assert.strictEqual(bucket.take(4), false);
            assert.strictEqual(bucket.take(3), true);
        });

        it('track keys separately and forget idle ones', () => {
            let now = 0;
            const limiter = new KeyedRateLimiter({ max: 1, windowMs: 1000 }, 2, () => now);
            assert.deepStrictEqual([limiter.take('a'), limiter.take('a'), limiter.take('b')], [true, false, true]);
            assert.strictEqual(limiter.take('c'), false, 'fails closed when the key table is full');
            now = 5000;
            assert.strictEqual(limiter.take('c'), true);
            assert.strictEqual(limiter.size, 1);
        });

        it('count strikes before asking for a disconnect', () => {
            const limiter = new SocketRateLimiter({ max: 1, windowMs: 60_000 }, { max: 1000, windowMs: 60_000 }, 2, () => 0);
            assert.deepStrictEqual([1, 1, 1, 1].map(() => limiter.check(10)), ['ok', 'limited', 'limited', 'disconnect']);
            const bytes = new SocketRateLimiter({ max: 100, windowMs: 60_000 }, { max: 1000, windowMs: 60_000 }, 5, () => 0);
            assert.deepStrictEqual([bytes.check(600), bytes.check(600)], ['ok', 'limited']);
        });
    });

    describe('on a server', () => {
        let server: ServerHandle;
        let clients: TestClient[];

        beforeEach(() => {
            clients = [];
        });

        afterEach(async () => {
            clients.forEach(client => client.close());
            await server.close();
        });

        it('limits logins per address', async () => {
            server = await startTestServer({ loginRateLimit: { max: 3, windowMs: 60_000 } });
            for (let i = 0; i < 3; i++) {
                await login(server);
            }
            const limited = await postJson(server, '/api/login/anonymous', { name: 'Flood' });
            assert.strictEqual(limited.status, 429);
            assert.strictEqual(limited.body.error.code, 'rate-limited');
        });

        it('limits room creation and joins per address', async () => {
            server = await startTestServer({ joinRateLimit: { max: 3, windowMs: 60_000 } });
            const room = await createRoom(server, 0, clients);
            const guest = await connect(server);
            clients.push(guest);
            const results = [];
            for (let i = 0; i < 3; i++) {
                results.push(await guest.request('room:join', { roomId: i === 2 ? room.roomId : 'B'.repeat(22), publicKey: publicKey() }));
            }
            assert.deepStrictEqual(results.map(result => result.ok ? 'ok' : result.error.code), ['not-found', 'not-found', 'rate-limited']);
            const create = await guest.request('room:create', { publicKey: publicKey() });
            assert.strictEqual(create.error.code, 'rate-limited');
        });

        it('refuses, then disconnects, a flooding socket', async () => {
            server = await startTestServer({ socketEventRateLimit: { max: 10, windowMs: 60_000 }, rateLimitStrikes: 3 });
            const flooder = await connect(server);
            clients.push(flooder);
            const codes: string[] = [];
            for (let i = 0; i < 13; i++) {
                const response = await flooder.request('room:leave', { roomId: 'C'.repeat(22) });
                codes.push(response.error.code);
            }
            assert.deepStrictEqual(codes, [...new Array(10).fill('not-member'), 'rate-limited', 'rate-limited', 'rate-limited']);
            flooder.socket.emit('room:leave', { roomId: 'C'.repeat(22) });
            await flooder.waitFor('disconnect');
            assert.strictEqual(flooder.events('server:error')[0]?.code, 'rate-limited');
            // Others are unaffected.
            const room = await createRoom(server, 1, clients);
            assert.ok(room.roomId);
        });
    });
});
