import * as assert from 'assert';
import type { ServerHandle } from './server';
import {
    admitGuest, bytes, connect, createRoom, expectNone, publicKey, settle, startTestServer, TestClient
} from './test-support';

describe('rooms', () => {
    let server: ServerHandle;
    let clients: TestClient[];

    beforeEach(async () => {
        server = await startTestServer();
        clients = [];
    });

    afterEach(async () => {
        clients.forEach(client => client.close());
        await server.close();
    });

    async function client(name: string): Promise<TestClient> {
        const created = await connect(server, { name });
        clients.push(created);
        return created;
    }

    it('creates a room with the creator as host', async () => {
        const host = await client('Host');
        const key = publicKey();
        const result = await host.request('room:create', { publicKey: key });
        assert.strictEqual(result.ok, true);
        assert.match(result.roomId, /^[A-Za-z0-9_-]{22,}$/);
        assert.deepStrictEqual({ ...result.peer, id: undefined, userId: undefined }, {
            id: undefined, userId: undefined, name: 'Host', role: 'host', permission: 'readwrite', publicKey: key
        });
        assert.ok(result.peer.userId.startsWith('anonymous:'));
        assert.ok(result.expiresAt > Date.now() + 23 * 3600 * 1000);
        assert.strictEqual(typeof result.roomToken, 'string');
        const second = await host.request('room:create', { publicKey: key });
        assert.notStrictEqual(second.roomId, result.roomId);
    });

    it('admits a guest: the guest learns the room, the others see it join', async () => {
        const room = await createRoom(server, 1, clients);
        const [first] = room.guests;
        const guest = await client('Dana');
        const guestKey = publicKey();
        const joined = await guest.request('room:join', { roomId: room.roomId, publicKey: guestKey });
        assert.strictEqual(joined.ok, true);
        assert.ok(joined.requestId && joined.peerId);

        const request = await room.host.waitFor('room:join-request');
        assert.strictEqual(request.roomId, room.roomId);
        assert.strictEqual(request.requestId, joined.requestId);
        assert.strictEqual(request.peer.id, joined.peerId);
        assert.strictEqual(request.peer.name, 'Dana');
        assert.strictEqual(request.peer.publicKey, guestKey);
        assert.strictEqual(request.peer.role, 'guest');
        await expectNone([first], 'room:join-request', 50);

        const keyMaterial = bytes(60);
        const ack = await room.host.request('room:admit', { roomId: room.roomId, requestId: joined.requestId, permission: 'readonly', keyMaterial, keyId: 7 });
        assert.deepStrictEqual(ack, { ok: true });

        const admitted = await guest.waitFor('room:admitted');
        assert.strictEqual(admitted.roomId, room.roomId);
        assert.strictEqual(admitted.self.id, joined.peerId);
        assert.strictEqual(admitted.self.permission, 'readonly');
        assert.deepStrictEqual(admitted.peers.map((peer: any) => peer.id), [room.hostPeerId, room.guestPeerIds[0], joined.peerId]);
        assert.strictEqual(admitted.peers[0].role, 'host');
        assert.strictEqual(admitted.keyId, 7);
        assert.deepStrictEqual(new Uint8Array(admitted.keyMaterial), keyMaterial);
        assert.ok(admitted.expiresAt > Date.now());
        assert.strictEqual(typeof admitted.roomToken, 'string');

        for (const member of [room.host, first]) {
            const event = await member.waitFor('room:peer-joined');
            assert.strictEqual(event.peer.id, joined.peerId);
            assert.strictEqual(event.peer.name, 'Dana');
        }
        await expectNone([guest], 'room:peer-joined');
    });

    it('denies a guest, who then cannot send into the room', async () => {
        const room = await createRoom(server, 0, clients);
        const guest = await client('Eve');
        const joined = await guest.request('room:join', { roomId: room.roomId, publicKey: publicKey() });
        const request = await room.host.waitFor('room:join-request');
        assert.deepStrictEqual(await room.host.request('room:deny', { roomId: room.roomId, requestId: request.requestId, reason: 'Not today' }), { ok: true });
        const denied = await guest.waitFor('room:denied');
        assert.deepStrictEqual(denied, { roomId: room.roomId, reason: 'Not today' });
        const relay = await guest.request('relay', { room: room.roomId, kind: 'broadcast', seq: 1, key: 1, data: bytes(4) });
        assert.strictEqual(relay.error.code, 'not-member');
        const again = await room.host.request('room:admit', { roomId: room.roomId, requestId: joined.requestId, permission: 'readonly', keyMaterial: bytes(4), keyId: 1 });
        assert.strictEqual(again.error.code, 'not-found');
        await expectNone([guest], 'room:admitted');
    });

    it('tells the host when a waiting guest goes away', async () => {
        const room = await createRoom(server, 0, clients);
        const guest = await client('Gone');
        const joined = await guest.request('room:join', { roomId: room.roomId, publicKey: publicKey() });
        await room.host.waitFor('room:join-request');
        guest.close();
        const cancelled = await room.host.waitFor('room:join-cancelled');
        assert.deepStrictEqual(cancelled, { roomId: room.roomId, requestId: joined.requestId });
    });

    it('refuses joining an unknown room and host actions from guests', async () => {
        const room = await createRoom(server, 1, clients);
        const stranger = await client('Stranger');
        const unknown = await stranger.request('room:join', { roomId: 'A'.repeat(22), publicKey: publicKey() });
        assert.strictEqual(unknown.error.code, 'not-found');
        const [guest] = room.guests;
        const asGuest = await guest.request('room:set-permission', { roomId: room.roomId, peerId: room.guestPeerIds[0], permission: 'readwrite' });
        assert.strictEqual(asGuest.error.code, 'forbidden');
        const asStranger = await stranger.request('room:remove', { roomId: room.roomId, peerId: room.guestPeerIds[0] });
        assert.strictEqual(asStranger.error.code, 'not-member');
    });

    it('changes permissions for everyone to see', async () => {
        const room = await createRoom(server, 2, clients);
        const ack = await room.host.request('room:set-permission', { roomId: room.roomId, peerId: room.guestPeerIds[1], permission: 'readonly' });
        assert.deepStrictEqual(ack, { ok: true });
        for (const member of [room.host, ...room.guests]) {
            assert.deepStrictEqual(await member.waitFor('room:permission-changed'), { roomId: room.roomId, peerId: room.guestPeerIds[1], permission: 'readonly' });
        }
        const self = await room.host.request('room:set-permission', { roomId: room.roomId, peerId: room.hostPeerId, permission: 'readonly' });
        assert.strictEqual(self.error.code, 'bad-request');
    });

    it('removes a guest from the room', async () => {
        const room = await createRoom(server, 2, clients);
        const [removed, staying] = room.guests;
        assert.deepStrictEqual(await room.host.request('room:remove', { roomId: room.roomId, peerId: room.guestPeerIds[0] }), { ok: true });
        const closed = await removed.waitFor('room:closed');
        assert.strictEqual(closed.reason, 'removed');
        for (const member of [room.host, staying]) {
            assert.deepStrictEqual(await member.waitFor('room:peer-left'), { roomId: room.roomId, peerId: room.guestPeerIds[0], reason: 'removed' });
        }
        await room.host.request('relay', { room: room.roomId, kind: 'broadcast', seq: 1, key: 1, data: bytes(3) });
        await staying.waitFor('relay');
        await expectNone([removed], 'relay');
        const relay = await removed.request('relay', { room: room.roomId, kind: 'broadcast', seq: 1, key: 1, data: bytes(3) });
        assert.strictEqual(relay.error.code, 'not-member');
    });

    it('distributes new keys to the listed peers only', async () => {
        const room = await createRoom(server, 3, clients);
        const keys = room.guestPeerIds.slice(0, 2).map(peerId => ({ peerId, keyMaterial: bytes(40) }));
        assert.deepStrictEqual(await room.host.request('room:rekey', { roomId: room.roomId, keyId: 2, keys }), { ok: true });
        for (let i = 0; i < 2; i++) {
            const event = await room.guests[i].waitFor('room:key');
            assert.strictEqual(event.keyId, 2);
            assert.strictEqual(event.from, room.hostPeerId);
            assert.deepStrictEqual(new Uint8Array(event.keyMaterial), keys[i].keyMaterial);
        }
        await expectNone([room.host, room.guests[2]], 'room:key');
    });

    it('announces guests leaving', async () => {
        const room = await createRoom(server, 2, clients);
        assert.deepStrictEqual(await room.guests[0].request('room:leave', { roomId: room.roomId }), { ok: true });
        for (const member of [room.host, room.guests[1]]) {
            assert.deepStrictEqual(await member.waitFor('room:peer-left'), { roomId: room.roomId, peerId: room.guestPeerIds[0], reason: 'left' });
        }
        room.guests[1].close();
        assert.deepStrictEqual(await room.host.waitFor('room:peer-left'), { roomId: room.roomId, peerId: room.guestPeerIds[1], reason: 'disconnected' });
        const notMember = await room.guests[0].request('room:leave', { roomId: room.roomId });
        assert.strictEqual(notMember.error.code, 'not-member');
    });

    it('closes the room when the host leaves', async () => {
        const room = await createRoom(server, 2, clients);
        const waiting = await client('Waiting');
        await waiting.request('room:join', { roomId: room.roomId, publicKey: publicKey() });
        await room.host.waitFor('room:join-request');
        assert.deepStrictEqual(await room.host.request('room:leave', { roomId: room.roomId }), { ok: true });
        for (const member of [...room.guests, waiting]) {
            const closed = await member.waitFor('room:closed');
            assert.strictEqual(closed.reason, 'host-left');
            assert.strictEqual(closed.roomId, room.roomId);
            assert.ok(closed.message.length > 0);
        }
        await expectNone([room.host], 'room:closed');
        const join = await (await client('Late')).request('room:join', { roomId: room.roomId, publicKey: publicKey() });
        assert.strictEqual(join.error.code, 'not-found');
    });

    it('closes the room when the host disconnects', async () => {
        const room = await createRoom(server, 1, clients);
        room.host.close();
        const closed = await room.guests[0].waitFor('room:closed');
        assert.strictEqual(closed.reason, 'host-left');
        const health = await (await fetch(`${server.url}/health`)).json();
        assert.strictEqual(health.rooms, 0);
    });

    it('tells everyone when the server shuts down', async () => {
        const room = await createRoom(server, 1, clients);
        await server.close();
        for (const member of [room.host, room.guests[0]]) {
            assert.strictEqual((await member.waitFor('room:closed')).reason, 'shutdown');
            await member.waitFor('disconnect');
        }
    });
});

