import * as assert from 'assert';
import type { ServerHandle } from './server';
import { bytes, connect, createRoom, expectNone, startTestServer, TestClient, TestRoom } from './test-support';

describe('relay', () => {
    let server: ServerHandle;
    let clients: TestClient[];
    let room: TestRoom;
    let host: TestClient;
    let a: TestClient;
    let b: TestClient;
    let c: TestClient;
    let ids: { host: string; a: string; b: string; c: string };

    beforeEach(async () => {
        server = await startTestServer({ requestTimeoutMs: 400 });
        clients = [];
        room = await createRoom(server, 3, clients);
        host = room.host;
        [a, b, c] = room.guests;
        ids = { host: room.hostPeerId, a: room.guestPeerIds[0], b: room.guestPeerIds[1], c: room.guestPeerIds[2] };
    });

    afterEach(async () => {
        clients.forEach(client => client.close());
        await server.close();
    });

    function envelope(fields: Record<string, unknown>): Record<string, unknown> {
        return { room: room.roomId, seq: 1, key: 1, data: bytes(32), ...fields };
    }

    it('broadcasts to every other member, with the server-set sender and the bytes intact', async () => {
        const data = bytes(1000);
        assert.deepStrictEqual(await a.request('relay', envelope({ kind: 'broadcast', seq: 5, key: 3, data })), { ok: true });
        for (const receiver of [host, b, c]) {
            const relayed = await receiver.waitFor('relay');
            assert.strictEqual(relayed.sender, ids.a);
            assert.strictEqual(relayed.kind, 'broadcast');
            assert.strictEqual(relayed.seq, 5);
            assert.strictEqual(relayed.key, 3);
            assert.strictEqual(relayed.room, room.roomId);
            assert.deepStrictEqual(new Uint8Array(relayed.data), data);
        }
        await expectNone([a], 'relay');
    });

    it('refuses envelopes that try to set the sender', async () => {
        const result = await a.request('relay', envelope({ kind: 'broadcast', sender: ids.host }));
        assert.strictEqual(result.error.code, 'bad-request');
        await expectNone([host, b, c], 'relay');
    });

    it('sends requests to the host by default and to the target otherwise', async () => {
        await a.request('relay', envelope({ kind: 'request', id: 1 }));
        const toHost = await host.waitFor('relay');
        assert.deepStrictEqual([toHost.kind, toHost.id, toHost.sender, toHost.target], ['request', 1, ids.a, ids.host]);
        await expectNone([a, b, c], 'relay', 100);
        await host.request('relay', envelope({ kind: 'response', id: 1, target: ids.a }));
        assert.strictEqual((await a.waitFor('relay')).kind, 'response');

        await a.request('relay', envelope({ kind: 'request', id: 2, target: ids.b }));
        const toB = await b.waitFor('relay');
        assert.deepStrictEqual([toB.id, toB.sender, toB.target], [2, ids.a, ids.b]);
        await expectNone([host, a, c], 'relay', 100);
    });

    it('delivers a response only to the requester, and only from the asked peer', async () => {
        await a.request('relay', envelope({ kind: 'request', id: 9, target: ids.b }));
        await b.waitFor('relay');
        const fromWrongPeer = await c.request('relay', envelope({ kind: 'response', id: 9, target: ids.a }));
        assert.strictEqual(fromWrongPeer.error.code, 'not-found');

        const data = bytes(77);
        assert.deepStrictEqual(await b.request('relay', envelope({ kind: 'response', id: 9, target: ids.a, data })), { ok: true });
        const response = await a.waitFor('relay');
        assert.deepStrictEqual([response.kind, response.id, response.sender, response.target], ['response', 9, ids.b, ids.a]);
        assert.deepStrictEqual(new Uint8Array(response.data), data);
        assert.strictEqual(response.error, undefined);
        await expectNone([host, b, c], 'relay');

        const twice = await b.request('relay', envelope({ kind: 'response', id: 9, target: ids.a }));
        assert.strictEqual(twice.error.code, 'not-found');
        const unasked = await host.request('relay', envelope({ kind: 'response', id: 1234, target: ids.c }));
        assert.strictEqual(unasked.error.code, 'not-found');
        await expectNone([a, c], 'relay');
    });

    it('sends notifications to the target, or the host', async () => {
        await b.request('relay', envelope({ kind: 'notification', target: ids.c }));
        assert.strictEqual((await c.waitFor('relay')).sender, ids.b);
        await expectNone([host, a, b], 'relay');
        await b.request('relay', envelope({ kind: 'notification' }));
        assert.strictEqual((await host.waitFor('relay')).kind, 'notification');
        await expectNone([a, b, c], 'relay');
    });

    it('refuses targets outside the room and malformed routing', async () => {
        const stranger = await connect(server, { name: 'Stranger' });
        clients.push(stranger);
        const strangerRoom = await stranger.request('room:create', { publicKey: 'abc' });
        const outside = await a.request('relay', envelope({ kind: 'notification', target: strangerRoom.peer.id }));
        assert.strictEqual(outside.error.code, 'not-found');
        assert.strictEqual((await a.request('relay', envelope({ kind: 'request' }))).error.code, 'bad-request');
        assert.strictEqual((await a.request('relay', envelope({ kind: 'response', id: 1 }))).error.code, 'bad-request');
        assert.strictEqual((await a.request('relay', envelope({ kind: 'notification', target: ids.a }))).error.code, 'bad-request');
        await a.request('relay', envelope({ kind: 'request', id: 3 }));
        assert.strictEqual((await a.request('relay', envelope({ kind: 'request', id: 3 }))).error.code, 'bad-request');
    });

    it('answers a request nobody answers with a timeout', async () => {
        const started = Date.now();
        await a.request('relay', envelope({ kind: 'request', id: 42, target: ids.c }));
        const response = await a.waitFor('relay', undefined, 3000);
        assert.ok(Date.now() - started >= 350, 'timed out too early');
        assert.deepStrictEqual([response.kind, response.id, response.sender, response.target], ['response', 42, ids.c, ids.a]);
        assert.strictEqual(response.error.code, 'timeout');
        assert.strictEqual(new Uint8Array(response.data).byteLength, 0);
        // The late answer no longer reaches anyone.
        await c.waitFor('relay');
        const late = await c.request('relay', envelope({ kind: 'response', id: 42, target: ids.a }));
        assert.strictEqual(late.error.code, 'not-found');
        await expectNone([a, b, host], 'relay');
    });

    it('fails pending requests when the asked peer leaves', async () => {
        await a.request('relay', envelope({ kind: 'request', id: 1, target: ids.b }));
        await b.waitFor('relay');
        b.close();
        const response = await a.waitFor('relay', undefined, 3000);
        assert.strictEqual(response.error.code, 'disconnected');
        assert.strictEqual(response.id, 1);
    });

    it('refuses senders that are not members, with an ack or a server:error', async () => {
        const outsider = await connect(server, { name: 'Outsider' });
        clients.push(outsider);
        const result = await outsider.request('relay', envelope({ kind: 'broadcast' }));
        assert.strictEqual(result.error.code, 'not-member');
        outsider.socket.emit('relay', envelope({ kind: 'broadcast' }));
        assert.strictEqual((await outsider.waitFor('server:error')).code, 'not-member');
        await expectNone([host, a, b, c], 'relay');
    });
});
