import * as assert from 'assert';
import { io as connectClient } from 'socket.io-client';
import type { ServerHandle } from './server';
import { loadConfigFile, loadConfigFromEnv, parseArgs, resolveOptions } from './config';
import { bearerMatches } from './http';
import { createInfoChallenge, infoChallengeResponse, verifyInfoChallenge } from './info-challenge';
import { connect, connectRefused, createRoom, login, startTestServer, TestClient } from './test-support';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

describe('http', () => {
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

    it('reports health with room and socket counts', async () => {
        let health = await (await fetch(`${server.url}/health`)).json();
        assert.deepStrictEqual(health, { status: 'ok', rooms: 0, sockets: 0 });
        await createRoom(server, 1, clients);
        health = await (await fetch(`${server.url}/health`)).json();
        assert.deepStrictEqual(health, { status: 'ok', rooms: 1, sockets: 2 });
    });

    it('describes the server', async () => {
        const response = await fetch(`${server.url}/api/info`);
        assert.strictEqual(response.status, 200);
        const info = await response.json();
        assert.strictEqual(info.limits.maxPayloadBytes, 1024 * 1024);
        assert.match(info.version, /^\d+\.\d+\.\d+/);
    });

    it('serves an escaped join page', async () => {
        const roomId = 'A'.repeat(22);
        const page = await fetch(`${server.url}/join/${roomId}`);
        assert.strictEqual(page.status, 200);
        assert.match(page.headers.get('content-type') ?? '', /text\/html/);
        assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
        const html = await page.text();
        assert.ok(html.includes(roomId));
        assert.ok(html.includes('Join Session'));

        const evil = await fetch(`${server.url}/join/${encodeURIComponent('<script>alert(1)</script>')}`);
        assert.strictEqual(evil.status, 404);
        const evilHtml = await evil.text();
        assert.ok(!evilHtml.includes('<script>'));
        assert.ok(evilHtml.includes('&#60;script&#62;'));
    });

    it('answers unknown paths, wrong methods and bad bodies with errors', async () => {
        assert.strictEqual((await fetch(`${server.url}/nope`)).status, 404);
        assert.strictEqual((await fetch(`${server.url}/api/login/anonymous`)).status, 405);
        const form = await fetch(`${server.url}/api/login/anonymous`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=x' });
        assert.strictEqual(form.status, 415);
        const broken = await fetch(`${server.url}/api/login/anonymous`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
        assert.strictEqual(broken.status, 400);
        const huge = await fetch(`${server.url}/api/login/anonymous`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x'.repeat(20_000) }) });
        assert.strictEqual(huge.status, 413);
    });

    it('allows loopback origins and refuses others', async () => {
        const allowed = await fetch(`${server.url}/api/info`, { headers: { origin: 'http://localhost:3000' } });
        assert.strictEqual(allowed.status, 200);
        assert.strictEqual(allowed.headers.get('access-control-allow-origin'), 'http://localhost:3000');
        const refused = await fetch(`${server.url}/api/login/anonymous`, {
            method: 'POST', headers: { origin: 'https://evil.example', 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x' })
        });
        assert.strictEqual(refused.status, 403);
        const { token } = await login(server);
        await connectRefused(server, { token }, { origin: 'https://evil.example' });
        clients.push(await connect(server, { token, extraHeaders: { origin: 'http://127.0.0.1:3000' } }));
    });

    it('allows configured origins only', async () => {
        await server.close();
        server = await startTestServer({ allowedOrigins: ['https://theia.example.com'] });
        assert.strictEqual((await fetch(`${server.url}/api/info`, { headers: { origin: 'https://theia.example.com' } })).status, 200);
        assert.strictEqual((await fetch(`${server.url}/api/info`, { headers: { origin: 'http://localhost:3000' } })).status, 403);
    });

    describe('metrics token', () => {
        const token = 'Zm9vYmFyLXNlY3JldC10b2tlbg-1234';

        it('answers /metrics only with the bearer token, when one is set', async () => {
            // Without a token: open (the default, as before).
            assert.strictEqual((await fetch(`${server.url}/metrics`)).status, 200);
            await server.close();
            server = await startTestServer({ metricsToken: token });
            for (const authorization of [undefined, '', 'Bearer', `Bearer ${token}x`, `Bearer ${token.slice(0, -1)}`, `Basic ${token}`, token,
                `Bearer ${token.toUpperCase()}`, `Bearer  ${'x'.repeat(5000)}`]) {
                const response = await fetch(`${server.url}/metrics`, { headers: authorization === undefined ? {} : { authorization } });
                assert.strictEqual(response.status, 401, String(authorization).slice(0, 40));
                assert.strictEqual(response.headers.get('www-authenticate'), 'Bearer realm="metrics"');
                const body = await response.text();
                assert.doesNotMatch(body, /collab_/);
            }
            const ok = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
            assert.strictEqual(ok.status, 200);
            assert.match(await ok.text(), /collab_connections_total/);
            assert.strictEqual((await fetch(`${server.url}/metrics`, { headers: { authorization: `bearer   ${token}` } })).status, 200);
            // Health and info stay open.
            assert.strictEqual((await fetch(`${server.url}/health`)).status, 200);
            assert.strictEqual((await fetch(`${server.url}/api/info`)).status, 200);
        });

        it('compares bearer tokens exactly', () => {
            assert.strictEqual(bearerMatches(`Bearer ${token}`, token), true);
            assert.strictEqual(bearerMatches(undefined, token), false);
            assert.strictEqual(bearerMatches('Bearer ', ''), false);
            assert.strictEqual(bearerMatches(`Bearer ${token} extra`, token), false);
        });

        it('reads the token from flag, environment and config file, and checks it', () => {
            assert.deepStrictEqual(parseArgs(['--metrics-token', token]).options, { metricsToken: token });
            assert.deepStrictEqual(loadConfigFromEnv({ COLLAB_METRICS_TOKEN: token }), { metricsToken: token });
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collab-metrics-config-'));
            try {
                const file = path.join(dir, 'config.json');
                fs.writeFileSync(file, JSON.stringify({ metricsToken: token }));
                assert.deepStrictEqual(loadConfigFile(file), { metricsToken: token });
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
            assert.throws(() => resolveOptions({ metricsToken: 'short' }), /metricsToken must be/);
            assert.throws(() => resolveOptions({ metricsToken: 'has a space in it, no good' }), /metricsToken must be/);
            assert.strictEqual(resolveOptions({}).metricsToken, undefined);
        });

        it('warns at start in production mode when /metrics has no token', async () => {
            const lines: string[] = [];
            const pino = (await import('pino')).default;
            const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
            const production = { mode: 'production' as const, secret: 's'.repeat(40), allowAnonymous: true, logger };
            const open = await startTestServer(production);
            await open.close();
            assert.ok(lines.some(line => /served without a credential/.test(line)), lines.join(''));
            lines.length = 0;
            const guarded = await startTestServer({ ...production, metricsToken: token });
            await guarded.close();
            assert.ok(!lines.some(line => /served without a credential/.test(line)), lines.join(''));
            const off = await startTestServer({ ...production, metrics: false });
            await off.close();
            assert.ok(!lines.some(line => /served without a credential/.test(line)), lines.join(''));
        });
    });

    describe('info challenge', () => {
        const secret = 'c'.repeat(20) + 'an-info-challenge-secret';

        it('proves a server started with the secret, bound to its port', async () => {
            await server.close();
            server = await startTestServer({ infoChallengeSecret: secret });
            const nonce = createInfoChallenge();
            const info = await (await fetch(`${server.url}/api/info?challenge=${nonce}`)).json();
            assert.strictEqual(info.challengeResponse, infoChallengeResponse(secret, server.port, nonce));
            assert.ok(verifyInfoChallenge(secret, server.port, nonce, info.challengeResponse));
            assert.ok(!verifyInfoChallenge(secret, server.port + 1, nonce, info.challengeResponse), 'bound to the port');
            assert.ok(!verifyInfoChallenge('another secret of enough length......', server.port, nonce, info.challengeResponse));
            assert.ok(!verifyInfoChallenge(secret, server.port, createInfoChallenge(), info.challengeResponse), 'bound to the nonce');
            // The secret itself never shows.
            const text = await (await fetch(`${server.url}/api/info?challenge=${nonce}`)).text();
            assert.ok(!text.includes(secret));
            // Without a challenge: the plain description.
            assert.strictEqual((await (await fetch(`${server.url}/api/info`)).json()).challengeResponse, undefined);
            for (const bad of ['short', 'has spaces in it!!!!!!!!', 'x'.repeat(129)]) {
                assert.strictEqual((await fetch(`${server.url}/api/info?challenge=${encodeURIComponent(bad)}`)).status, 400, bad);
            }
        });

        it('is not answered by a server started without the secret', async () => {
            const info = await (await fetch(`${server.url}/api/info?challenge=${createInfoChallenge()}`)).json();
            assert.strictEqual(info.challengeResponse, undefined);
            assert.strictEqual(info.protocol, 1);
            assert.throws(() => resolveOptions({ infoChallengeSecret: 'short' }), /infoChallengeSecret/);
            assert.deepStrictEqual(loadConfigFromEnv({ COLLAB_INFO_CHALLENGE_SECRET: secret }), { infoChallengeSecret: secret });
        });
    });

    it('serves socket.io over HTTP long-polling too', async () => {
        const { token } = await login(server);
        const socket = connectClient(server.url, { auth: { token }, transports: ['polling'], reconnection: false, forceNew: true });
        try {
            await new Promise<void>((resolve, reject) => {
                socket.once('connect', resolve);
                socket.once('connect_error', reject);
            });
            const created = await socket.timeout(5000).emitWithAck('room:create', { publicKey: 'abc' });
            assert.strictEqual(created.ok, true);
        } finally {
            socket.close();
        }
    });
});
