/**
 * OpenID Connect login behind a load balancer without sticky sessions: two instances share one real
 * redis-server, and start, callback and poll of one login reach different instances.
 */
import * as assert from 'assert';
import * as crypto from 'crypto';
import { createClient } from 'redis';
import { HttpPaths } from '@theia-collab/protocol/lib/wire';
import type { ServerOptions } from './config';
import { createLogger } from './logger';
import { Browser, CLIENT_SECRET, Idp, poll, startIdp, startLogin } from './oidc-test-support';
import type { RedisClient } from './redis';
import { startRedis, TestRedis } from './redis-test-support';
import type { ServerHandle } from './server';
import { connect, postJson, publicKey, settle, startTestServer, TestClient } from './test-support';

describe('OpenID Connect login across instances (Redis)', function () {
    this.timeout(30_000);
    const secret = crypto.randomBytes(32).toString('base64url');
    let redis: TestRedis;
    let inspector: RedisClient;
    let testNumber = 0;
    let prefix: string;
    let idp: Idp | undefined;
    let servers: ServerHandle[];
    let clients: TestClient[];
    /** Everything both instances log, to check that no secret gets there. */
    let logs: string[];

    before(async () => {
        redis = await startRedis();
        inspector = createClient({ url: redis.url });
        await inspector.connect();
    });

    after(async () => {
        await inspector?.quit();
        await redis?.stop();
    });

    beforeEach(() => {
        prefix = `oidc${++testNumber}:`;
        servers = [];
        clients = [];
        logs = [];
    });

    afterEach(async () => {
        clients.forEach(client => client.close());
        await Promise.all(servers.map(server => server.close()));
        await idp?.close();
        idp = undefined;
    });

    async function instance(options: Partial<ServerOptions>): Promise<ServerHandle> {
        const logger = createLogger('debug', { write: (line: string) => { logs.push(line); } });
        const server = await startTestServer({ redisUrl: redis.url, redisPrefix: prefix, secret, logger, ...options });
        servers.push(server);
        return server;
    }

    /**
     * Instances A and B with one public address: the provider redirects the browser to B (as a load
     * balancer might), while the client talks to A.
     */
    async function pair(oidc: Record<string, unknown> = {}): Promise<{ a: ServerHandle; b: ServerHandle; callback: string }> {
        idp = await startIdp();
        const settings = { issuer: idp.issuer, clientId: 'collab', clientSecret: CLIENT_SECRET, ...oidc };
        const b = await instance({ oidc: settings });
        const a = await instance({ oidc: { ...settings, redirectBaseUrl: b.url } });
        const callback = `${b.url}${HttpPaths.oidcCallback}`;
        await idp.register(callback);
        return { a, b, callback };
    }

    function keys(): Promise<string[]> {
        return inspector.keys(`${prefix}oidc:*`);
    }

    /** The callback `redirect`, sent to `server` instead: refused with a page matching `message`. */
    async function refusedAt(server: ServerHandle, redirect: URL, message: RegExp): Promise<void> {
        const page = await fetch(`${server.url}${redirect.pathname}${redirect.search}`);
        assert.strictEqual(page.status, 400);
        assert.match(await page.text(), message);
    }

    it('starts on one instance, is called back on another and polled on either', async () => {
        const { a, b, callback } = await pair();
        const login = await startLogin(a);

        // Kept in Redis for the login's lifetime, under names that do not reveal the login id.
        const stored = await keys();
        assert.strictEqual(stored.length, 3, stored.join());
        assert.ok(stored.every(key => !key.includes(login.loginId)));
        const loginKey = stored.find(key => key.startsWith(`${prefix}oidc:login:`))!;
        const ttl = await inspector.pTTL(loginKey);
        assert.ok(ttl > 0 && ttl <= 5 * 60_000, `ttl ${ttl}`);
        const record = JSON.parse((await inspector.hGet(loginKey, 'r'))!);
        assert.strictEqual(record.loginId, login.loginId);

        for (const server of [a, b]) {
            const pending = await poll(server, login.loginId);
            assert.strictEqual(pending.status, 202);
            assert.strictEqual(pending.body.expiresAt, login.expiresAt);
        }

        const redirect = await new Browser().authorize(login.authorizeUrl, 'alice', callback);
        const page = await fetch(redirect);
        assert.strictEqual(page.status, 200);
        assert.match(await page.text(), /You are logged in as Alice Liddell/);
        for (const server of [b, a]) {
            await refusedAt(server, redirect, /already used/);
        }

        const done = await poll(a, login.loginId);
        assert.strictEqual(done.status, 200);
        assert.deepStrictEqual(done.body.user, { id: 'oidc:alice', name: 'Alice Liddell' });
        assert.strictEqual((await poll(b, login.loginId)).status, 404, 'the result is handed out once, on any instance');
        assert.strictEqual((await poll(a, login.loginId)).status, 404);
        assert.deepStrictEqual(await keys(), [], 'nothing is left behind');

        // The token of one instance opens a room on the other.
        const client = await connect(b, { token: done.body.token });
        clients.push(client);
        const created = await client.request('room:create', { publicKey: publicKey() });
        assert.strictEqual(created.ok, true);
        assert.strictEqual(created.peer.userId, 'oidc:alice');

        // Now started on A, called back on B, polled on B.
        const second = await startLogin(a);
        assert.strictEqual((await fetch(await new Browser().authorize(second.authorizeUrl, 'bob', callback))).status, 200);
        const onB = await poll(b, second.loginId);
        assert.strictEqual(onB.status, 200);
        assert.strictEqual(onB.body.user.id, 'oidc:bob');
        assert.strictEqual((await poll(a, second.loginId)).status, 404);

        const logged = logs.join('');
        assert.match(logged, /oidc login started/);
        for (const value of [record.codeVerifier, record.nonce, record.state, login.loginId, done.body.token, onB.body.token, CLIENT_SECRET]) {
            assert.ok(!logged.includes(value), 'a secret reached the logs');
        }
    });

    it('takes a state once, even when both instances receive its callback at the same time', async () => {
        const { a, b, callback } = await pair();
        const login = await startLogin(b);
        const redirect = await new Browser().authorize(login.authorizeUrl, 'alice', callback);
        const pages = await Promise.all([a, b].map(server => fetch(`${server.url}${redirect.pathname}${redirect.search}`)));
        assert.deepStrictEqual(pages.map(page => page.status).sort(), [200, 400]);
        await Promise.all(pages.map(page => page.text()));
        const results = await Promise.all([poll(a, login.loginId), poll(b, login.loginId)]);
        assert.deepStrictEqual(results.map(result => result.status).sort(), [200, 404], 'one poller gets the result');
        assert.strictEqual(results.find(result => result.status === 200)!.body.user.id, 'oidc:alice');
    });

    it('forgets an expired login on every instance', async () => {
        const { a, b, callback } = await pair({ loginTimeoutMs: 1500 });
        const login = await startLogin(a);
        assert.strictEqual((await poll(b, login.loginId)).status, 202);
        const redirect = await new Browser().authorize(login.authorizeUrl, 'alice', callback);
        await settle(Math.max(0, login.expiresAt - Date.now()) + 200);
        assert.deepStrictEqual(await keys(), [], 'Redis expired the login');
        for (const server of [b, a]) {
            await refusedAt(server, redirect, /has expired/);
            const expired = await poll(server, login.loginId);
            assert.strictEqual(expired.status, 404);
            assert.strictEqual(expired.body.error.code, 'not-found');
        }
    });

    it('bounds the logins pending on all instances together', async () => {
        const { a, b, callback } = await pair({ maxPendingLogins: 2 });
        const first = await startLogin(a);
        await startLogin(b);
        for (const server of [a, b]) {
            const refused = await postJson(server, HttpPaths.oidcStart, {});
            assert.strictEqual(refused.status, 429);
            assert.strictEqual(refused.body.error.code, 'rate-limited');
        }
        // A login handed out frees its place.
        assert.strictEqual((await fetch(await new Browser().authorize(first.authorizeUrl, 'alice', callback))).status, 200);
        assert.strictEqual((await poll(b, first.loginId)).status, 200);
        await startLogin(b);
    });
});