describe('room cleanup', () => {
    let server: ServerHandle | undefined;
    const clients: TestClient[] = [];

    afterEach(async () => {
        clients.splice(0).forEach(client => client.close());
        await server?.close();
    });

    it('closes expired rooms', async () => {
        server = await startTestServer({ roomTtlMs: 300, sweepIntervalMs: 50 });
        const room = await createRoom(server, 1, clients);
        for (const member of [room.host, room.guests[0]]) {
            assert.strictEqual((await member.waitFor('room:closed')).reason, 'expired');
        }
    });

    it('closes idle rooms but keeps busy ones', async () => {
        server = await startTestServer({ idleRoomMs: 600, sweepIntervalMs: 50 });
        const started = Date.now();
        const idle = await createRoom(server, 1, clients);
        const busy = await createRoom(server, 1, clients);
        const keepBusy = setInterval(() => {
            busy.host.socket.emit('relay', { room: busy.roomId, kind: 'broadcast', seq: Date.now(), key: 1, data: bytes(1) });
        }, 100);
        try {
            assert.strictEqual((await idle.guests[0].waitFor('room:closed')).reason, 'idle');
            assert.ok(Date.now() - started >= 550, 'closed too early');
            await settle(700);
            assert.strictEqual(busy.guests[0].events('room:closed').length, 0);
        } finally {
            clearInterval(keepBusy);
        }
    });

    it('closes rooms nobody joins', async () => {
        server = await startTestServer({ emptyRoomMs: 300, sweepIntervalMs: 50 });
        const room = await createRoom(server, 0, clients);
        const closed = await room.host.waitFor('room:closed');
        assert.strictEqual(closed.reason, 'idle');
    });

    it('admits into a room the guest is already waiting for only once', async () => {
        server = await startTestServer();
        const room = await createRoom(server, 0, clients);
        const guest = await connect(server, { name: 'Twice' });
        clients.push(guest);
        await admitGuest({ ...room }, guest);
        const again = await guest.request('room:join', { roomId: room.roomId, publicKey: publicKey() });
        assert.strictEqual(again.error.code, 'bad-request');
    });
});
