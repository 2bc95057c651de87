import * as assert from 'assert';
import { createClient } from 'redis';
import { createLogger } from './logger';
import { RedisClient, RedisConnection } from './redis';
import { startRedis, TestRedis } from './redis-test-support';
import type { ServerHandle } from './server';
import { bytes, createRoom, startTestServer, TestClient } from './test-support';

/**
 * The relay's hot path must not wait for Redis: with Redis stalled for writes (CLIENT PAUSE WRITE
 * holds every PUBLISH of the socket.io adapter and every write command, like a long backlog of
 * publishes does), envelopes of one socket keep flowing.
 */
describe('relay latency while Redis is slow', function () {
    this.timeout(30_000);
    let redis: TestRedis;
    let inspector: RedisClient;
    let servers: ServerHandle[];
    let clients: TestClient[];
    let connections: RedisConnection[];
    let testNumber = 0;

    before(async () => {
        redis = await startRedis();
        inspector = createClient({ url: redis.url });
        await inspector.connect();
    });

    after(async () => {
        await inspector?.quit().catch(() => undefined);
        await redis?.stop();
    });

    beforeEach(() => {
        servers = [];
        clients = [];
        connections = [];
    });

    afterEach(async () => {
        await inspector.sendCommand(['CLIENT', 'UNPAUSE']);
        clients.forEach(client => client.close());
        await Promise.all(servers.map(server => server.close()));
        await Promise.all(connections.map(connection => connection.close()));
    });

    async function pauseWrites(ms: number): Promise<void> {
        await inspector.sendCommand(['CLIENT', 'PAUSE', String(ms), 'WRITE']);
    }

    it('relays the envelopes of a socket one after another without waiting for the activity stamp', async () => {
        const server = await startTestServer({ redisUrl: redis.url, redisPrefix: `lat${++testNumber}:` });
        servers.push(server);
        const room = await createRoom(server, 1, clients);
        const [guest] = room.guests;
        const envelope = (seq: number) => ({ room: room.roomId, kind: 'broadcast', seq, key: 1, data: bytes(1024, seq) });
        // Caches the room record and stamps activity; the next stamp is due a second later.
        assert.deepStrictEqual(await guest.request('relay', envelope(1)), { ok: true });
        await room.host.waitFor('relay');
        await new Promise(resolve => setTimeout(resolve, 1100));

        await pauseWrites(4000);
        const started = Date.now();
        for (let seq = 2; seq <= 6; seq++) {
            assert.deepStrictEqual(await guest.request('relay', envelope(seq)), { ok: true });
            const relayed = await room.host.waitFor('relay', event => event.seq === seq, 3000);
            assert.strictEqual(relayed.sender, room.guestPeerIds[0]);
        }
        const elapsed = Date.now() - started;
        assert.ok(elapsed < 1500, `5 envelopes took ${elapsed} ms while Redis held writes (they waited for Redis)`);
    });

    it('answers commands while the adapter\'s publishes wait', async () => {
        const logger = createLogger('warn');
        const connection = await RedisConnection.connect({ url: redis.url, prefix: `lat${++testNumber}:`, logger, heartbeatMs: 60_000 });
        connections.push(connection);
        assert.notStrictEqual(connection.publisher, connection.client);
        await connection.client.set(connection.key('probe'), 'x');

        await pauseWrites(4000);
        const published = connection.publisher.publish(connection.key('channel'), 'held');
        const started = Date.now();
        await connection.ping();
        assert.strictEqual(await connection.client.get(connection.key('probe')), 'x');
        const elapsed = Date.now() - started;
        assert.ok(elapsed < 1000, `commands took ${elapsed} ms behind a held publish`);
        await inspector.sendCommand(['CLIENT', 'UNPAUSE']);
        await published;
    });
});
