/**
 * The program marker of a join request: a joiner may say it is a program (a bot, an AI agent). The server
 * passes that on to the host with the request and in the member's info, and refuses a malformed marker.
 */
import * as assert from 'assert';
import type { ServerHandle } from './server';
import { bytes, connect, createRoom, expectNone, publicKey, startTestServer, TestClient } from './test-support';

describe('join requests marked as a program', () => {
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

    async function joinAndAdmit(room: Awaited<ReturnType<typeof createRoom>>, name: string, request: Record<string, unknown>) {
        const guest = await connect(server, { name });
        clients.push(guest);
        const joined = await guest.request('room:join', { roomId: room.roomId, publicKey: publicKey(), ...request });
        assert.strictEqual(joined.ok, true, JSON.stringify(joined));
        const asked = await room.host.waitFor('room:join-request', event => event.requestId === joined.requestId);
        const admitted = await room.host.request('room:admit', { roomId: room.roomId, requestId: joined.requestId, permission: 'readonly', keyMaterial: bytes(48), keyId: 1 });
        assert.strictEqual(admitted.ok, true, JSON.stringify(admitted));
        return { guest, asked, admitted: await guest.waitFor('room:admitted') };
    }

    it('the host gets the marker with the request; members get it with the peer', async () => {
        const room = await createRoom(server, 1, clients);
        const bot = await joinAndAdmit(room, 'Review bot', { program: true });
        assert.strictEqual(bot.asked.peer.name, 'Review bot');
        assert.strictEqual(bot.asked.peer.program, true, 'the host sees the request marked as a program');
        assert.strictEqual(bot.admitted.self.program, true);
        const joined = await room.guests[0].waitFor('room:peer-joined', event => event.peer.id === bot.asked.peer.id);
        assert.strictEqual(joined.peer.program, true, 'the other members see it marked');

        const person = await joinAndAdmit(room, 'Pat', {});
        assert.strictEqual('program' in person.asked.peer, false, 'a person is not marked');
        const saidNo = await joinAndAdmit(room, 'Sam', { program: false });
        assert.strictEqual('program' in saidNo.asked.peer, false, 'program: false is the same as no marker');
    });

    it('refuses a malformed marker with a clear error and asks nobody', async () => {
        const room = await createRoom(server, 0, clients);
        const guest = await connect(server, { name: 'Odd' });
        clients.push(guest);
        for (const program of ['yes', 1, null, { program: true }]) {
            const refused = await guest.request('room:join', { roomId: room.roomId, publicKey: publicKey(), program });
            assert.strictEqual(refused.ok, false, `program ${JSON.stringify(program)} was accepted`);
            assert.strictEqual(refused.error.code, 'bad-request');
            assert.match(refused.error.message, /^Malformed 'room:join': program: Expected boolean/);
        }
        await expectNone([room.host], 'room:join-request');
    });
});
