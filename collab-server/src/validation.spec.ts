import * as assert from 'assert';
import type { ServerHandle } from './server';
import { Limits } from '@theia-collab/protocol/lib/wire';
import { admitGuest, bytes, connect, createRoom, expectNone, publicKey, startTestServer, TestClient } from './test-support';

/** A server configured below the protocol's payload limit (the lowest it allows). */
const PAYLOAD_LIMIT = Limits.minPayloadBytes;

describe('input validation', () => {
    let server: ServerHandle;
    let clients: TestClient[];

    beforeEach(async () => {
        server = await startTestServer({ maxPayloadBytes: PAYLOAD_LIMIT });
        clients = [];
    });

    afterEach(async () => {
        clients.forEach(client => client.close());
        await server.close();
    });

    /** The server keeps serving: a fresh room works end to end. */
    async function assertServing(): Promise<void> {
        const room = await createRoom(server, 1, clients);
        await room.host.request('relay', { room: room.roomId, kind: 'broadcast', seq: 1, key: 1, data: bytes(10) });
        assert.strictEqual((await room.guests[0].waitFor('relay')).sender, room.hostPeerId);
    }

    it('refuses unknown events and malformed payloads, and keeps serving', async () => {
        const room = await createRoom(server, 1, clients);
        const sender = room.guests[0];
        const cases: [string, ...unknown[]][] = [
            ['no-such-event', {}],
            ['__proto__', {}],
            ['constructor', {}],
            ['room:create', {}],
            ['room:create', { publicKey: 'has spaces!' }],
            ['room:create', { publicKey: publicKey(), extra: true }],
            ['room:create', 'not an object'],
            ['room:create', null],
            ['room:create'],
            ['room:create', { publicKey: publicKey() }, 'second argument'],
            ['room:join', { roomId: 'short', publicKey: publicKey() }],
            ['room:admit', { roomId: room.roomId, requestId: 'x', permission: 'owner', keyMaterial: bytes(4), keyId: 1 }],
            ['room:admit', { roomId: room.roomId, requestId: 'x', permission: 'readonly', keyMaterial: 'not binary', keyId: 1 }],
            ['relay', { room: room.roomId, kind: 'broadcast', seq: 1, key: 1 }],
            ['relay', { room: room.roomId, kind: 'broadcast', seq: -1, key: 1, data: bytes(1) }],
            ['relay', { room: room.roomId, kind: 'shout', seq: 1, key: 1, data: bytes(1) }],
            ['relay', { room: room.roomId, kind: 'broadcast', seq: 1, key: 1, data: 'text' }],
            ['relay', { room: room.roomId, kind: 'broadcast', seq: 1.5, key: 1, data: bytes(1) }],
            ['relay', [1, 2, 3]]
        ];
        for (const [event, ...args] of cases) {
            const response = await sender.request(event, ...args);
            assert.strictEqual(response.ok, false, `${event} ${JSON.stringify(args)} was accepted`);
            assert.strictEqual(response.error.code, 'bad-request', `${event}: ${response.error.code}`);
        }
        await expectNone([room.host], 'relay');
        await assertServing();
    });

    it('refuses oversized data with too-large', async () => {
        const room = await createRoom(server, 1, clients);
        const big = await room.host.request('relay', { room: room.roomId, kind: 'broadcast', seq: 1, key: 1, data: bytes(PAYLOAD_LIMIT + 1) });
        assert.strictEqual(big.error.code, 'too-large');
        const exact = await room.host.request('relay', { room: room.roomId, kind: 'broadcast', seq: 2, key: 1, data: bytes(PAYLOAD_LIMIT) });
        assert.deepStrictEqual(exact, { ok: true });
        assert.strictEqual(new Uint8Array((await room.guests[0].waitFor('relay')).data).byteLength, PAYLOAD_LIMIT);
        const key = await room.host.request('room:rekey', { roomId: room.roomId, keyId: 2, keys: [{ peerId: room.guestPeerIds[0], keyMaterial: bytes(2048) }] });
        assert.strictEqual(key.error.code, 'too-large');
        await expectNone(room.guests, 'room:key');
        await assertServing();
    });

    it('reports refusals without an ack as server:error', async () => {
        const lonely = await connect(server);
        clients.push(lonely);
        lonely.socket.emit('no-such-event', { anything: 1 });
        assert.strictEqual((await lonely.waitFor('server:error')).code, 'bad-request');
        lonely.socket.emit('relay', { room: 'x' });
        assert.strictEqual((await lonely.waitFor('server:error')).code, 'bad-request');
        await assertServing();
    });

    it('survives events named like EventEmitter internals', async () => {
        const client = await connect(server);
        clients.push(client);
        client.socket.emit('error', new Error('boom'));
        client.socket.emit('error');
        assert.strictEqual((await client.request('error', {})).error.code, 'bad-request');
        assert.ok(client.socket.connected);
        await assertServing();
    });

    it('keeps unrelated rooms apart', async () => {
        const first = await createRoom(server, 1, clients);
        const second = await createRoom(server, 1, clients);
        const intruder = second.guests[0];
        const result = await intruder.request('relay', { room: first.roomId, kind: 'broadcast', seq: 1, key: 1, data: bytes(1) });
        assert.strictEqual(result.error.code, 'not-member');
        const admit = await second.host.request('room:admit', { roomId: first.roomId, requestId: 'abc', permission: 'readwrite', keyMaterial: bytes(1), keyId: 1 });
        assert.strictEqual(admit.error.code, 'not-member');
        await expectNone([first.host, first.guests[0]], 'relay');
        const late = await connect(server);
        clients.push(late);
        await admitGuest(first, late);
    });
});
