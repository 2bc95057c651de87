/**
 * Redis going away under load, with real instances (one in this process, one a real server process) and a
 * real redis-server killed with SIGKILL and started again on its port: nothing crashes, sessions within an
 * instance go on, everything resumes after; a Redis that comes back empty ends every session with a message
 * within seconds.
 */
import * as assert from 'assert';
import { ChildProcess, spawn } from 'child_process';
import * as crypto from 'crypto';
import * as path from 'path';
import type { ServerOptions } from './config';
import { LOST_STATE_MESSAGE } from './room-service';
import { startRedis, TestRedis } from './redis-test-support';
import type { ServerHandle } from './server';
import { bytes, connect, connectRefused, login, publicKey, settle, startTestServer, TestClient } from './test-support';

const BIN = path.join(__dirname, '..', 'bin', 'collab-server.js');

interface Member {
    client: TestClient;
    peerId: string;
    token: string;
    roomToken: string;
}

describe('Redis outages', function () {
    this.timeout(60_000);
    const secret = crypto.randomBytes(32).toString('base64url');
    let redis: TestRedis | undefined;
    let servers: ServerHandle[];
    let clients: TestClient[];
    let processes: ChildProcess[];
    let rejections: unknown[];
    const onRejection = (reason: unknown) => rejections.push(reason);

    beforeEach(() => {
        servers = [];
        clients = [];
        processes = [];
        rejections = [];
        process.on('unhandledRejection', onRejection);
    });

    afterEach(async () => {
        process.off('unhandledRejection', onRejection);
        clients.forEach(client => client.close());
        for (const child of processes) {
            if (child.exitCode === null && child.signalCode === null) {
                child.kill('SIGKILL');
                await new Promise(resolve => child.once('exit', resolve));
            }
        }
        await Promise.all(servers.map(server => server.close()));
        await redis?.stop();
        redis = undefined;
    });

    const quick: Partial<ServerOptions> = {
        secret, storeCheckIntervalMs: 200, socketEventRateLimit: { max: 10_000, windowMs: 1000 }, loginRateLimit: { max: 1000, windowMs: 60_000 },
        joinRateLimit: { max: 1000, windowMs: 60_000 }
    };

    async function instance(prefix: string): Promise<ServerHandle> {
        const server = await startTestServer({ redisUrl: redis!.url, redisPrefix: prefix, ...quick });
        servers.push(server);
        return server;
    }

    /** A real server process (with its own process guards, as in production); its url and log. */
    async function serverProcess(prefix: string): Promise<{ url: string; child: ChildProcess; log: () => string }> {
        const child = spawn(process.execPath, [BIN, '--port', '0', '--redis', redis!.url, '--log-level', 'info', '--event-rate', '10000/1s', '--login-rate', '1000/1m', '--join-rate', '1000/1m'], {
            env: { PATH: process.env.PATH ?? '', COLLAB_SECRET: secret, COLLAB_REDIS_PREFIX: prefix },
            stdio: ['ignore', 'pipe', 'pipe']
        });
        processes.push(child);
        let output = '';
        child.stdout!.on('data', chunk => output += chunk);
        child.stderr!.on('data', chunk => output += chunk);
        const url = await new Promise<string>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`no listening line: ${output}`)), 10_000);
            const check = () => {
                const match = /"url":"(http:\/\/127\.0\.0\.1:\d+)".*collab-server listening/.exec(output);
                if (match) {
                    clearTimeout(timer);
                    child.stdout!.off('data', check);
                    resolve(match[1]);
                }
            };
            child.stdout!.on('data', check);
        });
        return { url, child, log: () => output };
    }

    async function client(server: ServerHandle | string, name: string, auth?: Record<string, unknown>, token?: string): Promise<{ client: TestClient; token: string }> {
        const target = typeof server === 'string' ? { url: server } as ServerHandle : server;
        const loginToken = token ?? (await login(target, name)).token;
        const created = await connect(target, { name, token: loginToken, auth, recordFromStart: true });
        clients.push(created);
        return { client: created, token: loginToken };
    }

    async function room(hostServer: ServerHandle | string, guestServers: (ServerHandle | string)[]): Promise<{ roomId: string; host: Member; guests: Member[] }> {
        const host = await client(hostServer, 'Host');
        const created = await host.client.request('room:create', { publicKey: publicKey() });
        assert.strictEqual(created.ok, true);
        const guests: Member[] = [];
        for (const [index, server] of guestServers.entries()) {
            const guest = await client(server, `Guest ${index + 1}`);
            const joined = await guest.client.request('room:join', { roomId: created.roomId, publicKey: publicKey() });
            await host.client.waitFor('room:join-request', event => event.requestId === joined.requestId);
            await host.client.request('room:admit', { roomId: created.roomId, requestId: joined.requestId, permission: 'readwrite', keyMaterial: bytes(48), keyId: 1 });
            const admitted = await guest.client.waitFor('room:admitted');
            guests.push({ client: guest.client, peerId: joined.peerId, token: guest.token, roomToken: admitted.roomToken });
        }
        await settle(200);
        [host.client, ...guests.map(guest => guest.client)].forEach(item => item.clear());
        return { roomId: created.roomId, host: { client: host.client, peerId: created.peer.id, token: host.token, roomToken: created.roomToken }, guests };
    }

    /** Sends a broadcast every `everyMs` (20 a second) until stopped; counts acks by outcome. */
    function steady(from: Member, roomId: string, everyMs = 50): { stop(): Promise<void>; acks: Map<string, number>; seq(): number } {
        let seq = 0;
        let running = true;
        const acks = new Map<string, number>();
        const inFlight: Promise<void>[] = [];
        const loop = (async () => {
            while (running) {
                const current = ++seq;
                inFlight.push(from.client.request('relay', { room: roomId, kind: 'broadcast', seq: current, key: 1, data: bytes(1024) })
                    .then((ack: any) => { const key = ack.ok ? 'ok' : ack.error.code; acks.set(key, (acks.get(key) ?? 0) + 1); },
                        () => { acks.set('no-answer', (acks.get('no-answer') ?? 0) + 1); }));
                await settle(everyMs);
            }
        })();
        return {
            acks,
            seq: () => seq,
            stop: async () => {
                running = false;
                await loop;
                await Promise.all(inFlight);
            }
        };
    }

    /** Broadcasts `receiver` got from `sender` with a sequence number in (from, to]. */
    function received(receiver: Member, sender: Member, from: number, to = Infinity): number {
        return receiver.client.events('relay').filter(event => event.sender === sender.peerId && event.seq > from && event.seq <= to).length;
    }

    async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs: number): Promise<number> {
        const started = Date.now();
        while (!await condition()) {
            if (Date.now() - started > timeoutMs) {
                throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
            }
            await settle(50);
        }
        return Date.now() - started;
    }

    it('restarting Redis mid-relay crashes nothing: sessions within an instance go on, everything resumes after', async () => {
        redis = await startRedis({ persistent: true });
        const a = await instance('outage:');
        const b = await serverProcess('outage:');
        const { roomId, host, guests } = await room(a, [a, b.url, b.url]);
        const [onA, onB1, onB2] = guests;
        const fromHost = steady(host, roomId);
        const fromB1 = steady(onB1, roomId);
        try {
            // Before: across instances both ways.
            await until(() => received(onB2, host, 0) >= 5 && received(host, onB1, 0) >= 5, 'traffic flows across the instances', 5000);

            await redis.kill();
            const downAt = { host: fromHost.seq(), b1: fromB1.seq() };
            // Longer than the instances' room cache keeps an entry without asking Redis (5 s).
            await settle(6500);
            const during = { host: fromHost.seq(), b1: fromB1.seq() };
            // Let the last ones sent before this point arrive.
            await settle(300);
            // Within each instance, relays went on all along.
            assert.ok(received(onA, host, downAt.host, during.host) >= during.host - downAt.host - 3,
                `host -> guest on the same instance: ${received(onA, host, downAt.host, during.host)} of ${during.host - downAt.host}`);
            assert.ok(received(onB2, onB1, downAt.b1, during.b1) >= during.b1 - downAt.b1 - 3,
                `guest -> guest on the other instance (a separate process): ${received(onB2, onB1, downAt.b1, during.b1)} of ${during.b1 - downAt.b1}`);
            // What needs the store fails at once, clearly.
            const started = Date.now();
            const permission = await host.client.request('room:set-permission', { roomId, peerId: onA.peerId, permission: 'readonly' });
            assert.deepStrictEqual(permission.error?.code, 'unavailable', JSON.stringify(permission));
            assert.match(permission.error.message, /cannot reach its shared store/);
            assert.ok(Date.now() - started < 2000, 'answered without waiting for Redis');
            assert.strictEqual((await onA.client.request('room:replay', { roomId, after: {} })).error.code, 'unavailable');
            assert.strictEqual((await fetch(`${a.url}/health`)).status, 503);
            // A member whose connection drops meanwhile is asked to come back later (the client retries 'unavailable').
            (onA.client.socket.io as any).engine.close();
            const refused = await connectRefused(a, { token: onA.token, roomToken: onA.roomToken, previousSocketId: onA.client.socket.id });
            assert.strictEqual(refused.data?.code, 'unavailable');

            await redis.restart();
            const upAt = { host: fromHost.seq(), b1: fromB1.seq() };
            // Across instances again, both ways.
            const recovered = await until(() => received(onB2, host, upAt.host) >= 3 && received(host, onB1, upAt.b1) >= 3, 'traffic flows across the instances again', 15_000);
            assert.ok(recovered < 15_000);
            // The store answers again; the dropped member resumes (its drop was recorded once Redis was back).
            await until(async () => (await host.client.request('room:set-permission', { roomId, peerId: onB2.peerId, permission: 'readonly' })).ok === true, 'the store answers', 10_000);
            const back = await client(a, 'Guest 1', { roomToken: onA.roomToken }, onA.token);
            const resumed = await back.client.waitFor('room:resumed', undefined, 5000);
            assert.strictEqual(resumed.self.id, onA.peerId);
            const replay = await back.client.request('room:replay', { roomId, after: { [host.peerId]: downAt.host + 5 } });
            assert.strictEqual(replay.ok, true);
            assert.ok(replay.envelopes.length > 0, 'broadcasts relayed after the outage are in the window');
            assert.strictEqual(replay.complete, false, 'what was relayed while Redis was away is not in the window: the answer says so');
            assert.ok(replay.envelopes.every((item: any) => item.sender !== onA.peerId));
        } finally {
            await fromHost.stop();
            await fromB1.stop();
        }
        assert.ok(!(fromHost.acks.get('no-answer')), `relays without an answer: ${JSON.stringify([...fromHost.acks])}`);
        assert.ok((fromHost.acks.get('ok') ?? 0) >= fromHost.seq() - 5, `host relays refused: ${JSON.stringify([...fromHost.acks])}`);
        assert.ok((fromB1.acks.get('ok') ?? 0) >= fromB1.seq() - 5, `guest relays refused: ${JSON.stringify([...fromB1.acks])}`);
        // Nothing crashed, nothing was left unhandled.
        assert.deepStrictEqual(rejections, []);
        assert.strictEqual(b.child.exitCode, null, b.log().slice(-3000));
        assert.doesNotMatch(b.log(), /unhandled rejection|uncaught exception|"level":60/);
        assert.strictEqual((await fetch(`${b.url}/health`)).status, 200);
        assert.strictEqual((await fetch(`${a.url}/health`)).status, 200);
        const metrics = await (await fetch(`${a.url}/metrics`)).text();
        assert.match(metrics, /collab_store_failures_total\{operation="publish"\} [1-9]/);
    });

    it('a Redis restarted empty ends every session with room:closed and a clear reason, within seconds', async () => {
        redis = await startRedis();
        const a = await instance('empty:');
        const b = await instance('empty:');
        const { roomId, host, guests } = await room(a, [a, b]);
        const waiting = await client(b, 'Waiting');
        await waiting.client.request('room:join', { roomId, publicKey: publicKey() });
        await host.client.waitFor('room:join-request');
        const everyone = [host.client, ...guests.map(guest => guest.client), waiting.client];

        await redis.kill();
        await settle(500);
        await redis.restart();
        const restartedAt = Date.now();
        for (const member of everyone) {
            const closed = await member.waitFor('room:closed', undefined, 10_000);
            assert.deepStrictEqual(closed, { roomId, reason: 'shutdown', message: LOST_STATE_MESSAGE });
        }
        const took = Date.now() - restartedAt;
        assert.ok(took < 5000, `took ${took} ms`);
        // Told once, and no longer in the room.
        await settle(600);
        assert.deepStrictEqual(everyone.map(member => member.events('room:closed').length), everyone.map(() => 0));
        assert.strictEqual((await host.client.request('relay', { room: roomId, kind: 'broadcast', seq: 1, key: 1, data: bytes(1) })).error.code, 'not-member');
        // Resuming later: room:closed at once, with the same reason.
        const late = await client(b, 'Guest 1', { roomToken: guests[0].roomToken }, guests[0].token);
        assert.deepStrictEqual(await late.client.waitFor('room:closed', undefined, 2000), { roomId, reason: 'shutdown', message: LOST_STATE_MESSAGE });
        // New sessions work.
        const fresh = await client(b, 'New host');
        assert.strictEqual((await fresh.client.request('room:create', { publicKey: publicKey() })).ok, true);
        assert.deepStrictEqual(rejections, []);
    });
});
