/**
 * OpenID Connect login against a real OpenID provider (`oidc-provider`, in memory, on 127.0.0.1),
 * driven like a browser would: authorize, the provider's login and consent forms, redirect back.
 */
import * as assert from 'assert';
import * as crypto from 'crypto';
import { CollaborationClient } from '@theia-collab/protocol/lib/client';
import { getServerInfo, loginWithOidc, loginWithToken } from '@theia-collab/protocol/lib/login';
import { HttpPaths } from '@theia-collab/protocol/lib/wire';
import { loadConfigFromEnv, loadOptions, resolveOptions } from './config';
import { displayNameOf } from './oidc';
import { Browser, CLIENT_SECRET, Idp, poll, startIdp, startLogin } from './oidc-test-support';
import type { ServerHandle } from './server';
import { connect, postJson, publicKey, settle, startTestServer, TestClient } from './test-support';

describe('OpenID Connect login', function () {
    this.timeout(30_000);
    let idp: Idp | undefined;
    let server: ServerHandle | undefined;
    let clients: TestClient[];

    beforeEach(() => {
        clients = [];
    });

    afterEach(async () => {
        clients.forEach(client => client.close());
        await server?.close();
        await idp?.close();
        server = idp = undefined;
    });

    async function start(oidc: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Promise<{ server: ServerHandle; callback: string }> {
        idp = await startIdp();
        server = await startTestServer({ oidc: { issuer: idp.issuer, clientId: 'collab', clientSecret: CLIENT_SECRET, ...oidc }, ...extra });
        const callback = `${server.url}${HttpPaths.oidcCallback}`;
        await idp.register(callback);
        return { server, callback };
    }

    it('logs in through the provider; the socket server accepts the token', async () => {
        const { server, callback } = await start();
        const info = await (await fetch(`${server.url}${HttpPaths.info}`)).json();
        assert.deepStrictEqual(info.providers, [{ id: 'anonymous', label: 'Anonymous' }, { id: 'oidc', label: 'Single sign-on' }]);

        const login = await startLogin(server);
        assert.match(login.loginId, /^[A-Za-z0-9_-]{43}$/);
        const authorize = new URL(login.authorizeUrl);
        assert.ok(login.authorizeUrl.startsWith(`${idp!.issuer}/`));
        assert.strictEqual(authorize.searchParams.get('code_challenge_method'), 'S256');
        assert.strictEqual(authorize.searchParams.get('redirect_uri'), callback);
        assert.strictEqual(authorize.searchParams.get('client_id'), 'collab');
        assert.ok((authorize.searchParams.get('state') ?? '').length >= 43);
        assert.ok((authorize.searchParams.get('nonce') ?? '').length >= 43);
        assert.ok(!login.authorizeUrl.includes(login.loginId), 'the login id is the poller\'s secret');

        const pending = await poll(server, login.loginId);
        assert.strictEqual(pending.status, 202);
        assert.strictEqual(pending.body.status, 'pending');

        const redirect = await new Browser().authorize(login.authorizeUrl, 'alice', callback);
        assert.ok(redirect.searchParams.get('code'));
        const page = await fetch(redirect);
        assert.strictEqual(page.status, 200);
        assert.match(page.headers.get('content-type') ?? '', /text\/html/);
        const html = await page.text();
        assert.match(html, /You are logged in as Alice Liddell/);
        assert.match(html, /close this tab/);

        const done = await poll(server, login.loginId);
        assert.strictEqual(done.status, 200);
        assert.deepStrictEqual(done.body.user, { id: 'oidc:alice', name: 'Alice Liddell' });
        assert.ok(!html.includes(done.body.token), 'the token is only handed to the poller');
        assert.strictEqual((await poll(server, login.loginId)).status, 404, 'the result is handed out once');

        const client = await connect(server, { token: done.body.token });
        clients.push(client);
        const created = await client.request('room:create', { publicKey: publicKey() });
        assert.strictEqual(created.ok, true);
        assert.strictEqual(created.peer.name, 'Alice Liddell');
        assert.strictEqual(created.peer.userId, 'oidc:alice');
    });

    it('works with a public client (PKCE, no secret)', async () => {
        const { server, callback } = await start({ clientId: 'collab-public', clientSecret: undefined, label: 'Company login' });
        const info = await (await fetch(`${server.url}${HttpPaths.info}`)).json();
        assert.strictEqual(info.providers.find((provider: { id: string }) => provider.id === 'oidc').label, 'Company login');
        const login = await startLogin(server);
        const redirect = await new Browser().authorize(login.authorizeUrl, 'bob', callback);
        assert.strictEqual((await fetch(redirect)).status, 200);
        const done = await poll(server, login.loginId);
        assert.strictEqual(done.status, 200);
        assert.strictEqual(done.body.user.id, 'oidc:bob');
        clients.push(await connect(server, { token: done.body.token }));
    });

    it('logs in with the protocol client helpers and connects the client with the token', async () => {
        const { server, callback } = await start({}, { providers: ['oidc'] });
        const info = await getServerInfo(server.url);
        assert.deepStrictEqual(info.providers.map(provider => provider.id), ['oidc']);
        await assert.rejects(loginWithToken(server.url, 'alice', 'x'.repeat(20)), { code: 'not-found' });
        const browser = new Browser();
        const opened: string[] = [];
        const result = await loginWithOidc(server.url, {
            openUrl: url => {
                opened.push(url);
                // The user logs in a moment later, while the client polls.
                setTimeout(() => browser.authorize(url, 'alice', callback).then(redirect => fetch(redirect)).catch(() => undefined), 300);
            }
        });
        assert.strictEqual(opened.length, 1);
        assert.strictEqual(result.user.id, 'oidc:alice');
        const client = await CollaborationClient.connect({ serverUrl: server.url, name: 'ignored', token: result.token, logger: { info() { }, warn() { }, error() { } } });
        try {
            const session = await client.createSession();
            assert.strictEqual(session.self.name, 'Alice Liddell');
        } finally {
            client.dispose();
        }
        // Anonymous login is off: the client cannot log in without a token.
        await assert.rejects(CollaborationClient.connect({ serverUrl: server.url, name: 'Mallory', logger: { info() { }, warn() { }, error() { } } }), { code: 'not-found' });

        const aborted = new AbortController();
        const cancelled = loginWithOidc(server.url, { openUrl: () => { setTimeout(() => aborted.abort(), 200); }, signal: aborted.signal });
        await assert.rejects(cancelled, { code: 'cancelled' });
    });

    it('refuses a wrong state, a replayed callback and a replayed code', async () => {
        const { server, callback } = await start();
        const first = await startLogin(server);
        const browser = new Browser();
        const redirect = await browser.authorize(first.authorizeUrl, 'alice', callback);
        const code = redirect.searchParams.get('code')!;

        // Wrong state: refused, and the real login is not disturbed.
        const forged = new URL(redirect);
        forged.searchParams.set('state', crypto.randomBytes(32).toString('base64url'));
        const wrongState = await fetch(forged);
        assert.strictEqual(wrongState.status, 400);
        assert.match(await wrongState.text(), /invalid, has expired or was already used/);
        assert.strictEqual((await poll(server, first.loginId)).status, 202);
        const noState = await fetch(`${callback}?code=${encodeURIComponent(code)}`);
        assert.strictEqual(noState.status, 400);

        assert.strictEqual((await fetch(redirect)).status, 200);
        const done = await poll(server, first.loginId);
        assert.strictEqual(done.status, 200);

        // The same callback again: the state is spent.
        const replay = await fetch(redirect);
        assert.strictEqual(replay.status, 400);

        // The spent code under a fresh login's state: the provider refuses it (used, and another PKCE verifier).
        const second = await startLogin(server);
        const state = new URL(second.authorizeUrl).searchParams.get('state')!;
        const reused = await fetch(`${callback}?code=${encodeURIComponent(code)}&state=${encodeURIComponent(state)}`);
        assert.strictEqual(reused.status, 401);
        assert.match(await reused.text(), /refused the login code \(invalid_grant\)/);
        const refused = await poll(server, second.loginId);
        assert.strictEqual(refused.status, 401);
        assert.strictEqual(refused.body.error.code, 'unauthorized');
        assert.strictEqual(refused.body.token, undefined);
        assert.strictEqual((await poll(server, second.loginId)).status, 404);
    });

    it('reports a login declined at the provider', async () => {
        const { server, callback } = await start();
        const login = await startLogin(server);
        const state = new URL(login.authorizeUrl).searchParams.get('state')!;
        const declined = await fetch(`${callback}?error=access_denied&state=${encodeURIComponent(state)}`);
        assert.strictEqual(declined.status, 401);
        const result = await poll(server, login.loginId);
        assert.strictEqual(result.status, 401);
        assert.match(result.body.error.message, /declined/);
    });

    it('expires pending logins', async () => {
        const { server, callback } = await start({ loginTimeoutMs: 1500 });
        const login = await startLogin(server);
        assert.ok(login.expiresAt - Date.now() <= 1500);
        const redirect = await new Browser().authorize(login.authorizeUrl, 'alice', callback);
        await settle(Math.max(0, login.expiresAt - Date.now()) + 100);
        const late = await fetch(redirect);
        assert.strictEqual(late.status, 400);
        assert.match(await late.text(), /took too long/);
        const expired = await poll(server, login.loginId);
        assert.strictEqual(expired.status, 404);
        assert.strictEqual(expired.body.error.code, 'not-found');
        for (const loginId of ['', 'x', crypto.randomBytes(32).toString('base64url')]) {
            assert.strictEqual((await poll(server, loginId)).status, 404);
        }
    });

    it('admits only verified e-mail addresses of the allowed domains', async () => {
        const { server, callback } = await start({ allowedEmailDomains: ['Example.com'] });
        const outcomes: Record<string, number> = {};
        for (const account of ['alice', 'bob', 'carol']) {
            const login = await startLogin(server);
            const page = await fetch(await new Browser().authorize(login.authorizeUrl, account, callback));
            outcomes[account] = page.status;
            const result = await poll(server, login.loginId);
            assert.strictEqual(result.status, page.status);
            if (account === 'alice') {
                assert.strictEqual(result.body.user.id, 'oidc:alice');
            } else {
                assert.strictEqual(result.body.error.code, 'forbidden');
                assert.strictEqual(result.body.token, undefined);
            }
        }
        assert.deepStrictEqual(outcomes, { alice: 200, bob: 403, carol: 403 });
    });

    it('rate limits login starts per address', async () => {
        const { server } = await start({}, { loginRateLimit: { max: 2, windowMs: 60_000 } });
        await startLogin(server);
        await startLogin(server);
        const limited = await postJson(server, HttpPaths.oidcStart, {});
        assert.strictEqual(limited.status, 429);
        assert.strictEqual(limited.body.error.code, 'rate-limited');
        // The same budget covers the other providers.
        assert.strictEqual((await postJson(server, HttpPaths.loginAnonymous, { name: 'x' })).status, 429);
    });

    it('answers 503 while the provider cannot be reached, and bad requests with errors', async () => {
        idp = await startIdp();
        const issuer = idp.issuer;
        await idp.close();
        idp = undefined;
        server = await startTestServer({ oidc: { issuer, clientId: 'collab' } });
        const unreachable = await postJson(server, HttpPaths.oidcStart, {});
        assert.strictEqual(unreachable.status, 503);
        assert.strictEqual(unreachable.body.error.code, 'unavailable');
        assert.strictEqual((await postJson(server, HttpPaths.oidcStart, { redirect: 'https://evil.example' })).status, 400);
        assert.strictEqual((await fetch(`${server.url}${HttpPaths.oidcStart}`)).status, 405);
        const form = await fetch(`${server.url}${HttpPaths.oidcStart}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=b' });
        assert.strictEqual(form.status, 415);
    });
});

describe('OpenID Connect configuration', () => {
    it('enables the provider from the environment, with the secret merged over a config file', () => {
        const env = {
            COLLAB_OIDC_ISSUER: 'https://id.example.com/realms/dev', COLLAB_OIDC_CLIENT_ID: 'theia', COLLAB_OIDC_CLIENT_SECRET: 's3cret',
            COLLAB_OIDC_SCOPES: 'openid profile email', COLLAB_OIDC_ALLOWED_EMAIL_DOMAINS: 'example.com, example.org',
            COLLAB_OIDC_REDIRECT_BASE_URL: 'https://collab.example.com'
        };
        const fromEnv = loadConfigFromEnv(env);
        assert.deepStrictEqual(fromEnv.oidc, {
            issuer: 'https://id.example.com/realms/dev', clientId: 'theia', clientSecret: 's3cret', scopes: ['openid', 'profile', 'email'],
            allowedEmailDomains: ['example.com', 'example.org'], redirectBaseUrl: 'https://collab.example.com'
        });
        const resolved = resolveOptions({ ...fromEnv, mode: 'production', secret: 'x'.repeat(40) });
        // Production: no anonymous login unless switched on explicitly.
        assert.deepStrictEqual(resolved.providers, ['oidc']);
        assert.deepStrictEqual(resolveOptions({ ...fromEnv, mode: 'production', secret: 'x'.repeat(40), allowAnonymous: true }).providers, ['anonymous', 'oidc']);
        assert.deepStrictEqual(resolveOptions({ ...fromEnv, secret: 'x'.repeat(40) }).providers, ['anonymous', 'oidc']);

        const merged = loadOptions(['--oidc-client-id', 'from-flag'], { COLLAB_OIDC_ISSUER: 'https://id.example.com', COLLAB_OIDC_CLIENT_SECRET: 'from-env' });
        assert.deepStrictEqual(merged.options.oidc, { issuer: 'https://id.example.com', clientSecret: 'from-env', clientId: 'from-flag' });
    });

    it('refuses incomplete or unsafe OIDC settings', () => {
        assert.throws(() => resolveOptions({ providers: ['oidc'] }), /oidc login provider needs/);
        assert.throws(() => resolveOptions({ oidc: { issuer: 'not a url', clientId: 'x' } }), /oidc\.issuer/);
        assert.throws(() => resolveOptions({ oidc: { issuer: 'https://id.example.com', clientId: '' } }), /oidc\.clientId/);
        const production = { mode: 'production' as const, secret: 'x'.repeat(40) };
        assert.throws(() => resolveOptions({ ...production, oidc: { issuer: 'http://id.example.com', clientId: 'x', redirectBaseUrl: 'https://c.example.com' } }),
            /issuer must use https in production/);
        assert.throws(() => resolveOptions({ ...production, oidc: { issuer: 'https://id.example.com', clientId: 'x' } }), /redirectBaseUrl/);
        assert.throws(() => resolveOptions({ mode: 'production', oidc: { issuer: 'https://id.example.com', clientId: 'x', redirectBaseUrl: 'https://c.example.com' } }),
            /production mode needs a secret/);
    });

    it('derives display names from the claims', () => {
        assert.strictEqual(displayNameOf({ sub: 's', name: ' Ada\u202eLovelace\n ' }), 'AdaLovelace');
        assert.strictEqual(displayNameOf({ sub: 's', preferred_username: 'ada' }), 'ada');
        assert.strictEqual(displayNameOf({ sub: 's', given_name: 'Ada', family_name: 'L.' }), 'Ada L.');
        assert.strictEqual(displayNameOf({ sub: 'subject-only' }), 'subject-only');
        assert.strictEqual(displayNameOf({ sub: 's', name: 'x'.repeat(100) }).length, 64);
    });
});
