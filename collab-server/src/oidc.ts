/**
 * OpenID Connect login (authorization code flow with PKCE S256, state and nonce) for IDE clients that
 * cannot receive the redirect themselves:
 *
 * 1. the client `POST /api/login/oidc/start` -> `{loginId, authorizeUrl}`; `loginId` is a 256-bit secret;
 * 2. the user opens `authorizeUrl` in a browser and logs in at the identity provider;
 * 3. the provider redirects the browser to `/api/login/oidc/callback?code&state`; this server exchanges
 *    the code, verifies the ID token (signature via the provider's JWKS, issuer, audience, nonce, expiry)
 *    and shows "you can close this tab";
 * 4. the client polls `GET /api/login/oidc/poll?loginId=...` until it gets the `LoginResult` (a login
 *    token of this server for user `oidc:<sub>`).
 *
 * Pending logins live in an `OidcLoginStore` (oidc-login-store.ts): in memory, or in Redis when
 * several instances serve together, so that start, callback and poll may each reach another instance.
 * They expire, are bounded in number, and each state, code and result is used once.
 */
import * as crypto from 'crypto';
import type * as http from 'http';
import { createRemoteJWKSet, errors as joseErrors, JWTPayload, jwtVerify } from 'jose';
import type { Logger } from 'pino';
import { z } from 'zod';
import { normalizeDisplayName } from '@theia-collab/protocol/lib/display-name';
import { CollaborationError } from '@theia-collab/protocol/lib/errors';
import type { OidcPollPending, OidcStartResult } from '@theia-collab/protocol/lib/login';
import { HttpPaths, LoginResult } from '@theia-collab/protocol/lib/wire';
import { randomId, TokenService, UserIdentity } from './auth';
import { escapeHtml, readJson, sendError, sendJson } from './http';
import { LoginOutcome, MemoryOidcLoginStore, OidcLoginStore, PendingLogin } from './oidc-login-store';
import type { KeyedRateLimiter } from './rate-limit';

export interface OidcOptions {
    /** Issuer URL; `<issuer>/.well-known/openid-configuration` must describe it. */
    issuer: string;
    clientId: string;
    /** Omit for public clients (PKCE only). Never a flag: environment or config file. */
    clientSecret?: string;
    /** Default `openid profile email`; `openid` is always added. */
    scopes?: string[];
    /**
     * The public base URL of this server as the browser reaches it (e.g. behind a proxy); the redirect
     * URI registered at the provider is `<redirectBaseUrl>/api/login/oidc/callback`. Default: the
     * server's own URL (fine on localhost only).
     */
    redirectBaseUrl?: string;
    /** When set, only users whose (not unverified) e-mail address is in one of these domains may log in. */
    allowedEmailDomains?: string[];
    /** Shown in the login choice. Default `Single sign-on`. */
    label?: string;
    /** How long a started login may take. Default 5 minutes. */
    loginTimeoutMs?: number;
    /** Pending logins kept at once. Default 1000. */
    maxPendingLogins?: number;
}

export const OidcOptionsSchema = z.object({
    issuer: z.string().url(),
    clientId: z.string().min(1).max(512),
    clientSecret: z.string().min(1).max(4096).optional(),
    scopes: z.array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'invalid scope')).max(32).optional(),
    redirectBaseUrl: z.string().url().optional(),
    allowedEmailDomains: z.array(z.string().min(1).max(253).regex(/^[A-Za-z0-9.-]+$/, 'invalid domain')).max(1000).optional(),
    label: z.string().min(1).max(64).optional(),
    loginTimeoutMs: z.number().positive().max(60 * 60 * 1000).optional(),
    maxPendingLogins: z.number().int().positive().max(1_000_000).optional()
}).strict();

function isLoopbackUrl(value: string): boolean {
    try {
        const host = new URL(value).hostname;
        return host === 'localhost' || host === '127.0.0.1' || host === '[::1]' || host.endsWith('.localhost');
    } catch {
        return false;
    }
}

