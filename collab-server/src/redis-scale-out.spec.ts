/**
 * Scale-out with the sharded Redis adapter: a room's traffic reaches only the instances that hold its members.
 * Three real instances on one Redis and on a real Redis Cluster (3 primaries); the instances count what Redis
 * delivers to their adapter (`collab_adapter_received_messages_total`). The classic adapter, where every instance
 * receives everything, is the control that shows the count would see the traffic.
 */
import * as assert from 'assert';
import * as crypto from 'crypto';
import { startRedis, startRedisCluster, TestRedis, TestRedisCluster } from './redis-test-support';
import type { ServerOptions } from './config';
import type { ServerHandle } from './server';
import { bytes, connect, login, publicKey, settle, startTestServer, TestClient } from './test-support';

const N = 40;

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition() && Date.now() < deadline) {
        await new Promise(resolve => setTimeout(resolve, 20));
    }
}

interface Room {
    roomId: string;
    host: TestClient;
    guests: TestClient[];
}

async function metricsOf(server: ServerHandle): Promise<Map<string, number>> {
    const response = await fetch(`${server.url}/metrics`);
    assert.strictEqual(response.status, 200);
    const values = new Map<string, number>();
    for (const line of (await response.text()).split('\n')) {
        const match = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
        if (match) {
            values.set(match[1], Number(match[2]));
        }
    }
    return values;
}

async function roomMessages(server: ServerHandle): Promise<number> {
    const value = (await metricsOf(server)).get('collab_adapter_received_messages_total{channel="room"}');
    assert.ok(value !== undefined, 'the adapter metric is reported');
    return value;
}

