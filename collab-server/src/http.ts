/**
 * The HTTP side: server info, logins, health, and the landing page of invite links. Plain node
 * http with a tiny router; socket.io serves its own path on the same server.
 */
import type * as http from 'http';
import type { Logger } from 'pino';
import { CollaborationError, CollaborationErrorData } from '@theia-collab/protocol/lib/errors';
import { HttpPaths, PROTOCOL_VERSION, RoomId, ServerInfo } from '@theia-collab/protocol/lib/wire';
import type { LoginProvider, TokenService } from './auth';
import { CHALLENGE_PATTERN, secretsEqual } from './info-challenge';
import type { OidcLoginProvider } from './oidc';
import type { KeyedRateLimiter } from './rate-limit';

export interface HttpDependencies {
    version: string;
    providers: LoginProvider[];
    /** OpenID Connect login (start, callback, poll), when configured. */
    oidc?: OidcLoginProvider;
    tokens: TokenService;
    loginLimiter: KeyedRateLimiter;
    maxPayloadBytes: number;
    originAllowed(origin: string | undefined): boolean;
    remoteAddress(request: http.IncomingMessage): string;
    /** Readiness (see health.ts): 200 when ready, 503 otherwise. */
    health(): Promise<{ ready: boolean; body: object }>;
    /** Prometheus text exposition; `/metrics` answers 404 without it. */
    metrics?: () => Promise<{ contentType: string; body: string }>;
    /** When set, `/metrics` needs `Authorization: Bearer <metricsToken>`. */
    metricsToken?: string;
    /** When set, `/api/info?challenge=<nonce>` also answers `challengeResponse` (see info-challenge.ts). */
    infoChallenge?: (nonce: string) => string;
    logger: Logger;
}

const MAX_BODY_BYTES = 16 * 1024;
/** Liveness only (the process answers); `/health` is readiness. */
const LIVENESS_PATH = '/health/live';
const STATUS: Record<string, number> = {
    'bad-request': 400,
    'unauthorized': 401,
    'forbidden': 403,
    'not-found': 404,
    'too-large': 413,
    'unsupported-media-type': 415,
    'rate-limited': 429,
    'unavailable': 503
};

export function createHttpHandler(deps: HttpDependencies): (request: http.IncomingMessage, response: http.ServerResponse) => void {
    const loginRoutes = new Map(deps.providers.map(provider => [provider.path, provider]));

    const route = async (request: http.IncomingMessage, response: http.ServerResponse): Promise<void> => {
        const url = new URL(request.url ?? '/', 'http://localhost');
        const path = url.pathname;
        const method = request.method ?? 'GET';
        response.setHeader('X-Content-Type-Options', 'nosniff');
        response.setHeader('Referrer-Policy', 'no-referrer');

        if (path.startsWith('/api/')) {
            const origin = request.headers.origin;
            if (origin !== undefined && !deps.originAllowed(origin)) {
                return sendError(response, 403, { code: 'forbidden', message: 'Origin not allowed.' });
            }
            if (origin !== undefined) {
                response.setHeader('Access-Control-Allow-Origin', origin);
                response.setHeader('Vary', 'Origin');
            }
            response.setHeader('Cache-Control', 'no-store');
            if (method === 'OPTIONS') {
                response.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
                response.setHeader('Access-Control-Allow-Headers', 'Content-Type');
                response.setHeader('Access-Control-Max-Age', '600');
                response.writeHead(204).end();
                return;
            }
        }

        if (path === HttpPaths.info && method === 'GET') {
            const info: ServerInfo & { challengeResponse?: string } = {
                protocol: PROTOCOL_VERSION,
                version: deps.version,
                providers: [...deps.providers, ...deps.oidc ? [deps.oidc] : []].map(provider => ({ id: provider.id, label: provider.label })),
                limits: { maxPayloadBytes: deps.maxPayloadBytes }
            };
            const challenge = url.searchParams.get('challenge');
            if (challenge !== null && deps.infoChallenge) {
                if (!CHALLENGE_PATTERN.test(challenge)) {
                    return sendError(response, 400, { code: 'bad-request', message: 'The challenge must be 16 to 128 base64url characters.' });
                }
                info.challengeResponse = deps.infoChallenge(challenge);
            }
            return sendJson(response, 200, info);
        }
        const provider = loginRoutes.get(path);
        if (provider && method === 'POST') {
            const address = deps.remoteAddress(request);
            if (!deps.loginLimiter.take(address)) {
                deps.logger.warn({ address, provider: provider.id }, 'login rate limited');
                return sendError(response, 429, { code: 'rate-limited', message: 'Too many login attempts; try again later.' });
            }
            const body = await readJson(request);
            const user = await provider.login(body);
            const result = await deps.tokens.issueLoginToken(user);
            deps.logger.info({ user: user.id, provider: provider.id }, 'login');
            return sendJson(response, 200, result);
        }
        if (deps.oidc && await deps.oidc.route(request, response, url)) {
            return;
        }
        if (path === HttpPaths.health && method === 'GET') {
            response.setHeader('Cache-Control', 'no-store');
            const health = await deps.health();
            return sendJson(response, health.ready ? 200 : 503, health.body);
        }
        if (path === LIVENESS_PATH && method === 'GET') {
            response.setHeader('Cache-Control', 'no-store');
            return sendJson(response, 200, { status: 'ok' });
        }
        if (path === HttpPaths.metrics && method === 'GET' && deps.metrics) {
            if (deps.metricsToken !== undefined && !bearerMatches(request.headers.authorization, deps.metricsToken)) {
                response.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
                response.setHeader('Cache-Control', 'no-store');
                deps.logger.debug({ address: deps.remoteAddress(request) }, 'metrics request without the right token');
                return sendError(response, 401, { code: 'unauthorized', message: 'The metrics need a bearer token.' });
            }
            const metrics = await deps.metrics();
            response.writeHead(200, { 'Content-Type': metrics.contentType, 'Content-Length': Buffer.byteLength(metrics.body), 'Cache-Control': 'no-store' });
            response.end(metrics.body);
            return;
        }
        const join = /^\/join\/([^/]*)$/.exec(path);
        if (join && method === 'GET') {
            return sendJoinPage(response, decodeSafely(join[1]));
        }
        if (provider || path === HttpPaths.info || path === HttpPaths.health || path === LIVENESS_PATH || (path === HttpPaths.metrics && deps.metrics) || join) {
            response.setHeader('Allow', provider ? 'POST' : 'GET');
            return sendError(response, 405, { code: 'bad-request', message: 'Method not allowed.' });
        }
        return sendError(response, 404, { code: 'not-found', message: 'Not found.' });
    };

    return (request, response) => {
        route(request, response).catch(error => {
            const data = error instanceof CollaborationError ? error.toJSON() : undefined;
            if (!data) {
                deps.logger.error({ err: error, path: request.url?.split('?')[0] }, 'http handler failed');
            }
            if (!response.headersSent) {
                sendError(response, data ? STATUS[data.code] ?? 400 : 500, data ?? { code: 'internal', message: 'Internal server error.' });
            } else {
                response.destroy();
            }
        });
    };
}