/** Problems with the OIDC options, for `resolveOptions`. */
export function checkOidcOptions(options: unknown, production: boolean): string[] {
    const parsed = OidcOptionsSchema.safeParse(options);
    if (!parsed.success) {
        return parsed.error.issues.map(issue => `oidc.${issue.path.join('.')}: ${issue.message}`);
    }
    const problems: string[] = [];
    const { issuer, redirectBaseUrl } = parsed.data;
    for (const [name, url] of [['issuer', issuer], ['redirectBaseUrl', redirectBaseUrl]] as const) {
        if (url !== undefined && !/^https?:$/.test(new URL(url).protocol)) {
            problems.push(`oidc.${name} must be an http(s) URL`);
        } else if (url !== undefined && production && new URL(url).protocol !== 'https:' && !isLoopbackUrl(url)) {
            problems.push(`oidc.${name} must use https in production`);
        }
    }
    if (production && !redirectBaseUrl) {
        problems.push('oidc.redirectBaseUrl (COLLAB_OIDC_REDIRECT_BASE_URL) is needed in production');
    }
    return problems;
}

/** The parts of the discovery document used here. */
const DiscoverySchema = z.object({
    issuer: z.string().url(),
    authorization_endpoint: z.string().url(),
    token_endpoint: z.string().url(),
    jwks_uri: z.string().url(),
    userinfo_endpoint: z.string().url().optional(),
    id_token_signing_alg_values_supported: z.array(z.string()).optional(),
    token_endpoint_auth_methods_supported: z.array(z.string()).optional(),
    code_challenge_methods_supported: z.array(z.string()).optional()
}).passthrough();
type Discovery = z.infer<typeof DiscoverySchema>;

const TokenResponseSchema = z.object({
    id_token: z.string().min(1).max(16384),
    access_token: z.string().max(16384).optional(),
    token_type: z.string().max(64).optional()
}).passthrough();

const TokenErrorSchema = z.object({ error: z.string().max(256), error_description: z.string().max(1024).optional() }).passthrough();

const CallbackQuery = z.object({
    state: z.string().min(1).max(512),
    code: z.string().min(1).max(4096).optional(),
    error: z.string().max(256).optional(),
    error_description: z.string().max(1024).optional()
});

const LOGIN_ID = /^[A-Za-z0-9_-]{43}$/;
const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const DISCOVERY_TTL_MS = 60 * 60 * 1000;
const FETCH_TIMEOUT_MS = 10_000;
const MAX_RESPONSE_BYTES = 1024 * 1024;
/** A finished login waits at least this long for its poller. */
const RESULT_GRACE_MS = 30_000;
const POLL_INTERVAL_MS = 1000;

export interface OidcDependencies {
    tokens: TokenService;
    loginLimiter: KeyedRateLimiter;
    remoteAddress(request: http.IncomingMessage): string;
    /** The server's own URL, the default redirect base. */
    serverUrl(): string;
    logger: Logger;
    now?: () => number;
    /** Where pending logins are kept; default in memory (this instance only). */
    logins?: OidcLoginStore;
}

