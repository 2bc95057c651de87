import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { hashSecret, TokenService, verifySecret } from './auth';
import type { ServerHandle } from './server';
import { bytes, connect, connectRefused, createRoom, login, postJson, publicKey, settle, startTestServer, TestClient } from './test-support';

describe('authentication', () => {
    let server: ServerHandle | undefined;
    let clients: TestClient[];

    beforeEach(() => {
        clients = [];
    });

    afterEach(async () => {
        clients.forEach(client => client.close());
        await server?.close();
        server = undefined;
    });

    it('refuses connections without a token', async () => {
        server = await startTestServer();
        for (const auth of [{}, { token: '' }, { token: 42 }, { token: 'not.a.jwt' }]) {
            const error = await connectRefused(server, auth);
            assert.strictEqual(error.data?.code, 'unauthorized', JSON.stringify(auth));
        }
    });

    it('refuses tokens signed with another secret', async () => {
        server = await startTestServer({ secret: 'a'.repeat(40) });
        const other = new TokenService('b'.repeat(40), 'theia-collab', 60_000);
        const forged = await other.issueLoginToken({ id: 'anonymous:x', name: 'Mallory', provider: 'anonymous' });
        const error = await connectRefused(server, { token: forged.token });
        assert.strictEqual(error.data?.code, 'unauthorized');
        const sameSecret = new TokenService('a'.repeat(40), 'theia-collab', 60_000);
        const genuine = await sameSecret.issueLoginToken({ id: 'anonymous:x', name: 'Alice', provider: 'anonymous' });
        clients.push(await connect(server, { token: genuine.token }));
    });

    it('refuses expired tokens', async () => {
        server = await startTestServer({ tokenTtlMs: 1 });
        const { token } = await login(server);
        await settle(1100);
        const error = await connectRefused(server, { token });
        assert.strictEqual(error.data?.code, 'unauthorized');
        assert.match(error.message, /expired/i);
    });

    it('does not take a room token for a login token, nor the reverse', async () => {
        server = await startTestServer();
        const room = await createRoom(server, 0, clients);
        assert.strictEqual((await connectRefused(server, { token: room.hostRoomToken })).data?.code, 'unauthorized');
        const { token } = await login(server);
        assert.strictEqual((await connectRefused(server, { token, roomToken: token })).data?.code, 'unauthorized');
        assert.strictEqual((await connectRefused(server, { token, roomToken: 'garbage' })).data?.code, 'unauthorized');
    });

    it('refuses a room token of another user', async () => {
        server = await startTestServer();
        const room = await createRoom(server, 0, clients);
        const { token } = await login(server, 'Someone Else');
        const error = await connectRefused(server, { token, roomToken: room.hostRoomToken });
        assert.strictEqual(error.data?.code, 'unauthorized');
    });

    it('binds a connection with a room token to that room', async () => {
        server = await startTestServer();
        const userToken = (await login(server, 'Host')).token;
        const host = await connect(server, { token: userToken });
        clients.push(host);
        const roomA = await host.request('room:create', { publicKey: publicKey() });
        const roomB = await host.request('room:create', { publicKey: publicKey() });
        const bound = await connect(server, { token: userToken, auth: { roomToken: roomA.roomToken } });
        clients.push(bound);
        const join = await bound.request('room:join', { roomId: roomB.roomId, publicKey: publicKey() });
        assert.strictEqual(join.error.code, 'forbidden');
        const relay = await bound.request('relay', { room: roomB.roomId, kind: 'broadcast', seq: 1, key: 1, data: bytes(1) });
        assert.strictEqual(relay.error.code, 'forbidden');
        const create = await bound.request('room:create', { publicKey: publicKey() });
        assert.strictEqual(create.error.code, 'forbidden');
        const joinA = await bound.request('room:join', { roomId: roomA.roomId, publicKey: publicKey() });
        assert.strictEqual(joinA.ok, true);
        await host.waitFor('room:join-request', event => event.roomId === roomA.roomId);
    });

    it('logs in with token users and lists the enabled providers', async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collab-users-'));
        try {
            const usersFile = path.join(dir, 'users.json');
            fs.writeFileSync(usersFile, JSON.stringify({ users: [{ user: 'alice', name: 'Alice A.', secret: await hashSecret('correct horse battery staple') }] }));
            server = await startTestServer({ tokenUsersFile: usersFile });
            const info = await (await fetch(`${server.url}/api/info`)).json();
            assert.deepStrictEqual(info.providers.map((provider: { id: string }) => provider.id), ['anonymous', 'token']);

            const ok = await postJson(server, '/api/login/token', { user: 'alice', secret: 'correct horse battery staple' });
            assert.strictEqual(ok.status, 200);
            assert.deepStrictEqual(ok.body.user, { id: 'token:alice', name: 'Alice A.' });
            const client = await connect(server, { token: ok.body.token });
            clients.push(client);
            const created = await client.request('room:create', { publicKey: publicKey() });
            assert.strictEqual(created.peer.name, 'Alice A.');

            for (const body of [{ user: 'alice', secret: 'wrong' }, { user: 'bob', secret: 'correct horse battery staple' }]) {
                const refused = await postJson(server, '/api/login/token', body);
                assert.strictEqual(refused.status, 401);
                assert.strictEqual(refused.body.error.code, 'unauthorized');
                assert.strictEqual(refused.body.token, undefined);
            }
            assert.strictEqual((await postJson(server, '/api/login/token', { user: 'alice' })).status, 400);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it('offers only anonymous login by default', async () => {
        server = await startTestServer();
        const info = await (await fetch(`${server.url}/api/info`)).json();
        assert.deepStrictEqual(info.providers, [{ id: 'anonymous', label: 'Anonymous' }]);
        assert.strictEqual(info.protocol, 1);
        assert.strictEqual((await postJson(server, '/api/login/token', { user: 'a', secret: 'b' })).status, 404);
        assert.strictEqual((await postJson(server, '/api/login/anonymous', { name: '' })).status, 400);
        assert.strictEqual((await postJson(server, '/api/login/anonymous', { name: 'x'.repeat(65) })).status, 400);
    });

    it('hashes secrets with scrypt', async () => {
        const hash = await hashSecret('s3cret-s3cret-s3cret');
        assert.match(hash, /^scrypt\$/);
        assert.notStrictEqual(hash, await hashSecret('s3cret-s3cret-s3cret'));
        assert.strictEqual(await verifySecret('s3cret-s3cret-s3cret', hash), true);
        assert.strictEqual(await verifySecret('s3cret-s3cret-s3creT', hash), false);
        assert.strictEqual(await verifySecret('anything', 'plain text'), false);
    });

    it('refuses to start in production without a secret', async () => {
        await assert.rejects(startTestServer({ mode: 'production' }), /secret/);
        await assert.rejects(startTestServer({ secret: 'short' }), /32 characters/);
    });
});
