/**
 * The replay window and `room:replay`, through real servers and raw socket.io clients: alone (in memory) and
 * two instances sharing a real Redis (the member resumes on the other instance).
 */
import * as assert from 'assert';
import * as crypto from 'crypto';
import type { Socket as NetSocket } from 'net';
import type { ServerOptions } from './config';
import { startRedis, TestRedis } from './redis-test-support';
import type { ServerHandle } from './server';
import { bytes, connect, login, publicKey, settle, startTestServer, TestClient } from './test-support';

interface Member {
    name: string;
    client: TestClient;
    peerId: string;
    token: string;
    roomToken: string;
}

interface Room {
    roomId: string;
    host: Member;
    guests: Member[];
}

/** An envelope as compared: data as hex. */
function plain(envelope: any): any {
    const result: any = { ...envelope, data: Buffer.from(envelope.data).toString('hex') };
    return result;
}

function metricValue(text: string, name: string): number | undefined {
    const line = text.split('\n').find(item => item.startsWith(`${name} `));
    return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

/** Scenarios run alone (one server for everyone) and across two instances with Redis. */
function scenarios(setup: {
    /** Starts the servers for a test; `[first, second]` (the same one twice when alone). */
    start(options?: Partial<ServerOptions>): Promise<[ServerHandle, ServerHandle]>;
    shared: boolean;
}): void {
    let clients: TestClient[];
    const frozen: NetSocket[] = [];

    beforeEach(() => {
        clients = [];
    });

    afterEach(() => {
        frozen.splice(0).forEach(socket => socket.destroy());
        clients.forEach(client => client.close());
    });

    async function member(server: ServerHandle, name: string, auth?: Record<string, unknown>, token?: string): Promise<{ client: TestClient; token: string }> {
        const loginToken = token ?? (await login(server, name)).token;
        const client = await connect(server, { name, token: loginToken, auth, recordFromStart: true });
        clients.push(client);
        return { client, token: loginToken };
    }

    async function makeRoom(hostServer: ServerHandle, guestServers: ServerHandle[], beforeGuests?: (host: Member, roomId: string) => Promise<void>): Promise<Room> {
        const host = await member(hostServer, 'Host');
        const created = await host.client.request('room:create', { publicKey: publicKey() });
        assert.strictEqual(created.ok, true);
        const room: Room = { roomId: created.roomId, host: { name: 'Host', client: host.client, peerId: created.peer.id, token: host.token, roomToken: created.roomToken }, guests: [] };
        await beforeGuests?.(room.host, room.roomId);
        for (const [index, server] of guestServers.entries()) {
            const name = `Guest ${index + 1}`;
            const guest = await member(server, name);
            const joined = await guest.client.request('room:join', { roomId: room.roomId, publicKey: publicKey() });
            assert.strictEqual(joined.ok, true);
            await host.client.waitFor('room:join-request', event => event.requestId === joined.requestId);
            assert.deepStrictEqual(await host.client.request('room:admit', {
                roomId: room.roomId, requestId: joined.requestId, permission: 'readwrite', keyMaterial: bytes(48), keyId: 1
            }), { ok: true });
            const admitted = await guest.client.waitFor('room:admitted');
            room.guests.push({ name, client: guest.client, peerId: joined.peerId, token: guest.token, roomToken: admitted.roomToken });
        }
        await settle(100);
        [room.host, ...room.guests].forEach(item => item.client.clear());
        return room;
    }

    function envelope(roomId: string, fields: Record<string, unknown>): Record<string, unknown> {
        return { room: roomId, key: 1, data: bytes(40 + Math.floor(Math.random() * 40)), ...fields };
    }

    /** Sends and waits until `witness` got it (so that relay order is the order of the calls). */
    async function send(from: Member, witness: Member | undefined, roomId: string, fields: Record<string, unknown>): Promise<any> {
        assert.deepStrictEqual(await from.client.request('relay', envelope(roomId, fields)), { ok: true });
        return witness?.client.waitFor('relay', event => event.sender === from.peerId && event.seq === fields.seq);
    }

    /** The member's connection drops in a way the server notices at once (transport closed). */
    async function drop(dropping: Member, observer: Member): Promise<void> {
        (dropping.client.socket.io as any).engine.close();
        await observer.client.waitFor('room:peer-status', event => event.peerId === dropping.peerId && event.status === 'reconnecting');
    }

    /** The member's network goes silent: the server does not notice (its writes still succeed); the client reads nothing. */
    function freeze(dropping: Member): string {
        const socket = (dropping.client.socket.io as any).engine.transport.ws._socket as NetSocket;
        socket.pause();
        frozen.push(socket);
        return dropping.client.socket.id!;
    }

    async function resume(server: ServerHandle, resuming: Member, previousSocketId?: string): Promise<TestClient> {
        const { client } = await member(server, resuming.name, { roomToken: resuming.roomToken, ...previousSocketId ? { previousSocketId } : {} }, resuming.token);
        const resumed = await client.waitFor('room:resumed');
        assert.strictEqual(resumed.self.id, resuming.peerId);
        return client;
    }

    it('gives a member whose connection dropped exactly what it missed, in relay order, as delivered', async () => {
        const [a, b] = await setup.start();
        const room = await makeRoom(a, [b, a, b], async (host, roomId) => {
            // Before anyone joined: not meant for the guests.
            assert.deepStrictEqual(await host.client.request('relay', envelope(roomId, { kind: 'broadcast', seq: 1 })), { ok: true });
        });
        const { host } = room;
        const [away, witness, third] = room.guests;
        // What the member has before its connection drops.
        await send(host, away, room.roomId, { kind: 'broadcast', seq: 2 });
        await send(witness, away, room.roomId, { kind: 'broadcast', seq: 1 });
        await send(host, away, room.roomId, { kind: 'notification', seq: 3, target: away.peerId });
        await send(away, witness, room.roomId, { kind: 'broadcast', seq: 1 });
        await drop(away, host);

        // What it misses.
        const missed = [
            await send(host, witness, room.roomId, { kind: 'broadcast', seq: 4 }),
            await send(witness, host, room.roomId, { kind: 'broadcast', seq: 2 }),
            await send(third, witness, room.roomId, { kind: 'broadcast', seq: 1 }),
            await send(host, witness, room.roomId, { kind: 'broadcast', seq: 5 })
        ];
        // Not for it: targeted at others.
        await send(host, witness, room.roomId, { kind: 'notification', seq: 6, target: witness.peerId });
        await send(witness, host, room.roomId, { kind: 'request', seq: 3, id: 1 });
        // Targeted at it while it is reconnecting: refused as before (the window is for what was relayed).
        const refused = await host.client.request('relay', envelope(room.roomId, { kind: 'notification', seq: 7, target: away.peerId }));
        assert.strictEqual(refused.error.code, 'disconnected');

        const back = await resume(a, away);
        const replay = await back.request('room:replay', { roomId: room.roomId, after: { [host.peerId]: 3, [witness.peerId]: 1 } });
        assert.strictEqual(replay.ok, true, JSON.stringify(replay));
        assert.strictEqual(replay.complete, true);
        assert.deepStrictEqual(replay.envelopes.map(plain), missed.map(plain));
        assert.deepStrictEqual(replay.envelopes.map((item: any) => Object.keys(item).sort()), missed.map(() => ['data', 'key', 'kind', 'room', 'sender', 'seq']));

        // Without `after`: everything meant for it since it joined (what it had too), never its own, never others'.
        const all = await back.request('room:replay', { roomId: room.roomId, after: {} });
        assert.deepStrictEqual(all.envelopes.map((item: any) => [item.sender, item.kind, item.seq, item.target]), [
            [host.peerId, 'broadcast', 2, undefined],
            [witness.peerId, 'broadcast', 1, undefined],
            [host.peerId, 'notification', 3, away.peerId],
            [host.peerId, 'broadcast', 4, undefined],
            [witness.peerId, 'broadcast', 2, undefined],
            [third.peerId, 'broadcast', 1, undefined],
            [host.peerId, 'broadcast', 5, undefined]
        ]);
        assert.strictEqual(all.complete, true);
        // Up to date: nothing.
        const none = await back.request('room:replay', { roomId: room.roomId, after: { [host.peerId]: 5, [witness.peerId]: 2, [third.peerId]: 1 } });
        assert.deepStrictEqual([none.envelopes, none.complete], [[], true]);
        // And the session goes on.
        await send(host, { ...away, client: back }, room.roomId, { kind: 'broadcast', seq: 8 });
    });

    it('leaves out what reached the resumed connection live', async () => {
        const [a, b] = await setup.start();
        const room = await makeRoom(a, [b, a]);
        const { host } = room;
        const [away, witness] = room.guests;
        await drop(away, host);
        await send(host, witness, room.roomId, { kind: 'broadcast', seq: 1 });
        const back = await resume(a, away);
        const backMember = { ...away, client: back };
        // Right after resuming: live. One instance knows exactly; several allow for their clocks (it may come twice).
        await send(host, backMember, room.roomId, { kind: 'broadcast', seq: 2 });
        await settle(1200);
        // Well after: live, and never in the answer.
        await send(host, backMember, room.roomId, { kind: 'broadcast', seq: 3 });
        const replay = await back.request('room:replay', { roomId: room.roomId, after: {} });
        assert.deepStrictEqual(replay.envelopes.map((item: any) => item.seq), setup.shared ? [1, 2] : [1]);
        assert.strictEqual(replay.complete, true);
    });

    it('replays messages targeted at a connection that died unnoticed, to their target only', async () => {
        const [a, b] = await setup.start();
        const room = await makeRoom(a, [b, a]);
        const { host } = room;
        const [away, other] = room.guests;
        await send(host, away, room.roomId, { kind: 'broadcast', seq: 1 });
        const previous = freeze(away);
        const missed = [
            await send(host, undefined, room.roomId, { kind: 'notification', seq: 2, target: away.peerId }),
            await send(host, undefined, room.roomId, { kind: 'request', seq: 3, id: 41, target: away.peerId }),
            await send(other, host, room.roomId, { kind: 'broadcast', seq: 1 })
        ];
        await send(other, host, room.roomId, { kind: 'notification', seq: 2 });
        await send(host, other, room.roomId, { kind: 'notification', seq: 4, target: other.peerId });
        await settle(100);

        // It comes back through the other instance, naming its dead connection.
        const back = await resume(a, away, previous);
        const replay = await back.request('room:replay', { roomId: room.roomId, after: { [host.peerId]: 1 } });
        assert.strictEqual(replay.complete, true);
        assert.deepStrictEqual(replay.envelopes.map((item: any) => [item.sender, item.kind, item.seq, item.target, item.id]), [
            [host.peerId, 'notification', 2, away.peerId, undefined],
            [host.peerId, 'request', 3, away.peerId, 41],
            [other.peerId, 'broadcast', 1, undefined, undefined]
        ]);
        assert.deepStrictEqual(replay.envelopes.slice(2).map(plain), missed.slice(2).map(plain));
        // The request still waits for its answer: the member answers it now.
        assert.deepStrictEqual(await back.request('relay', envelope(room.roomId, { kind: 'response', seq: 1, id: 41, target: host.peerId })), { ok: true });
        const response = await host.client.waitFor('relay', event => event.kind === 'response');
        assert.deepStrictEqual([response.sender, response.id], [away.peerId, 41]);
        // The other guest's replay holds what was meant for it, and nothing of the member's.
        const others = await other.client.request('room:replay', { roomId: room.roomId, after: {} });
        assert.deepStrictEqual(others.envelopes.map((item: any) => [item.sender, item.kind, item.seq]), [
            [host.peerId, 'broadcast', 1], [host.peerId, 'notification', 4]
        ]);
    });

    it('says complete: false when what the member missed aged out of the window, true when only older envelopes did', async () => {
        const [a, b] = await setup.start({ replayWindowMs: 600 });
        const room = await makeRoom(a, [b, a]);
        const { host } = room;
        const [away, later] = room.guests;
        await send(host, away, room.roomId, { kind: 'broadcast', seq: 1 });
        // This one ages out before the member's connection drops: it had it, the answer is still complete.
        await settle(800);
        await drop(away, host);
        await send(host, later, room.roomId, { kind: 'broadcast', seq: 2 });
        const back = await resume(b, away);
        const fine = await back.request('room:replay', { roomId: room.roomId, after: { [host.peerId]: 1 } });
        assert.deepStrictEqual([fine.envelopes.map((item: any) => item.seq), fine.complete], [[2], true]);

        // The other guest's connection drops; what it misses ages out before it is back.
        await drop(later, host);
        await send(host, undefined, room.roomId, { kind: 'broadcast', seq: 3 });
        await settle(800);
        await send(host, undefined, room.roomId, { kind: 'broadcast', seq: 4 });
        const again = await resume(a, later);
        const partial = await again.request('room:replay', { roomId: room.roomId, after: { [host.peerId]: 2 } });
        assert.deepStrictEqual([partial.envelopes.map((item: any) => item.seq), partial.complete], [[4], false]);
    });

    it('says complete: false when what the member missed left the window for its bytes', async () => {
        const size = 1000;
        const [a, b] = await setup.start({ replayWindowBytesPerRoom: 3 * (size + 256) });
        const room = await makeRoom(a, [b, a]);
        const { host } = room;
        const [away, witness] = room.guests;
        await drop(away, host);
        for (let seq = 1; seq <= 5; seq++) {
            assert.deepStrictEqual(await host.client.request('relay', { room: room.roomId, kind: 'broadcast', seq, key: 1, data: bytes(size) }), { ok: true });
            await witness.client.waitFor('relay', event => event.seq === seq);
        }
        const back = await resume(a, away);
        const replay = await back.request('room:replay', { roomId: room.roomId, after: {} });
        assert.deepStrictEqual([replay.envelopes.map((item: any) => item.seq), replay.complete], [[3, 4, 5], false]);
        // The witness missed nothing: its view is complete (it never dropped; the window holds the last three).
        const full = await witness.client.request('room:replay', { roomId: room.roomId, after: { [host.peerId]: 5 } });
        assert.deepStrictEqual([full.envelopes, full.complete], [[], false], 'evicted since it joined: not complete for a member that never dropped either');
    });

    it('answers room:replay to members only, validates it, and reports the window in /metrics', async () => {
        const [a, b] = await setup.start();
        const room = await makeRoom(a, [b]);
        const { host } = room;
        const [guest] = room.guests;
        const outsider = await member(a, 'Outsider');
        assert.strictEqual((await outsider.client.request('room:replay', { roomId: room.roomId, after: {} })).error.code, 'not-member');
        for (const malformed of [{ roomId: room.roomId }, { roomId: room.roomId, after: { 'not an id!': 1 } }, { roomId: room.roomId, after: { x: -1 } }, { roomId: 'x', after: {} }]) {
            assert.strictEqual((await guest.client.request('room:replay', malformed)).error.code, 'bad-request', JSON.stringify(malformed));
        }
        const sizes = [100, 2000, 30];
        for (const [index, size] of sizes.entries()) {
            await host.client.request('relay', { room: room.roomId, kind: 'broadcast', seq: index + 1, key: 1, data: bytes(size) });
            await guest.client.waitFor('relay', event => event.seq === index + 1);
        }
        await host.client.request('relay', { room: room.roomId, kind: 'notification', seq: 10, key: 1, target: guest.peerId, data: bytes(5) });
        await guest.client.waitFor('relay', event => event.seq === 10);
        await settle(100);
        const held = sizes.reduce((sum, size) => sum + size + 256, 0) + 5 + 256;
        assert.deepStrictEqual((await guest.client.request('room:replay', { roomId: room.roomId, after: {} })).envelopes.length, 4);
        for (const server of setup.shared ? [a, b] : [a]) {
            const text = await (await fetch(`${server.url}/metrics`)).text();
            assert.strictEqual(metricValue(text, 'collab_replay_window_bytes'), held, text);
            assert.strictEqual(metricValue(text, 'collab_replay_window_entries'), 4);
        }
        const replaysOn = (await (await fetch(`${b.url}/metrics`)).text());
        assert.strictEqual(metricValue(replaysOn, 'collab_replays_total{complete="true"}'), 1);
        assert.strictEqual(metricValue(replaysOn, 'collab_replayed_envelopes_total'), 4);

        // The window goes with the room.
        assert.deepStrictEqual(await host.client.request('room:leave', { roomId: room.roomId }), { ok: true });
        await guest.client.waitFor('room:closed');
        await settle(300);
        const after = await (await fetch(`${a.url}/metrics`)).text();
        assert.strictEqual(metricValue(after, 'collab_replay_window_bytes'), 0);
        assert.strictEqual(metricValue(after, 'collab_replay_window_entries'), 0);
    });

    it('keeps nothing with a window of 0: the answer is empty and not complete', async () => {
        const [a, b] = await setup.start({ replayWindowMs: 0 });
        const room = await makeRoom(a, [b]);
        await send(room.host, room.guests[0], room.roomId, { kind: 'broadcast', seq: 1 });
        const replay = await room.guests[0].client.request('room:replay', { roomId: room.roomId, after: {} });
        assert.deepStrictEqual(replay, { ok: true, envelopes: [], complete: false });
    });
}

describe('replay window', function () {
    this.timeout(30_000);

    describe('one server', () => {
        let servers: ServerHandle[] = [];

        scenarios({
            shared: false,
            async start(options = {}) {
                const server = await startTestServer(options);
                servers.push(server);
                return [server, server];
            }
        });

        afterEach(async () => {
            await Promise.all(servers.splice(0).map(server => server.close()));
        });

        it('bounds all rooms of the instance together: the oldest envelopes of any room go first', async () => {
            const size = 1000;
            const server = await startTestServer({ replayWindowBytes: 4 * (size + 256) });
            servers.push(server);
            const first = await connect(server, { name: 'First' });
            const second = await connect(server, { name: 'Second' });
            try {
                const one = (await first.request('room:create', { publicKey: publicKey() })).roomId;
                const two = (await second.request('room:create', { publicKey: publicKey() })).roomId;
                for (let seq = 1; seq <= 3; seq++) {
                    await first.request('relay', { room: one, kind: 'broadcast', seq, key: 1, data: bytes(size) });
                }
                for (let seq = 1; seq <= 3; seq++) {
                    await second.request('relay', { room: two, kind: 'broadcast', seq, key: 1, data: bytes(size) });
                }
                const stats = await server.replayWindow.stats(async () => []);
                assert.deepStrictEqual(stats, { bytes: 4 * (size + 256), entries: 4 });
                // The first room's two oldest went; what the first room lost makes its answers incomplete.
                const read = (roomId: string) => server.replayWindow.read({ roomId, requester: 'someone', after: new Map(), joinedAt: 0, maxBytes: 1e9 });
                const ofOne = await read(one);
                const ofTwo = await read(two);
                assert.deepStrictEqual([ofOne.envelopes.map(item => item.seq), ofOne.complete], [[3], false]);
                assert.deepStrictEqual([ofTwo.envelopes.map(item => item.seq), ofTwo.complete], [[1, 2, 3], true]);
            } finally {
                first.close();
                second.close();
            }
        });
    });

    describe('two instances with Redis', () => {
        let redis: TestRedis;
        const secret = crypto.randomBytes(32).toString('base64url');
        let testNumber = 0;
        let servers: ServerHandle[] = [];

        before(async () => {
            redis = await startRedis();
        });

        after(async () => {
            await redis?.stop();
        });

        scenarios({
            shared: true,
            async start(options = {}) {
                const prefix = `replay${++testNumber}:`;
                for (let i = 0; i < 2; i++) {
                    servers.push(await startTestServer({ redisUrl: redis.url, redisPrefix: prefix, secret, ...options }));
                }
                return [servers[0], servers[1]];
            }
        });

        afterEach(async () => {
            await Promise.all(servers.splice(0).map(server => server.close()));
        });
    });
});
