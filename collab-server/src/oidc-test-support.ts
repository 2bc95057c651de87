/**
 * Test helpers for the OpenID Connect specs (used by *.spec.ts only): a real OpenID provider
 * (`oidc-provider`, in memory, on 127.0.0.1), a browser that walks its login and consent forms, and
 * the client side of the collab server's login routes.
 */
import * as assert from 'assert';
import * as crypto from 'crypto';
import * as http from 'http';
import { AddressInfo } from 'net';
import { exportJWK, generateKeyPair } from 'jose';
import { HttpPaths } from '@theia-collab/protocol/lib/wire';
import type { ServerHandle } from './server';
import { postJson } from './test-support';

/** oidc-provider is ESM only: a real dynamic import (tsc would turn `import()` into `require`). */
const importEsm = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<any>;

export interface Account { name: string; email: string; verified?: boolean }
export const ACCOUNTS: Record<string, Account> = {
    alice: { name: 'Alice Liddell', email: 'alice@example.com', verified: true },
    bob: { name: 'Bob', email: 'bob@elsewhere.test', verified: true },
    carol: { name: 'Carol', email: 'carol@example.com', verified: false }
};
export const CLIENT_SECRET = 'a-client-secret-of-reasonable-length';

export interface Idp {
    issuer: string;
    /** Registers the provider's clients with the collab server's redirect URI (known once that listens). */
    register(redirectUri: string): Promise<void>;
    close(): Promise<void>;
}

/** Starts listening first (the issuer needs the port); `register` then names the collab server's redirect URI. */
export async function startIdp(): Promise<Idp> {
    let handler: http.RequestListener = (_request, response) => response.writeHead(503).end();
    const server = http.createServer((request, response) => handler(request, response));
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return {
        issuer,
        async register(redirectUri: string): Promise<void> {
            const { default: Provider } = await importEsm('oidc-provider');
            const { privateKey } = await generateKeyPair('RS256', { extractable: true });
            const jwk = { ...await exportJWK(privateKey), kid: 'test-key', alg: 'RS256', use: 'sig' };
            // Keep the test output clean of the provider's development-mode warnings.
            const warn = console.warn;
            console.warn = (...args: unknown[]) => String(args[0]).includes('oidc-provider WARNING') ? undefined : warn(...args);
            const ttl = (seconds: number) => () => seconds;
            const provider = new Provider(issuer, {
                clients: [
                    { client_id: 'collab', client_secret: CLIENT_SECRET, redirect_uris: [redirectUri], response_types: ['code'], grant_types: ['authorization_code'] },
                    { client_id: 'collab-public', token_endpoint_auth_method: 'none', redirect_uris: [redirectUri], response_types: ['code'], grant_types: ['authorization_code'] }
                ],
                jwks: { keys: [jwk] },
                cookies: { keys: [crypto.randomBytes(16).toString('hex')] },
                claims: { openid: ['sub'], profile: ['name'], email: ['email', 'email_verified'] },
                ttl: { Interaction: ttl(600), Session: ttl(600), Grant: ttl(600), AccessToken: ttl(600), IdToken: ttl(600), AuthorizationCode: ttl(60) },
                async findAccount(_ctx: unknown, sub: string) {
                    const account = ACCOUNTS[sub];
                    return account && {
                        accountId: sub,
                        async claims() {
                            return { sub, name: account.name, email: account.email, email_verified: account.verified };
                        }
                    };
                }
            });
            console.warn = warn;
            handler = provider.callback();
        },
        close: () => new Promise<void>(resolve => {
            server.close(() => resolve());
            server.closeAllConnections();
        })
    };
}

/** A browser for the provider: cookies (by name) and manual redirects. */
export class Browser {
    protected readonly cookies = new Map<string, string>();

    async fetch(url: string, init: RequestInit = {}): Promise<Response> {
        const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
        const response = await fetch(url, { ...init, redirect: 'manual', headers: { ...init.headers as Record<string, string>, ...cookie ? { cookie } : {} } });
        for (const line of response.headers.getSetCookie()) {
            const [pair, ...attributes] = line.split(';');
            const eq = pair.indexOf('=');
            const name = pair.slice(0, eq).trim();
            const expired = attributes.some(attribute => /^\s*expires=Thu, 01 Jan 1970/i.test(attribute) || /^\s*max-age=0\s*$/i.test(attribute));
            if (expired) {
                this.cookies.delete(name);
            } else {
                this.cookies.set(name, pair.slice(eq + 1).trim());
            }
        }
        return response;
    }

    /**
     * Follows the authorization from `authorizeUrl` through the login and consent forms as `account`,
     * and returns the URL the provider redirects to at `callbackPrefix` (not opened).
     */
    async authorize(authorizeUrl: string, account: string, callbackPrefix: string): Promise<URL> {
        let response = await this.fetch(authorizeUrl);
        let url = new URL(authorizeUrl);
        for (let step = 0; step < 20; step++) {
            if (response.status >= 300 && response.status < 400) {
                const next = new URL(response.headers.get('location')!, url);
                if (next.toString().startsWith(callbackPrefix)) {
                    return next;
                }
                url = next;
                response = await this.fetch(url.toString());
                continue;
            }
            const html = await response.text();
            assert.strictEqual(response.status, 200, `unexpected ${response.status} at ${url}: ${html.slice(0, 500)}`);
            const prompt = /name="prompt" value="(login|consent)"/.exec(html)?.[1];
            assert.ok(prompt, `no form at ${url}`);
            const form: Record<string, string> = prompt === 'login' ? { prompt, login: account, password: 'any' } : { prompt };
            response = await this.fetch(url.toString(), {
                method: 'POST',
                headers: { 'content-type': 'application/x-www-form-urlencoded' },
                body: new URLSearchParams(form).toString()
            });
        }
        throw new Error('the provider did not redirect back');
    }
}

export async function poll(server: ServerHandle, loginId: string): Promise<{ status: number; body: any }> {
    const response = await fetch(`${server.url}${HttpPaths.oidcPoll}?loginId=${encodeURIComponent(loginId)}`);
    return { status: response.status, body: await response.json() };
}

export async function startLogin(server: ServerHandle): Promise<{ loginId: string; authorizeUrl: string; expiresAt: number }> {
    const started = await postJson(server, HttpPaths.oidcStart, {});
    assert.strictEqual(started.status, 200, JSON.stringify(started.body));
    return started.body;
}