async function readLimited(response: Response): Promise<string> {
    const declared = Number(response.headers.get('content-length'));
    if (declared > MAX_RESPONSE_BYTES) {
        throw new Error('response too large');
    }
    const reader = response.body?.getReader();
    if (!reader) {
        return '';
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (; ;) {
        const { done, value } = await reader.read();
        if (done) {
            break;
        }
        size += value.byteLength;
        if (size > MAX_RESPONSE_BYTES) {
            await reader.cancel();
            throw new Error('response too large');
        }
        chunks.push(value);
    }
    return Buffer.concat(chunks).toString('utf8');
}

function stringClaim(value: unknown, max = 256): string | undefined {
    return typeof value === 'string' && value.length > 0 && value.length <= max ? value : undefined;
}

/** A display name from the claims: name, preferred_username, e-mail, sub; normalised (normalizeDisplayName: no controls, bidi or invisible characters; at most Limits.maxNameLength). */
export function displayNameOf(claims: Record<string, unknown>): string {
    const given = [stringClaim(claims.given_name), stringClaim(claims.family_name)].filter(Boolean).join(' ');
    const candidates = [claims.name, claims.preferred_username, given, claims.nickname, claims.email, claims.sub];
    for (const candidate of candidates) {
        const value = normalizeDisplayName(stringClaim(candidate, 1024) ?? '');
        if (value) {
            return value;
        }
    }
    return 'OIDC user';
}

export class OidcLoginProvider {
    readonly id = 'oidc';
    readonly label: string;
    protected readonly issuer: string;
    protected readonly scopes: string[];
    protected readonly loginTimeoutMs: number;
    protected readonly maxPending: number;
    protected readonly allowedDomains?: Set<string>;
    protected readonly logins: OidcLoginStore;
    protected discovery?: { promise: Promise<{ document: Discovery; jwks: ReturnType<typeof createRemoteJWKSet> }>; at: number };
    protected readonly now: () => number;

    constructor(protected readonly options: OidcOptions, protected readonly deps: OidcDependencies) {
        this.issuer = options.issuer.replace(/\/+$/, '');
        this.label = options.label ?? 'Single sign-on';
        const scopes = options.scopes?.length ? options.scopes : ['openid', 'profile', 'email'];
        this.scopes = scopes.includes('openid') ? scopes : ['openid', ...scopes];
        this.loginTimeoutMs = options.loginTimeoutMs ?? 5 * 60 * 1000;
        this.maxPending = options.maxPendingLogins ?? 1000;
        this.allowedDomains = options.allowedEmailDomains?.length ? new Set(options.allowedEmailDomains.map(domain => domain.toLowerCase())) : undefined;
        this.now = deps.now ?? Date.now;
        this.logins = deps.logins ?? new MemoryOidcLoginStore();
    }

    get redirectUri(): string {
        return `${(this.options.redirectBaseUrl ?? this.deps.serverUrl()).replace(/\/+$/, '')}${HttpPaths.oidcCallback}`;
    }

    /** Handles the OIDC routes; false for other paths. */
    async route(request: http.IncomingMessage, response: http.ServerResponse, url: URL): Promise<boolean> {
        const method = request.method ?? 'GET';
        const routes: Record<string, [string, () => Promise<void>]> = {
            [HttpPaths.oidcStart]: ['POST', () => this.start(request, response)],
            [HttpPaths.oidcCallback]: ['GET', () => this.callback(response, url)],
            [HttpPaths.oidcPoll]: ['GET', () => this.poll(response, url)]
        };
        const route = routes[url.pathname];
        if (!route) {
            return false;
        }
        if (method !== route[0]) {
            response.setHeader('Allow', route[0]);
            sendError(response, 405, { code: 'bad-request', message: 'Method not allowed.' });
        } else {
            await route[1]();
        }
        return true;
    }

    /** Forgets expired logins. */
    sweep(): void {
        this.logins.sweep(this.now());
    }

    protected async start(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
        const address = this.deps.remoteAddress(request);
        if (!this.deps.loginLimiter.take(address)) {
            this.deps.logger.warn({ address, provider: 'oidc' }, 'login rate limited');
            return sendError(response, 429, { code: 'rate-limited', message: 'Too many login attempts; try again later.' });
        }
        const body = await readJson(request);
        if (typeof body !== 'object' || body === null || Array.isArray(body) || Object.keys(body).length > 0) {
            throw new CollaborationError('bad-request', 'Expected an empty JSON object.');
        }
        const { document } = await this.discover();
        const pending: PendingLogin = {
            loginId: randomId(32),
            state: randomId(32),
            nonce: randomId(32),
            codeVerifier: randomId(32),
            expiresAt: this.now() + this.loginTimeoutMs,
            address
        };
        const authorize = new URL(document.authorization_endpoint);
        const params: Record<string, string> = {
            response_type: 'code',
            client_id: this.options.clientId,
            redirect_uri: this.redirectUri,
            scope: this.scopes.join(' '),
            state: pending.state,
            nonce: pending.nonce,
            code_challenge: crypto.createHash('sha256').update(pending.codeVerifier).digest('base64url'),
            code_challenge_method: 'S256'
        };
        for (const [key, value] of Object.entries(params)) {
            authorize.searchParams.set(key, value);
        }
        if (!await this.logins.add(pending, this.maxPending, this.now())) {
            return sendError(response, 429, { code: 'rate-limited', message: 'Too many logins in progress; try again later.' });
        }
        this.deps.logger.info({ address, provider: 'oidc' }, 'oidc login started');
        const result: OidcStartResult = { loginId: pending.loginId, authorizeUrl: authorize.toString(), expiresAt: pending.expiresAt, pollIntervalMs: POLL_INTERVAL_MS };
        sendJson(response, 200, result);
    }

    protected async poll(response: http.ServerResponse, url: URL): Promise<void> {
        const loginId = url.searchParams.get('loginId') ?? '';
        const pending = LOGIN_ID.test(loginId) ? await this.logins.poll(loginId) : undefined;
        if (!pending || pending.expiresAt <= this.now()) {
            if (pending) {
                await this.logins.remove(pending.loginId);
            }
            return sendError(response, 404, { code: 'not-found', message: 'This login expired or is unknown; start again.' });
        }
        if (!pending.outcome) {
            const body: OidcPollPending = { status: 'pending', expiresAt: pending.expiresAt };
            return sendJson(response, 202, body);
        }
        // The store handed the outcome out once (and forgot the login).
        if ('result' in pending.outcome) {
            return sendJson(response, 200, pending.outcome.result);
        }
        return sendError(response, pending.outcome.error.code === 'forbidden' ? 403 : 401, pending.outcome.error);
    }

    protected async callback(response: http.ServerResponse, url: URL): Promise<void> {
        const query = CallbackQuery.safeParse(Object.fromEntries(url.searchParams));
        // A state is good for one callback, whatever happens next: taking it spends it (atomically in Redis).
        const pending = query.success ? await this.logins.takeByState(query.data.state) : undefined;
        if (!query.success || !pending) {
            return sendPage(response, 400, 'Login failed', 'This login link is invalid, has expired or was already used. Start the login again from Theia.');
        }
        if (pending.expiresAt <= this.now() || pending.outcome) {
            await this.logins.remove(pending.loginId);
            return sendPage(response, 400, 'Login expired', 'This login took too long. Start the login again from Theia.');
        }
        const finish = (outcome: LoginOutcome) => {
            const now = this.now();
            return this.logins.finish(pending.loginId, outcome, Math.max(pending.expiresAt, now + RESULT_GRACE_MS), now);
        };
        const { code, error, error_description } = query.data;
        if (error || !code) {
            const message = error === 'access_denied' ? 'The login was declined at the identity provider.'
                : `The identity provider refused the login (${error ?? 'no code'}${error_description ? `: ${error_description}` : ''}).`;
            await finish({ error: { code: 'unauthorized', message } });
            this.deps.logger.info({ provider: 'oidc', error: error ?? 'no code' }, 'oidc login refused by the provider');
            return sendPage(response, 401, 'Login failed', message);
        }
        let user: UserIdentity;
        let result: LoginResult;
        try {
            user = await this.exchange(code, pending);
            result = await this.deps.tokens.issueLoginToken(user);
        } catch (failure) {
            const refused = failure instanceof CollaborationError ? failure : new CollaborationError('unauthorized', 'The login could not be completed.');
            if (!(failure instanceof CollaborationError)) {
                this.deps.logger.warn({ err: failure, provider: 'oidc' }, 'oidc login failed');
            } else {
                this.deps.logger.info({ provider: 'oidc', code: failure.code, reason: failure.message }, 'oidc login refused');
            }
            await finish({ error: refused.toJSON() });
            return sendPage(response, refused.code === 'forbidden' ? 403 : 401, 'Login failed', refused.message);
        }
        await finish({ result });
        this.deps.logger.info({ user: user.id, provider: 'oidc' }, 'login');
        return sendPage(response, 200, 'Logged in', `You are logged in as ${user.name}. You can close this tab and return to Theia.`);
    }

    /** Discovery document and key set, cached for an hour; a failure is retried on the next login. */
    protected discover(): Promise<{ document: Discovery; jwks: ReturnType<typeof createRemoteJWKSet> }> {
        if (!this.discovery || this.now() - this.discovery.at > DISCOVERY_TTL_MS) {
            const promise = (async () => {
                const response = await this.fetch(`${this.issuer}/.well-known/openid-configuration`, { headers: { accept: 'application/json' } });
                if (!response.ok) {
                    throw new Error(`discovery answered ${response.status}`);
                }
                const document = DiscoverySchema.parse(JSON.parse(await readLimited(response)));
                if (document.issuer.replace(/\/+$/, '') !== this.issuer) {
                    throw new Error(`discovery names issuer ${document.issuer}, expected ${this.options.issuer}`);
                }
                if (document.code_challenge_methods_supported && !document.code_challenge_methods_supported.includes('S256')) {
                    this.deps.logger.warn('the OpenID provider does not list PKCE S256 support; using it anyway');
                }
                return { document, jwks: createRemoteJWKSet(new URL(document.jwks_uri), { timeoutDuration: FETCH_TIMEOUT_MS }) };
            })();
            this.discovery = { promise, at: this.now() };
            promise.catch(error => {
                this.deps.logger.error({ err: error, issuer: this.issuer }, 'OpenID Connect discovery failed');
                if (this.discovery?.promise === promise) {
                    this.discovery = undefined;
                }
            });
        }
        return this.discovery.promise.catch(() => {
            throw new CollaborationError('unavailable', 'The identity provider cannot be reached; try again later.');
        });
    }

    protected async fetch(url: string, init: RequestInit): Promise<Response> {
        return fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    }

    /** Code -> tokens -> verified ID token (+ userinfo when claims are missing) -> our user. */
    protected async exchange(code: string, pending: PendingLogin): Promise<UserIdentity> {
        const { document, jwks } = await this.discover();
        const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: this.redirectUri, code_verifier: pending.codeVerifier });
        const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
        const secret = this.options.clientSecret;
        const methods = document.token_endpoint_auth_methods_supported;
        if (secret && (!methods || methods.includes('client_secret_basic'))) {
            const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
            headers.authorization = `Basic ${Buffer.from(`${encode(this.options.clientId)}:${encode(secret)}`).toString('base64')}`;
        } else {
            body.set('client_id', this.options.clientId);
            if (secret) {
                body.set('client_secret', secret);
            }
        }
        const response = await this.fetch(document.token_endpoint, { method: 'POST', headers, body: body.toString() });
        let json: unknown;
        try {
            json = JSON.parse(await readLimited(response));
        } catch {
            json = undefined;
        }
        if (!response.ok) {
            const error = TokenErrorSchema.safeParse(json);
            throw new CollaborationError('unauthorized', `The identity provider refused the login code (${error.success ? error.data.error : response.status}).`);
        }
        const tokens = TokenResponseSchema.safeParse(json);
        if (!tokens.success) {
            throw new CollaborationError('unauthorized', 'The identity provider sent no ID token.');
        }
        const claims = await this.verifyIdToken(tokens.data.id_token, pending.nonce, document, jwks);
        const needsUserinfo = !(stringClaim(claims.name) || stringClaim(claims.preferred_username)) || (this.allowedDomains && !stringClaim(claims.email));
        if (needsUserinfo && document.userinfo_endpoint && tokens.data.access_token && (tokens.data.token_type ?? 'bearer').toLowerCase() === 'bearer') {
            Object.assign(claims, { ...await this.userinfo(document.userinfo_endpoint, tokens.data.access_token, claims.sub!), ...claims });
        }
        this.checkEmailDomain(claims);
        const sub = claims.sub!;
        const id = sub.length <= 200 ? `oidc:${sub}` : `oidc:#${crypto.createHash('sha256').update(sub).digest('base64url')}`;
        return { id, name: displayNameOf(claims), provider: 'oidc' };
    }

    protected async verifyIdToken(idToken: string, nonce: string, document: Discovery, jwks: ReturnType<typeof createRemoteJWKSet>): Promise<JWTPayload & Record<string, unknown>> {
        const advertised = document.id_token_signing_alg_values_supported;
        const algorithms = advertised ? ASYMMETRIC_ALGORITHMS.filter(alg => advertised.includes(alg)) : ['RS256'];
        let payload: JWTPayload;
        try {
            ({ payload } = await jwtVerify(idToken, jwks, {
                issuer: document.issuer,
                audience: this.options.clientId,
                algorithms: algorithms.length ? algorithms : ['RS256'],
                clockTolerance: 60,
                requiredClaims: ['sub', 'exp', 'iat']
            }));
        } catch (error) {
            if (error instanceof joseErrors.JWTExpired) {
                throw new CollaborationError('unauthorized', 'The ID token has expired.');
            }
            this.deps.logger.info({ provider: 'oidc', reason: error instanceof Error ? error.message : String(error) }, 'ID token refused');
            throw new CollaborationError('unauthorized', 'The ID token could not be verified.');
        }
        if (typeof payload.nonce !== 'string' || !safeEqual(payload.nonce, nonce)) {
            throw new CollaborationError('unauthorized', 'The ID token does not belong to this login (nonce).');
        }
        if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== this.options.clientId) {
            throw new CollaborationError('unauthorized', 'The ID token was issued to another party (azp).');
        }
        if (payload.azp !== undefined && payload.azp !== this.options.clientId) {
            throw new CollaborationError('unauthorized', 'The ID token was issued to another party (azp).');
        }
        if (!stringClaim(payload.sub, 255)) {
            throw new CollaborationError('unauthorized', 'The ID token has no valid subject.');
        }
        return payload as JWTPayload & Record<string, unknown>;
    }

    protected async userinfo(endpoint: string, accessToken: string, sub: string): Promise<Record<string, unknown>> {
        try {
            const response = await this.fetch(endpoint, { headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' } });
            if (!response.ok) {
                throw new Error(`userinfo answered ${response.status}`);
            }
            const info = JSON.parse(await readLimited(response)) as Record<string, unknown>;
            if (typeof info !== 'object' || info === null || info.sub !== sub) {
                throw new Error('userinfo is about another subject');
            }
            return info;
        } catch (error) {
            this.deps.logger.warn({ err: error, provider: 'oidc' }, 'userinfo failed; continuing with the ID token claims');
            return {};
        }
    }

    protected checkEmailDomain(claims: Record<string, unknown>): void {
        if (!this.allowedDomains) {
            return;
        }
        const email = stringClaim(claims.email)?.toLowerCase();
        const domain = email && email.includes('@') ? email.slice(email.lastIndexOf('@') + 1) : undefined;
        if (!domain || claims.email_verified === false || claims.email_verified === 'false') {
            throw new CollaborationError('forbidden', 'Your account has no verified e-mail address, which this server requires.');
        }
        if (!this.allowedDomains.has(domain)) {
            throw new CollaborationError('forbidden', `Accounts of ${domain} may not use this server.`);
        }
    }
}

function safeEqual(a: string, b: string): boolean {
    const left = Buffer.from(a);
    const right = Buffer.from(b);
    return left.length === right.length && crypto.timingSafeEqual(left, right);
}

function sendPage(response: http.ServerResponse, status: number, title: string, message: string): void {
    const html = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} – Theia collaboration</title>
<style>body{font-family:system-ui,sans-serif;max-width:40em;margin:3em auto;padding:0 1em;line-height:1.5}</style>
</head><body><h1>${escapeHtml(title)}</h1>
<p>${escapeHtml(message)}</p>
</body></html>
`;
    response.writeHead(status, {
        'Content-Type': 'text/html; charset=utf-8',
        'Content-Length': Buffer.byteLength(html),
        'Content-Security-Policy': `default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`,
        'X-Frame-Options': 'DENY',
        'Cache-Control': 'no-store'
    });
    response.end(html);
}
