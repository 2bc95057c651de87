import * as assert from 'assert';
import { createClient } from 'redis';
import type { RedisClient } from './redis';
import { RedisPendingRequests, RedisRoomStore } from './redis-store';
import { startRedis, TestRedis } from './redis-test-support';
import type { RoomRecord } from './rooms';

function room(id: string, now = Date.now()): RoomRecord {
    return {
        id, hostPeerId: 'host', createdAt: now, expiresAt: now + 60_000, lastActivityAt: now, emptySince: now,
        members: { host: { info: { id: 'host', userId: 'u', name: 'Host', role: 'host', permission: 'readwrite', publicKey: 'k' }, socketId: 's', instance: 'i', joinedAt: now } },
        pending: {}
    };
}

describe('Redis store', function () {
    this.timeout(20_000);
    let redis: TestRedis;
    let clients: RedisClient[];
    let prefix = 0;

    before(async () => {
        redis = await startRedis();
    });

    after(async () => {
        await redis?.stop();
    });

    beforeEach(() => {
        clients = [];
        prefix++;
    });

    afterEach(async () => {
        await Promise.all(clients.map(client => client.quit()));
    });

    async function client(): Promise<RedisClient> {
        const created = createClient({ url: redis.url });
        await created.connect();
        clients.push(created);
        return created;
    }

    async function stores(count: number): Promise<RedisRoomStore[]> {
        const result: RedisRoomStore[] = [];
        for (let i = 0; i < count; i++) {
            result.push(new RedisRoomStore(await client(), { prefix: `s${prefix}:`, touchIntervalMs: 0 }));
        }
        return result;
    }

    it('keeps every concurrent update of several instances', async () => {
        const [a, b] = await stores(2);
        await a.create(room('room-1'));
        await assert.rejects(b.create(room('room-1')), /exists/);
        await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? a : b).update('room-1', record => {
            record.pending[`r${i}`] = { requestId: `r${i}`, peer: { ...record.members.host.info, id: `p${i}`, role: 'guest' }, socketId: 'x', requestedAt: i };
        })));
        const stored = await a.get('room-1');
        assert.strictEqual(Object.keys(stored!.pending).length, 60);
        assert.strictEqual(await b.update('missing', () => 1), undefined);
        // An aborted update writes nothing.
        await assert.rejects(a.update('room-1', record => {
            record.pending = {};
            throw new Error('abort');
        }), /abort/);
        assert.strictEqual(Object.keys((await b.get('room-1'))!.pending).length, 60);
    });

    it('removes a room for exactly one of concurrent callers, and remembers why', async () => {
        const [a, b, c] = await stores(3);
        await a.create(room('room-2'));
        assert.strictEqual(await a.remove('room-2', { reason: 'idle', message: 'm' }, record => record.hostPeerId === 'nobody'), undefined);
        const results = await Promise.all([a, b, c].map(store => store.remove('room-2', { reason: 'expired', message: 'Too old.' })));
        assert.strictEqual(results.filter(result => result !== undefined).length, 1);
        assert.strictEqual(await a.get('room-2'), undefined);
        assert.deepStrictEqual(await c.closedInfo('room-2'), { reason: 'expired', message: 'Too old.' });
        assert.strictEqual(await a.count(), 0);
    });

    it('records activity without resurrecting rooms, and lists only live rooms', async () => {
        const [store] = await stores(1);
        const redisClient = clients[0];
        const now = Date.now();
        await store.create(room('room-3', now));
        await store.create(room('room-4', now));
        await store.touch('room-3', now + 5000);
        assert.strictEqual((await store.get('room-3'))!.lastActivityAt, now + 5000);
        await store.touch('gone', now);
        assert.strictEqual(await redisClient.exists(`s${prefix}:{room:gone}`), 0);
        // A room key Redis expired is dropped from the index when listing.
        await redisClient.del(`s${prefix}:{room:room-4}`);
        assert.deepStrictEqual((await store.list()).map(record => record.id), ['room-3']);
        assert.strictEqual(await store.count(), 1);
        assert.ok((await redisClient.pTTL(`s${prefix}:{room:room-3}`)) > 60_000);
    });

    it('tracks pending requests atomically', async () => {
        const requests = new RedisPendingRequests(await client(), `s${prefix}:`, 60_000);
        const other = new RedisPendingRequests(await client(), `s${prefix}:`, 60_000);
        const now = Date.now();
        const request = (requester: string, responder: string, id: number, deadline = now + 10_000) => ({ room: 'R', requester, responder, id, deadline });
        assert.strictEqual(await requests.add(request('a', 'h', 1), 2), 'ok');
        assert.strictEqual(await other.add(request('a', 'h', 1), 2), 'duplicate');
        assert.strictEqual(await requests.add(request('a', 'b', 2), 2), 'ok');
        assert.strictEqual(await other.add(request('a', 'h', 3), 2), 'too-many');
        assert.strictEqual(await other.take('R', 'a', 1, 'b'), undefined);
        const taken = await Promise.all([requests.take('R', 'a', 1, 'h'), other.take('R', 'a', 1, 'h')]);
        assert.deepStrictEqual(taken.filter(Boolean), [request('a', 'h', 1)]);
        assert.strictEqual(await other.add(request('a', 'h', 3), 2), 'ok');

        // b leaves: a's request to b is answered, b's own requests are forgotten.
        assert.strictEqual(await requests.add(request('b', 'h', 1), 5), 'ok');
        assert.deepStrictEqual(await other.peerLeft('R', 'b'), [request('a', 'b', 2)]);
        assert.strictEqual(await requests.take('R', 'b', 1), undefined);

        assert.strictEqual(await requests.add(request('c', 'h', 1, now - 1), 5), 'ok');
        assert.deepStrictEqual(await other.takeExpired(now, 10), [request('c', 'h', 1, now - 1)]);
        assert.deepStrictEqual(await requests.takeExpired(now, 10), []);
        await requests.roomClosed('R');
        assert.strictEqual(await other.take('R', 'a', 3), undefined);
        assert.deepStrictEqual(await requests.takeExpired(now + 60_000, 10), []);
    });
});
