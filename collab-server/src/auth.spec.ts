import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { hashSecret, TokenService, verifySecret } from './auth';
import { loadOptions, resolveOptions } from './config';
import { displayNameOf } from './oidc';
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

    it('normalises display names at login: no bidi, zero-width or control characters', async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collab-users-'));
        try {
            const usersFile = path.join(dir, 'users.json');
            fs.writeFileSync(usersFile, JSON.stringify({ users: [
                { user: 'eve', name: 'Eve\u202E\u2066 (admin)\u2069', secret: await hashSecret('correct horse battery staple') },
                { user: 'ghost', name: '\u200B\u200D', secret: await hashSecret('correct horse battery staple') }
            ] }));
            server = await startTestServer({ tokenUsersFile: usersFile });
            const attacks: [string, string][] = [
                ['Host\u202E\u200B (admin)', 'Host (admin)'],
                ['\u202Enimda\u202C\u200F Host\uFEFF', 'nimda Host'],
                ['Ma\u200Cl\u2060lory\u0007\n\tthe  great', 'Mallory the great']
            ];
            for (const [raw, expected] of attacks) {
                const result = await postJson(server, '/api/login/anonymous', { name: raw });
                assert.strictEqual(result.status, 200, JSON.stringify(result.body));
                assert.strictEqual(result.body.user.name, expected);
                // What the others see: the peer's name in the room.
                const client = await connect(server, { token: result.body.token });
                clients.push(client);
                const created = await client.request('room:create', { publicKey: publicKey() });
                assert.strictEqual(created.peer.name, expected);
            }
            // Nothing visible left: refused.
            for (const raw of ['\u200B\u200C\u200D', '\u202E \u202C', '\u0000\u0001', '\uFEFF\u2066\u2069']) {
                const refused = await postJson(server, '/api/login/anonymous', { name: raw });
                assert.strictEqual(refused.status, 400, JSON.stringify(raw));
                assert.match(refused.body.error.message, /empty/);
            }
            // Ordinary names are kept as they are.
            for (const name of ['Zoë Ångström', 'José 🎉', '李小龍']) {
                assert.strictEqual((await postJson(server, '/api/login/anonymous', { name })).body.user.name, name);
            }
            // Decomposed accents are composed (NFC).
            assert.strictEqual((await postJson(server, '/api/login/anonymous', { name: 'Zoe\u0308' })).body.user.name, 'Zo\u00EB');
            // Token users: the name of the users file is normalised too; none left: the user id.
            const eve = await postJson(server, '/api/login/token', { user: 'eve', secret: 'correct horse battery staple' });
            assert.strictEqual(eve.body.user.name, 'Eve (admin)');
            const ghost = await postJson(server, '/api/login/token', { user: 'ghost', secret: 'correct horse battery staple' });
            assert.strictEqual(ghost.body.user.name, 'ghost');
            // OIDC claims.
            assert.strictEqual(displayNameOf({ sub: 's', name: 'Host\u202E\u200B (admin)' }), 'Host (admin)');
            assert.strictEqual(displayNameOf({ sub: 's', name: '\u200B\u2066', preferred_username: 'ada\u200F' }), 'ada');
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it('never signs a login token with a name that is not normalised', async () => {
        const tokens = new TokenService('a'.repeat(40), 'theia-collab', 60_000);
        const issued = await tokens.issueLoginToken({ id: 'x', name: ' Bob\u202E\u200B ', provider: 'anonymous' });
        assert.strictEqual(issued.user.name, 'Bob');
        assert.strictEqual((await tokens.verifyLoginToken(issued.token)).name, 'Bob');
        await assert.rejects(tokens.issueLoginToken({ id: 'x', name: '\u200B', provider: 'anonymous' }), (error: any) => error.code === 'bad-request');
    });

    describe('anonymous login by mode', () => {
        const secret = 'x'.repeat(40);
        let dir: string;
        let usersFile: string;

        beforeEach(async () => {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collab-users-'));
            usersFile = path.join(dir, 'users.json');
            fs.writeFileSync(usersFile, JSON.stringify([{ user: 'alice', secret: await hashSecret('correct horse battery staple') }]));
        });

        afterEach(() => {
            fs.rmSync(dir, { recursive: true, force: true });
        });

        async function providers(handle: ServerHandle): Promise<string[]> {
            return (await (await fetch(`${handle.url}/api/info`)).json()).providers.map((provider: { id: string }) => provider.id);
        }

        it('is off in production mode unless switched on explicitly', async () => {
            // Options as the CLI loads them: environment only.
            const production = loadOptions([], { COLLAB_MODE: 'production', COLLAB_SECRET: secret, COLLAB_TOKEN_USERS: usersFile }).options;
            server = await startTestServer(production);
            assert.deepStrictEqual(await providers(server), ['token']);
            const refused = await postJson(server, '/api/login/anonymous', { name: 'Anyone' });
            assert.strictEqual(refused.status, 404);
            assert.strictEqual(refused.body.token, undefined);
            await server.close();

            // Switched on: flag, environment or config file.
            const configFile = path.join(dir, 'config.json');
            fs.writeFileSync(configFile, JSON.stringify({ mode: 'production', allowAnonymous: true }));
            for (const [argv, env] of [
                [['--allow-anonymous'], { COLLAB_MODE: 'production' }],
                [[], { COLLAB_MODE: 'production', COLLAB_ALLOW_ANONYMOUS: '1' }],
                [['--config', configFile], {}]
            ] as [string[], Record<string, string>][]) {
                const options = loadOptions(argv, { ...env, COLLAB_SECRET: secret, COLLAB_TOKEN_USERS: usersFile }).options;
                server = await startTestServer(options);
                assert.deepStrictEqual(await providers(server), ['anonymous', 'token'], JSON.stringify({ argv, env }));
                assert.strictEqual((await postJson(server, '/api/login/anonymous', { name: 'Anyone' })).status, 200);
                await server.close();
                server = undefined;
            }
        });

        it('refuses a production configuration that names anonymous without allowing it, or has no login at all', () => {
            assert.throws(() => resolveOptions(loadOptions([], { COLLAB_MODE: 'production', COLLAB_SECRET: secret, COLLAB_PROVIDERS: 'anonymous,token', COLLAB_TOKEN_USERS: usersFile }).options),
                /anonymous login is off in production mode: switch it on explicitly with --allow-anonymous/);
            assert.throws(() => resolveOptions(loadOptions([], { COLLAB_MODE: 'production', COLLAB_SECRET: secret }).options), /production mode has no login provider/);
            assert.throws(() => resolveOptions({ mode: 'production', secret, allowAnonymous: false, providers: ['anonymous'] }), /anonymous login is off/);
            assert.deepStrictEqual(resolveOptions(loadOptions([], { COLLAB_MODE: 'production', COLLAB_SECRET: secret, COLLAB_ALLOW_ANONYMOUS: 'true' }).options).providers, ['anonymous']);
            assert.throws(() => loadOptions([], { COLLAB_ALLOW_ANONYMOUS: 'maybe' }), /COLLAB_ALLOW_ANONYMOUS/);
        });

        it('stays on in development mode (the embedded server of the Theia app uses it), and can be switched off', async () => {
            server = await startTestServer(loadOptions([], {}).options);
            assert.deepStrictEqual(await providers(server), ['anonymous']);
            assert.strictEqual((await postJson(server, '/api/login/anonymous', { name: 'Local' })).status, 200);
            await server.close();
            server = await startTestServer(loadOptions(['--no-anonymous'], { COLLAB_TOKEN_USERS: usersFile }).options);
            assert.deepStrictEqual(await providers(server), ['token']);
            assert.strictEqual((await postJson(server, '/api/login/anonymous', { name: 'Local' })).status, 404);
        });
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