for (const target of ['redis', 'redis-cluster'] as const) {
    describe(`room traffic between instances (${target === 'redis' ? 'one Redis' : 'Redis Cluster of 3'})`, function () {
        this.timeout(60_000);
        let redis: TestRedis | undefined;
        let cluster: TestRedisCluster | undefined;
        const secret = crypto.randomBytes(32).toString('base64url');
        let testNumber = 0;
        let prefix: string;
        let servers: ServerHandle[];
        let clients: TestClient[];

        before(async function () {
            this.timeout(60_000);
            if (target === 'redis') {
                redis = await startRedis();
            } else {
                cluster = await startRedisCluster(3);
            }
        });

        after(async () => {
            await redis?.stop();
            await cluster?.stop();
        });

        beforeEach(() => {
            prefix = `so${++testNumber}:`;
            servers = [];
            clients = [];
        });

        afterEach(async () => {
            clients.forEach(client => client.close());
            await Promise.all(servers.map(server => server.close()));
        });

        async function instance(options: Partial<ServerOptions> = {}): Promise<ServerHandle> {
            const where: Partial<ServerOptions> = redis ? { redisUrl: redis.url } : { redisCluster: cluster!.urls };
            const server = await startTestServer({ ...where, redisPrefix: prefix, secret, ...options });
            servers.push(server);
            return server;
        }

        async function client(server: ServerHandle, name: string): Promise<TestClient> {
            const { token } = await login(server, name);
            const created = await connect(server, { name, token });
            clients.push(created);
            return created;
        }

        async function room(hostServer: ServerHandle, guestServers: ServerHandle[]): Promise<Room> {
            const host = await client(hostServer, 'Host');
            const created = await host.request('room:create', { publicKey: publicKey() });
            assert.strictEqual(created.ok, true);
            const guests: TestClient[] = [];
            for (const [index, server] of guestServers.entries()) {
                const guest = await client(server, `Guest ${index + 1}`);
                const joined = await guest.request('room:join', { roomId: created.roomId, publicKey: publicKey() });
                assert.strictEqual(joined.ok, true, JSON.stringify(joined));
                const request = await host.waitFor('room:join-request', event => event.requestId === joined.requestId);
                assert.deepStrictEqual(await host.request('room:admit', {
                    roomId: created.roomId, requestId: request.requestId, permission: 'readwrite', keyMaterial: bytes(48), keyId: 1
                }), { ok: true });
                await guest.waitFor('room:admitted');
                guests.push(guest);
            }
            await settle();
            [host, ...guests].forEach(member => member.clear());
            return { roomId: created.roomId, host, guests };
        }

        /** Sends `N` broadcasts from the room's host; every guest gets all of them. */
        async function traffic(target: Room): Promise<void> {
            for (let seq = 1; seq <= N; seq++) {
                assert.deepStrictEqual(await target.host.request('relay', { room: target.roomId, kind: 'broadcast', seq, key: 1, data: bytes(200, seq) }), { ok: true });
            }
            for (const guest of target.guests) {
                await until(() => guest.events('relay').filter(envelope => envelope.room === target.roomId).length >= N);
                assert.deepStrictEqual(guest.events('relay').filter(envelope => envelope.room === target.roomId).map(envelope => envelope.seq),
                    Array.from({ length: N }, (_, index) => index + 1), `${guest.name} got every broadcast, in order`);
            }
            await settle(300);
        }

        /** What each instance's adapter received from Redis on room channels while `action` ran. */
        async function receivedDuring(instances: ServerHandle[], action: () => Promise<void>): Promise<number[]> {
            const before = await Promise.all(instances.map(roomMessages));
            await action();
            const after = await Promise.all(instances.map(roomMessages));
            return after.map((value, index) => value - before[index]);
        }

        it('with the sharded adapter, delivers a room\'s broadcasts only to the instances holding its members', async () => {
            const [a, b, c] = [await instance(), await instance(), await instance()];
            const x = await room(a, [b, b]);
            const y = await room(c, [c]);

            const [xOnA, xOnB, xOnC] = await receivedDuring([a, b, c], () => traffic(x));
            // A published and subscribes (its host is in the room): Redis hands it its own messages back too.
            assert.ok(xOnA >= N && xOnA <= N + 5, `A received room X's ${N} broadcasts once (${xOnA})`);
            assert.ok(xOnB >= N && xOnB <= N + 5, `B received room X's ${N} broadcasts once (${xOnB})`);
            assert.strictEqual(xOnC, 0, 'C, without a member of X, received none of its broadcasts');

            const [yOnA, yOnB, yOnC] = await receivedDuring([a, b, c], () => traffic(y));
            assert.strictEqual(yOnA, 0, 'A received none of room Y\'s broadcasts');
            assert.strictEqual(yOnB, 0, 'B received none of room Y\'s broadcasts');
            assert.ok(yOnC >= N, `C received room Y's broadcasts (${yOnC})`);

            // The per-instance gauges see the members where they are.
            const onB = await metricsOf(b);
            assert.strictEqual(onB.get('collab_instance_rooms'), 1);
            assert.strictEqual(onB.get('collab_instance_members'), 2);
            assert.ok((onB.get('collab_adapter_received_bytes_total{channel="room"}') ?? 0) >= N * 200, 'bytes are counted');
            const onA = await metricsOf(a);
            assert.ok((onA.get('collab_redis_command_duration_seconds_count{operation="room-create"}') ?? 0) >= 1, 'store operations are timed');
        });

        it('with the sharded adapter, a guest admitted on a third instance gets the broadcasts sent right after its admission', async () => {
            const [a, b, c] = [await instance(), await instance(), await instance()];
            const x = await room(a, [b]);
            const guest = await client(c, 'Late');
            const joined = await guest.request('room:join', { roomId: x.roomId, publicKey: publicKey() });
            const request = await x.host.waitFor('room:join-request', event => event.requestId === joined.requestId);
            // Admit and broadcast at once: C subscribed to X's channel while the join was pending.
            const admitted = x.host.request('room:admit', { roomId: x.roomId, requestId: request.requestId, permission: 'readwrite', keyMaterial: bytes(48), keyId: 1 });
            assert.deepStrictEqual(await admitted, { ok: true });
            for (let seq = 1; seq <= 5; seq++) {
                assert.deepStrictEqual(await x.host.request('relay', { room: x.roomId, kind: 'broadcast', seq, key: 1, data: bytes(16, seq) }), { ok: true });
            }
            await until(() => guest.events('relay').length >= 5);
            assert.deepStrictEqual(guest.events('relay').map(envelope => envelope.seq), [1, 2, 3, 4, 5]);
        });

        it('relays requests and responses across instances, and times out a request whose responder\'s instance stopped', async () => {
            const [a, b] = [await instance({ sweepIntervalMs: 100, requestTimeoutMs: 1000 }), await instance({ sweepIntervalMs: 100, requestTimeoutMs: 1000 })];
            const x = await room(a, [b]);
            const [guest] = x.guests;
            // Answered: the pending request (room keys) and its deadline (global key) are stored and taken again.
            assert.deepStrictEqual(await guest.request('relay', { room: x.roomId, kind: 'request', id: 5, seq: 1, key: 1, data: bytes(8) }), { ok: true });
            const request = await x.host.waitFor('relay', envelope => envelope.kind === 'request');
            assert.deepStrictEqual(await x.host.request('relay', { room: x.roomId, kind: 'response', id: 5, target: request.sender, seq: 1, key: 1, data: bytes(8) }), { ok: true });
            const answer = await guest.waitFor('relay', envelope => envelope.kind === 'response');
            assert.deepStrictEqual([answer.id, answer.error], [5, undefined]);
            // Unanswered, the host's instance gone: the sweep takes the due deadline and answers 'timeout' once.
            assert.deepStrictEqual(await guest.request('relay', { room: x.roomId, kind: 'request', id: 6, seq: 2, key: 1, data: bytes(8) }), { ok: true });
            await x.host.waitFor('relay', envelope => envelope.kind === 'request' && envelope.id === 6);
            await a.close();
            const timedOut = await guest.waitFor('relay', envelope => envelope.kind === 'response' && envelope.id === 6, 8000);
            assert.strictEqual(timedOut.error.code, 'timeout');
            await settle(500);
            assert.strictEqual(guest.events('relay').filter(envelope => envelope.kind === 'response' && envelope.id === 6).length, 0, 'answered once');
        });

        if (target === 'redis') {
            it('with the classic adapter (the control), every instance receives every room\'s broadcasts', async () => {
                const [a, b, c] = [await instance({ redisAdapter: 'classic' }), await instance({ redisAdapter: 'classic' }), await instance({ redisAdapter: 'classic' })];
                const x = await room(a, [b]);
                const [xOnA, xOnB, xOnC] = await receivedDuring([a, b, c], () => traffic(x));
                for (const [name, value] of [['A', xOnA], ['B', xOnB], ['C', xOnC]] as const) {
                    assert.ok(value >= N, `${name} received room X's broadcasts (${value})`);
                }
            });
        }
    });
}