/** Whether an Authorization header carries `Bearer <token>` (constant time in the token). */
export function bearerMatches(header: string | undefined, token: string): boolean {
    const match = typeof header === 'string' && header.length <= 2048 ? /^Bearer[ ]+(\S+)\s*$/i.exec(header) : null;
    // Compared even without a match, so that the time taken says nothing about the token.
    return secretsEqual(match ? match[1] : '', token) && !!match;
}

export async function readJson(request: http.IncomingMessage): Promise<unknown> {
    const type = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/json') {
        // Also keeps cross-site HTML forms (which cannot send JSON) out.
        throw new CollaborationError('unsupported-media-type', 'Send a JSON body (Content-Type: application/json).');
    }
    const declared = Number(request.headers['content-length']);
    if (declared > MAX_BODY_BYTES) {
        throw new CollaborationError('too-large', 'Request body too large.');
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request) {
        size += (chunk as Buffer).length;
        if (size > MAX_BODY_BYTES) {
            throw new CollaborationError('too-large', 'Request body too large.');
        }
        chunks.push(chunk as Buffer);
    }
    try {
        return JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
        throw new CollaborationError('bad-request', 'Malformed JSON body.');
    }
}

export function sendJson(response: http.ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    response.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
    response.end(text);
}

export function sendError(response: http.ServerResponse, status: number, error: CollaborationErrorData): void {
    sendJson(response, status, { error });
}

function decodeSafely(value: string): string {
    try {
        return decodeURIComponent(value);
    } catch {
        return value;
    }
}

export function escapeHtml(value: string): string {
    return value.replace(/[&<>"'`]/g, char => `&#${char.charCodeAt(0)};`);
}

function sendJoinPage(response: http.ServerResponse, roomId: string): void {
    const valid = RoomId.safeParse(roomId).success;
    const shown = escapeHtml(roomId.slice(0, 128));
    const body = valid
        ? `<p>You were invited to a collaboration session (<code>${shown}</code>).</p>
<p>To join, open Theia and choose <strong>Collaborate &gt; Join Session</strong>, then paste the <em>complete</em> link
from your address bar, including the part after <code>#</code>: it carries the host's key fingerprint, which never
reaches this server and lets Theia verify that you are talking to the right host.</p>`
        : `<p>This does not look like a valid session link (<code>${shown}</code>). Ask the host for a new invitation.</p>`;
    const html = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Join a Theia collaboration session</title>
<style>body{font-family:system-ui,sans-serif;max-width:40em;margin:3em auto;padding:0 1em;line-height:1.5}code{word-break:break-all}</style>
</head><body><h1>Join a Theia collaboration session</h1>
${body}
</body></html>
`;
    response.writeHead(valid ? 200 : 404, {
        'Content-Type': 'text/html; charset=utf-8',
        'Content-Length': Buffer.byteLength(html),
        'Content-Security-Policy': `default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`,
        'X-Frame-Options': 'DENY',
        'Cache-Control': 'no-store'
    });
    response.end(html);
}
