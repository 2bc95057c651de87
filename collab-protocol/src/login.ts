/**
 * Logging in over HTTP, beyond the anonymous login of `CollaborationClient.connect`: what the server
 * offers (`GET /api/info`), token users, and OpenID Connect (start, open the authorize URL in a
 * browser, poll until the server finished the exchange). Each resolves with a `LoginResult` whose
 * `token` goes to `CollaborationClient.connect({ token })`.
 */
import { z } from 'zod';
import { CollaborationError, isErrorData } from './errors';
import { LoginResultSchema } from './server-events';
import { HttpPaths, LoginResult, ServerInfo } from './wire';

/** `POST /api/login/oidc/start` answers this. `loginId` is a secret: only the poller may know it. */
export interface OidcStartResult {
    loginId: string;
    /** Open in a browser: the identity provider's login page. */
    authorizeUrl: string;
    /** The login must be finished by then (epoch ms). */
    expiresAt: number;
    /** How often to poll. */
    pollIntervalMs: number;
}

/** `GET /api/login/oidc/poll` answers this (status 202) until the login is finished. */
export interface OidcPollPending {
    status: 'pending';
    expiresAt: number;
}

const ServerInfoSchema = z.object({
    protocol: z.number(),
    version: z.string().max(256),
    providers: z.array(z.object({ id: z.string().max(64), label: z.string().max(256) })).max(32),
    limits: z.object({ maxPayloadBytes: z.number() })
});

const OidcStartResultSchema = z.object({
    loginId: z.string().min(1).max(256),
    authorizeUrl: z.string().url().max(8192).refine(url => /^https?:/i.test(url), 'expected an http(s) URL'),
    expiresAt: z.number(),
    pollIntervalMs: z.number().int().min(100).max(60_000)
});

function trimUrl(serverUrl: string): string {
    return serverUrl.trim().replace(/\/+$/, '');
}

async function request(serverUrl: string, path: string, init: RequestInit = {}): Promise<Response> {
    try {
        return await fetch(trimUrl(serverUrl) + path, init);
    } catch (error) {
        if ((error as { name?: string })?.name === 'AbortError') {
            throw new CollaborationError('cancelled', 'The login was cancelled.');
        }
        throw new CollaborationError('disconnected', `Cannot reach the collaboration server at ${serverUrl}: ${error instanceof Error ? error.message : error}`);
    }
}

async function errorOf(response: Response): Promise<CollaborationError> {
    const body: unknown = await response.json().catch(() => undefined);
    const data = (body as { error?: unknown })?.error;
    if (isErrorData(data)) {
        return new CollaborationError(data.code, data.message);
    }
    const code = response.status === 401 ? 'unauthorized' : response.status === 403 ? 'forbidden'
        : response.status === 404 ? 'not-found' : response.status === 429 ? 'rate-limited' : 'internal';
    return new CollaborationError(code, `The collaboration server answered ${response.status} ${response.statusText}.`.trim());
}

async function parsed<T>(response: Response, schema: z.ZodType<T>, what: string): Promise<T> {
    const result = schema.safeParse(await response.json().catch(() => undefined));
    if (!result.success) {
        throw new CollaborationError('internal', `The collaboration server sent an invalid ${what}.`);
    }
    return result.data;
}

function postJson(serverUrl: string, path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
    return request(serverUrl, path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal });
}

/** `GET /api/info`: protocol version and the login providers the server offers. */
export async function getServerInfo(serverUrl: string, signal?: AbortSignal): Promise<ServerInfo> {
    const response = await request(serverUrl, HttpPaths.info, { signal });
    if (!response.ok) {
        throw await errorOf(response);
    }
    return await parsed(response, ServerInfoSchema, 'server description') as ServerInfo;
}

/** Token users: user name and shared secret (see the server's `hash-secret` command). */
export async function loginWithToken(serverUrl: string, user: string, secret: string, signal?: AbortSignal): Promise<LoginResult> {
    const response = await postJson(serverUrl, HttpPaths.loginToken, { user, secret }, signal);
    if (!response.ok) {
        throw await errorOf(response);
    }
    return parsed(response, LoginResultSchema, 'login response');
}

/** Starts an OpenID Connect login; open `authorizeUrl` in a browser, then `pollOidcLogin`. */
export async function startOidcLogin(serverUrl: string, signal?: AbortSignal): Promise<OidcStartResult> {
    const response = await postJson(serverUrl, HttpPaths.oidcStart, {}, signal);
    if (!response.ok) {
        throw await errorOf(response);
    }
    return parsed(response, OidcStartResultSchema, 'login start');
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
        if (signal?.aborted) {
            reject(new CollaborationError('cancelled', 'The login was cancelled.'));
            return;
        }
        const onAbort = () => {
            clearTimeout(timer);
            reject(new CollaborationError('cancelled', 'The login was cancelled.'));
        };
        const timer = setTimeout(() => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
        }, ms);
        signal?.addEventListener('abort', onAbort, { once: true });
    });
}

export interface PollOptions {
    signal?: AbortSignal;
    intervalMs?: number;
    /** Give up after this (epoch ms); by default when the server says the login expires. */
    deadline?: number;
}

/** Polls until the user finished logging in at the identity provider; rejects when it failed, expired or was cancelled. */
export async function pollOidcLogin(serverUrl: string, loginId: string, options: PollOptions = {}): Promise<LoginResult> {
    const interval = Math.max(100, options.intervalMs ?? 1000);
    let deadline = options.deadline ?? Date.now() + 10 * 60_000;
    const path = `${HttpPaths.oidcPoll}?loginId=${encodeURIComponent(loginId)}`;
    for (let attempt = 0; ; attempt++) {
        if (attempt > 0) {
            await delay(interval, options.signal);
        }
        if (Date.now() > deadline + 5000) {
            throw new CollaborationError('timeout', 'The login took too long; start again.');
        }
        const response = await request(serverUrl, path, { signal: options.signal });
        if (response.status === 202) {
            const pending = await response.json().catch(() => undefined) as OidcPollPending | undefined;
            if (options.deadline === undefined && typeof pending?.expiresAt === 'number') {
                deadline = pending.expiresAt;
            }
            continue;
        }
        if (!response.ok) {
            throw await errorOf(response);
        }
        return parsed(response, LoginResultSchema, 'login response');
    }
}

export interface OidcLoginOptions {
    /** Opens the identity provider's page, e.g. in a new browser tab. */
    openUrl(url: string): void | Promise<void>;
    signal?: AbortSignal;
}

/** The whole OpenID Connect login: start, open the authorize URL, poll. */
export async function loginWithOidc(serverUrl: string, options: OidcLoginOptions): Promise<LoginResult> {
    const started = await startOidcLogin(serverUrl, options.signal);
    await options.openUrl(started.authorizeUrl);
    return pollOidcLogin(serverUrl, started.loginId, { signal: options.signal, intervalMs: started.pollIntervalMs, deadline: started.expiresAt });
}
