import * as assert from 'assert';
import { ChildProcess, spawn } from 'child_process';
import * as crypto from 'crypto';
import * as path from 'path';
import { startRedis, TestRedis } from './redis-test-support';
import type { ServerOptions } from './config';
import type { ServerHandle } from './server';
import { bytes, connect, expectNone, login, publicKey, settle, startTestServer, TestClient } from './test-support';

const BIN = path.join(__dirname, '..', 'bin', 'collab-server.js');

interface Member {
    client: TestClient;
    peerId: string;
    /** Login token (to reconnect) and room token (to resume). */
    token: string;
    roomToken: string;
}

interface CrossRoom {
    roomId: string;
    host: Member;
    guests: Member[];
}

describe('several instances with Redis', function () {
    this.timeout(30_000);
    let redis: TestRedis;
    const secret = crypto.randomBytes(32).toString('base64url');
    let testNumber = 0;
    let prefix: string;
    let servers: ServerHandle[];
    let clients: TestClient[];
    let processes: ChildProcess[];

    before(async () => {
        redis = await startRedis();
    });

    after(async () => {
        await redis?.stop();
    });

    beforeEach(() => {
        // Every test its own key space in the one Redis.
        prefix = `t${++testNumber}:`;
        servers = [];
        clients = [];
        processes = [];
    });

    afterEach(async () => {
        clients.forEach(client => client.close());
        processes.forEach(child => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'));
        await Promise.all(servers.map(server => server.close()));
    });

    async function instance(options: Partial<ServerOptions> = {}): Promise<ServerHandle> {
        const server = await startTestServer({ redisUrl: redis.url, redisPrefix: prefix, secret, requestTimeoutMs: 400, ...options });
        servers.push(server);
        return server;
    }

    async function client(server: ServerHandle | string, name: string, token?: string, roomToken?: string): Promise<{ client: TestClient; token: string }> {
        const target = typeof server === 'string' ? { url: server } as ServerHandle : server;
        const loginToken = token ?? (await login(target, name)).token;
        const created = await connect(target, { name, token: loginToken, auth: roomToken ? { roomToken } : undefined });
        clients.push(created);
        return { client: created, token: loginToken };
    }

    async function admit(host: TestClient, roomId: string, server: ServerHandle | string, name: string, permission = 'readwrite'): Promise<Member> {
        const guest = await client(server, name);
        const joined = await guest.client.request('room:join', { roomId, publicKey: publicKey() });
        assert.strictEqual(joined.ok, true, JSON.stringify(joined));
        const request = await host.waitFor('room:join-request', event => event.requestId === joined.requestId);
        assert.strictEqual(request.peer.name, name);
        const admitted = await host.request('room:admit', { roomId, requestId: joined.requestId, permission, keyMaterial: bytes(48), keyId: 1 });
        assert.deepStrictEqual(admitted, { ok: true });
        const event = await guest.client.waitFor('room:admitted');
        assert.strictEqual(event.self.id, joined.peerId);
        return { client: guest.client, peerId: joined.peerId, token: guest.token, roomToken: event.roomToken };
    }

    /** Host on `hostServer`, one guest per entry of `guestServers`, events cleared. */
    async function crossRoom(hostServer: ServerHandle, guestServers: (ServerHandle | string)[]): Promise<CrossRoom> {
        const host = await client(hostServer, 'Host');
        const created = await host.client.request('room:create', { publicKey: publicKey() });
        assert.strictEqual(created.ok, true);
        const room: CrossRoom = { roomId: created.roomId, host: { client: host.client, peerId: created.peer.id, token: host.token, roomToken: created.roomToken }, guests: [] };
        for (const [index, server] of guestServers.entries()) {
            room.guests.push(await admit(host.client, room.roomId, server, `Guest ${index + 1}`));
        }
        await settle();
        [room.host, ...room.guests].forEach(member => member.client.clear());
        return room;
    }

    function envelope(roomId: string, fields: Record<string, unknown>): Record<string, unknown> {
        return { room: roomId, seq: 1, key: 1, data: bytes(32), ...fields };
    }

    async function health(server: ServerHandle): Promise<{ status: number; body: any }> {
        const response = await fetch(`${server.url}/health`);
        return { status: response.status, body: await response.json() };
    }

    it('lets a guest on one instance join a host on another', async () => {
        const a = await instance();
        const b = await instance();
        assert.notStrictEqual(a.instanceId, b.instanceId);
        const room = await crossRoom(a, [b]);
        // A third member, back on A, sees the whole room and is announced to the guest on B.
        const third = await admit(room.host.client, room.roomId, a, 'Third', 'readonly');
        const joined = await room.guests[0].client.waitFor('room:peer-joined');
        assert.strictEqual(joined.peer.id, third.peerId);
        assert.strictEqual(joined.peer.permission, 'readonly');
        for (const server of [a, b]) {
            const { status, body } = await health(server);
            assert.strictEqual(status, 200);
            assert.deepStrictEqual({ ...body, instance: undefined }, { status: 'ok', rooms: 1, sockets: server === a ? 2 : 1, redis: 'ok', instance: undefined });
            assert.strictEqual(body.instance, server.instanceId);
        }
        // Joining twice through the other instance is still refused by the room's own rules.
        const unknown = await (await client(b, 'Lost')).client.request('room:join', { roomId: 'B'.repeat(22), publicKey: publicKey() });
        assert.strictEqual(unknown.error.code, 'not-found');
    });

    it('relays every kind of envelope across instances', async () => {
        const a = await instance();
        const b = await instance();
        const room = await crossRoom(a, [b, a]);
        const host = room.host.client;
        const [onB, onA] = room.guests.map(guest => guest.client);
        const [idB, idA] = room.guests.map(guest => guest.peerId);

        // Broadcast from B reaches the host and the guest on A, not the sender.
        const data = bytes(5000);
        assert.deepStrictEqual(await onB.request('relay', envelope(room.roomId, { kind: 'broadcast', seq: 7, data })), { ok: true });
        for (const receiver of [host, onA]) {
            const relayed = await receiver.waitFor('relay');
            assert.deepStrictEqual([relayed.kind, relayed.sender, relayed.seq], ['broadcast', idB, 7]);
            assert.deepStrictEqual(new Uint8Array(relayed.data), data);
        }
        await expectNone([onB], 'relay');

        // Request from B to the host on A (default target), response back to B only.
        await onB.request('relay', envelope(room.roomId, { kind: 'request', id: 1 }));
        const request = await host.waitFor('relay');
        assert.deepStrictEqual([request.kind, request.id, request.sender, request.target], ['request', 1, idB, room.host.peerId]);
        const wrong = await onA.request('relay', envelope(room.roomId, { kind: 'response', id: 1, target: idB }));
        assert.strictEqual(wrong.error.code, 'not-found');
        assert.deepStrictEqual(await host.request('relay', envelope(room.roomId, { kind: 'response', id: 1, target: idB })), { ok: true });
        const response = await onB.waitFor('relay');
        assert.deepStrictEqual([response.kind, response.id, response.sender, response.error], ['response', 1, room.host.peerId, undefined]);
        const twice = await host.request('relay', envelope(room.roomId, { kind: 'response', id: 1, target: idB }));
        assert.strictEqual(twice.error.code, 'not-found');

        // Request from A to the guest on B, answered from B.
        await onA.request('relay', envelope(room.roomId, { kind: 'request', id: 5, target: idB }));
        assert.strictEqual((await onB.waitFor('relay')).id, 5);
        await onB.request('relay', envelope(room.roomId, { kind: 'response', id: 5, target: idA }));
        assert.deepStrictEqual([(await onA.waitFor('relay')).sender], [idB]);

        // Notification from the host on A to the guest on B.
        await host.request('relay', envelope(room.roomId, { kind: 'notification', target: idB }));
        const notification = await onB.waitFor('relay');
        assert.deepStrictEqual([notification.kind, notification.sender, notification.target], ['notification', room.host.peerId, idB]);
        await expectNone([host, onA, onB], 'relay');

        // A request across instances nobody answers times out (400 ms).
        const started = Date.now();
        await onB.request('relay', envelope(room.roomId, { kind: 'request', id: 2, target: idA }));
        await onA.waitFor('relay');
        const timeout = await onB.waitFor('relay', undefined, 3000);
        assert.ok(Date.now() - started >= 350, 'timed out too early');
        assert.deepStrictEqual([timeout.kind, timeout.id, timeout.sender, timeout.error.code], ['response', 2, idA, 'timeout']);
        const late = await onA.request('relay', envelope(room.roomId, { kind: 'response', id: 2, target: idB }));
        assert.strictEqual(late.error.code, 'not-found');

        // The asked peer on A leaves: the requester on B gets 'disconnected'.
        await onB.request('relay', envelope(room.roomId, { kind: 'request', id: 3, target: idA }));
        await onA.waitFor('relay');
        onA.close();
        const gone = await onB.waitFor('relay', undefined, 3000);
        assert.deepStrictEqual([gone.id, gone.error.code], [3, 'disconnected']);
        assert.strictEqual((await host.waitFor('room:peer-left')).peerId, idA);
    });

    it('changes permissions, distributes keys and removes guests across instances', async () => {
        const a = await instance();
        const b = await instance();
        const room = await crossRoom(a, [b, b]);
        const host = room.host.client;
        const [first, second] = room.guests;

        assert.deepStrictEqual(await host.request('room:set-permission', { roomId: room.roomId, peerId: first.peerId, permission: 'readonly' }), { ok: true });
        for (const member of [host, first.client, second.client]) {
            assert.deepStrictEqual(await member.waitFor('room:permission-changed'), { roomId: room.roomId, peerId: first.peerId, permission: 'readonly' });
        }

        const keyMaterial = bytes(60);
        await host.request('room:rekey', { roomId: room.roomId, keyId: 2, keys: [{ peerId: second.peerId, keyMaterial }] });
        const key = await second.client.waitFor('room:key');
        assert.deepStrictEqual([key.keyId, key.from], [2, room.host.peerId]);
        assert.deepStrictEqual(new Uint8Array(key.keyMaterial), keyMaterial);
        await expectNone([first.client], 'room:key');

        assert.deepStrictEqual(await host.request('room:remove', { roomId: room.roomId, peerId: first.peerId }), { ok: true });
        assert.strictEqual((await first.client.waitFor('room:closed')).reason, 'removed');
        for (const member of [host, second.client]) {
            assert.deepStrictEqual(await member.waitFor('room:peer-left'), { roomId: room.roomId, peerId: first.peerId, reason: 'removed' });
        }
        // The removed guest's socket on B no longer speaks for the peer nor hears the room.
        const relay = await first.client.request('relay', envelope(room.roomId, { kind: 'broadcast' }));
        assert.strictEqual(relay.error.code, 'not-member');
        await host.request('relay', envelope(room.roomId, { kind: 'broadcast' }));
        await second.client.waitFor('relay');
        await expectNone([first.client], 'relay');
        // Nor can it resume with its room token.
        const again = await client(b, 'Guest 1', first.token, first.roomToken);
        assert.strictEqual((await again.client.waitFor('room:closed')).reason, 'removed');
        await expectNone([again.client], 'room:resumed', 50);
    });

    it('denies, cancels and closes across instances', async () => {
        const a = await instance();
        const b = await instance();
        const room = await crossRoom(a, [b]);
        const host = room.host.client;

        const denied = await client(b, 'Denied');
        await denied.client.request('room:join', { roomId: room.roomId, publicKey: publicKey() });
        const request = await host.waitFor('room:join-request');
        await host.request('room:deny', { roomId: room.roomId, requestId: request.requestId, reason: 'No' });
        assert.deepStrictEqual(await denied.client.waitFor('room:denied'), { roomId: room.roomId, reason: 'No' });
        assert.strictEqual((await denied.client.request('room:leave', { roomId: room.roomId })).error.code, 'not-member');

        const waiting = await client(b, 'Waiting');
        const joined = await waiting.client.request('room:join', { roomId: room.roomId, publicKey: publicKey() });
        await host.waitFor('room:join-request');
        waiting.client.close();
        assert.deepStrictEqual(await host.waitFor('room:join-cancelled'), { roomId: room.roomId, requestId: joined.requestId });

        // The guest on B leaves; then the host's socket on A goes away: the room closes for the rest.
        const late = await admit(host, room.roomId, b, 'Late');
        assert.deepStrictEqual(await room.guests[0].client.request('room:leave', { roomId: room.roomId }), { ok: true });
        assert.deepStrictEqual(await host.waitFor('room:peer-left', event => event.peerId === room.guests[0].peerId), {
            roomId: room.roomId, peerId: room.guests[0].peerId, reason: 'left'
        });
        host.close();
        const closed = await late.client.waitFor('room:closed');
        assert.strictEqual(closed.reason, 'host-left');
        await settle(100);
        assert.strictEqual((await health(b)).body.rooms, 0);
    });

    it('goes on when an instance restarts: members resume with their room tokens', async () => {
        let a = await instance();
        const b = await instance();
        const room = await crossRoom(a, [b, a]);
        const [onB, onA] = room.guests;

        await a.close();
        for (const member of [room.host, onA]) {
            const notice = await member.client.waitFor('server:shutdown');
            assert.strictEqual(notice.resume, true);
            await member.client.waitFor('disconnect');
        }
        await expectNone([onB.client], 'room:closed');
        await expectNone([onB.client], 'room:peer-left', 0);
        assert.strictEqual((await health(b)).body.rooms, 1);

        // A starts again (same Redis, same secret); the host comes back there, the guest goes to B.
        a = await instance();
        const host = await client(a, 'Host', room.host.token, room.host.roomToken);
        const resumed = await host.client.waitFor('room:resumed');
        assert.strictEqual(resumed.roomId, room.roomId);
        assert.deepStrictEqual([resumed.self.id, resumed.self.role], [room.host.peerId, 'host']);
        assert.deepStrictEqual(resumed.peers.map((peer: any) => peer.id), [room.host.peerId, onB.peerId, onA.peerId]);
        assert.deepStrictEqual(resumed.pending, []);
        const guest = await client(b, 'Guest 2', onA.token, onA.roomToken);
        assert.strictEqual((await guest.client.waitFor('room:resumed')).self.id, onA.peerId);

        // Everything works as before.
        await host.client.request('relay', envelope(room.roomId, { kind: 'broadcast', seq: 100 }));
        for (const receiver of [onB.client, guest.client]) {
            const relayed = await receiver.waitFor('relay');
            assert.deepStrictEqual([relayed.sender, relayed.seq], [room.host.peerId, 100]);
        }
        await onB.client.request('relay', envelope(room.roomId, { kind: 'request', id: 1 }));
        assert.strictEqual((await host.client.waitFor('relay')).sender, onB.peerId);
        await host.client.request('relay', envelope(room.roomId, { kind: 'response', id: 1, target: onB.peerId }));
        assert.strictEqual((await onB.client.waitFor('relay')).kind, 'response');
        const newcomer = await admit(host.client, room.roomId, b, 'Newcomer');
        assert.strictEqual((await guest.client.waitFor('room:peer-joined')).peer.id, newcomer.peerId);

        // A live member is not taken over by a second connection with its room token.
        const second = await client(b, 'Host', room.host.token, room.host.roomToken);
        await expectNone([second.client], 'room:resumed');
        const create = await second.client.request('room:create', { publicKey: publicKey() });
        assert.strictEqual(create.error.code, 'forbidden');

        await host.client.request('room:leave', { roomId: room.roomId });
        for (const member of [onB.client, guest.client, newcomer.client]) {
            assert.strictEqual((await member.waitFor('room:closed')).reason, 'host-left');
        }
    });

    it('removes members that do not come back in time, and closes the room without its host', async () => {
        const a = await instance({ resumeGraceMs: 300, sweepIntervalMs: 50 });
        const b = await instance({ resumeGraceMs: 300, sweepIntervalMs: 50 });
        const c = await instance({ resumeGraceMs: 300, sweepIntervalMs: 50 });
        const room = await crossRoom(b, [a, c]);
        const [onA, onC] = room.guests;
        await a.close();
        assert.deepStrictEqual(await room.host.client.waitFor('room:peer-left', undefined, 5000), { roomId: room.roomId, peerId: onA.peerId, reason: 'disconnected' });
        assert.strictEqual((await onC.client.waitFor('room:peer-left')).peerId, onA.peerId);
        // Too late: the room says so.
        const late = await client(c, 'Guest 1', onA.token, onA.roomToken);
        assert.strictEqual((await late.client.waitFor('room:closed')).reason, 'removed');

        await b.close();
        assert.strictEqual((await onC.client.waitFor('room:closed', undefined, 5000)).reason, 'host-left');
        const host = await client(c, 'Host', room.host.token, room.host.roomToken);
        assert.strictEqual((await host.client.waitFor('room:closed')).reason, 'host-left');
    });

    it('times out a request whose instance stopped, for the requester resumed elsewhere', async () => {
        const a = await instance({ sweepIntervalMs: 100, requestTimeoutMs: 1000 });
        const b = await instance({ sweepIntervalMs: 100, requestTimeoutMs: 1000 });
        const room = await crossRoom(b, [a]);
        const [guest] = room.guests;
        await guest.client.request('relay', envelope(room.roomId, { kind: 'request', id: 77 }));
        await room.host.client.waitFor('relay');
        await a.close();
        const resumed = await client(b, 'Guest 1', guest.token, guest.roomToken);
        await resumed.client.waitFor('room:resumed');
        const response = await resumed.client.waitFor('relay', undefined, 5000);
        assert.deepStrictEqual([response.kind, response.id, response.error.code], ['response', 77, 'timeout']);
    });

    it('detaches the members of an instance that dies, and removes them after the grace period', async () => {
        const a = await instance({ resumeGraceMs: 300, sweepIntervalMs: 100, requestTimeoutMs: 20_000 });
        // A real server process, killed without a chance to clean up.
        const child = spawn(process.execPath, [BIN, '--port', '0', '--redis', redis.url, '--log-level', 'info'], {
            env: { PATH: process.env.PATH ?? '', COLLAB_SECRET: secret, COLLAB_REDIS_PREFIX: prefix },
            stdio: ['ignore', 'pipe', 'pipe']
        });
        processes.push(child);
        let output = '';
        const url = await new Promise<string>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`no listening line: ${output}`)), 10_000);
            child.stdout!.on('data', chunk => {
                output += chunk;
                const match = /"url":"(http:\/\/127\.0\.0\.1:\d+)".*collab-server listening/.exec(output);
                if (match) {
                    clearTimeout(timer);
                    resolve(match[1]);
                }
            });
        });
        const room = await crossRoom(a, [url]);
        const [guest] = room.guests;
        await room.host.client.request('relay', envelope(room.roomId, { kind: 'request', id: 9, target: guest.peerId }));
        await guest.client.waitFor('relay');
        child.kill('SIGKILL');
        // Found dead after three missed heartbeats (2 s each), then the grace period.
        const left = await room.host.client.waitFor('room:peer-left', undefined, 15_000);
        assert.deepStrictEqual(left, { roomId: room.roomId, peerId: guest.peerId, reason: 'disconnected' });
        const failed = await room.host.client.waitFor('relay');
        assert.deepStrictEqual([failed.id, failed.error.code], [9, 'disconnected']);
        assert.ok(!output.includes('"level":50'), output);
    });

    it('closes expired rooms once, whichever instance sweeps', async () => {
        const a = await instance({ roomTtlMs: 600, sweepIntervalMs: 50 });
        const b = await instance({ roomTtlMs: 600, sweepIntervalMs: 50 });
        const room = await crossRoom(a, [b, a, b]);
        const members = [room.host, ...room.guests].map(member => member.client);
        for (const member of members) {
            assert.strictEqual((await member.waitFor('room:closed', undefined, 5000)).reason, 'expired');
        }
        await expectNone(members, 'room:closed', 300);
        assert.strictEqual((await health(a)).body.rooms, 0);
    });

    it('reports relayed traffic and refusals in /metrics', async () => {
        const a = await instance();
        const b = await instance();
        const room = await crossRoom(a, [b, b]);
        const [first, second] = room.guests;
        await first.client.request('relay', envelope(room.roomId, { kind: 'broadcast', data: bytes(1000) }));
        await first.client.request('relay', envelope(room.roomId, { kind: 'request', id: 1 }));
        await room.host.client.waitFor('relay');
        await room.host.client.waitFor('relay');
        await room.host.client.request('relay', envelope(room.roomId, { kind: 'response', id: 1, target: first.peerId, data: bytes(10) }));
        await room.host.client.request('relay', envelope(room.roomId, { kind: 'notification', target: second.peerId, data: bytes(20) }));
        await second.client.request('relay', { room: room.roomId, kind: 'broadcast' });
        await second.client.request('room:set-permission', { roomId: room.roomId, peerId: first.peerId, permission: 'readonly' });
        await settle(100);

        const metricsOf = async (server: ServerHandle) => {
            const response = await fetch(`${server.url}/metrics`);
            assert.strictEqual(response.status, 200);
            assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
            const values = new Map<string, number>();
            for (const line of (await response.text()).split('\n')) {
                const match = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
                if (match) {
                    values.set(match[1], Number(match[2]));
                }
            }
            return values;
        };
        const onA = await metricsOf(a);
        const onB = await metricsOf(b);
        assert.strictEqual(onB.get('collab_relayed_messages_total{kind="broadcast"}'), 1);
        assert.strictEqual(onB.get('collab_relayed_bytes_total{kind="broadcast"}'), 1000);
        assert.strictEqual(onB.get('collab_relayed_messages_total{kind="request"}'), 1);
        assert.strictEqual(onA.get('collab_relayed_messages_total{kind="response"}'), 1);
        assert.strictEqual(onA.get('collab_relayed_bytes_total{kind="response"}'), 10);
        assert.strictEqual(onA.get('collab_relayed_messages_total{kind="notification"}'), 1);
        assert.strictEqual(onA.get('collab_relayed_messages_total{kind="broadcast"}'), 0);
        assert.strictEqual(onB.get('collab_relay_duration_seconds_count{kind="broadcast"}'), 1);
        assert.ok(onB.get('collab_relay_duration_seconds_bucket{le="1",kind="broadcast"}') === 1);
        assert.strictEqual(onB.get('collab_rejected_events_total{event="relay",reason="bad-request"}'), 1);
        assert.strictEqual(onB.get('collab_rejected_events_total{event="room:set-permission",reason="forbidden"}'), 1);
        assert.strictEqual(onA.get('collab_connected_sockets'), 1);
        assert.strictEqual(onB.get('collab_connected_sockets'), 2);
        for (const values of [onA, onB]) {
            assert.strictEqual(values.get('collab_rooms'), 1);
            assert.strictEqual(values.get('collab_room_members_count'), 1);
            assert.strictEqual(values.get('collab_room_members_bucket{le="2"}'), 0);
            assert.strictEqual(values.get('collab_room_members_bucket{le="3"}'), 1);
            assert.strictEqual(values.get('collab_room_members_sum'), 3);
        }
        assert.ok((onA.get('process_resident_memory_bytes') ?? 0) > 0);
    });

    it('reports readiness with Redis, and 503 once Redis is gone', async () => {
        const own = await startRedis();
        try {
            const server = await startTestServer({ redisUrl: own.url, secret });
            servers.push(server);
            assert.strictEqual((await health(server)).status, 200);
            await own.stop();
            const down = await health(server);
            assert.strictEqual(down.status, 503);
            assert.strictEqual(down.body.status, 'unavailable');
            assert.strictEqual(down.body.redis, 'down');
            assert.deepStrictEqual(await (await fetch(`${server.url}/health/live`)).json(), { status: 'ok' });
            // Events fail cleanly meanwhile.
            const member = await connect(server, { name: 'Someone' }).catch(error => error);
            if (member instanceof TestClient) {
                clients.push(member);
                const created = await member.request('room:create', { publicKey: publicKey() });
                assert.strictEqual(created.ok, false);
            }
        } finally {
            await own.stop();
        }
    });

    it('refuses to start when Redis cannot be reached', async () => {
        const started = Date.now();
        await assert.rejects(startTestServer({ redisUrl: 'redis://127.0.0.1:1', secret }), /Cannot connect to Redis at redis:\/\/127\.0\.0\.1:1.*ECONNREFUSED/);
        assert.ok(Date.now() - started < 3000);
    });
});
