import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { inject, injectable, named } from '@theia/core/shared/inversify';
import { ILogger } from '@theia/core/lib/common/logger';
import { BackendApplicationContribution } from '@theia/core/lib/node/backend-application';
import { CollaborationError, HttpPaths, PROTOCOL_VERSION } from '@theia-collab/protocol';
// Small and free of the rest of the server: loading it does not load the server.
import { createInfoChallenge, verifyInfoChallenge } from '@theia-collab/server/lib/info-challenge';

export const DEFAULT_EMBEDDED_HOSTNAME = '127.0.0.1';
export const DEFAULT_EMBEDDED_PORT = 8100;
export const EMBEDDED_SECRET_FILE_NAME = 'collaboration-embedded-server.secret';

export interface RunningCoordinationServer {
    readonly url: string;
    close(): Promise<void>;
}

/** Starts a server that answers `/api/info?challenge=` with `infoChallengeSecret` (the server's `infoChallengeSecret` option). */
export type StartCoordinationServer = (options: { hostname: string; port: number; infoChallengeSecret: string }) => Promise<RunningCoordinationServer>;

export type EmbeddedServerResult =
    | {
        kind: 'started'; url: string; server: RunningCoordinationServer;
        /** Set when the wanted port was held by something that could not prove to be ours: started on a free port instead. */
        movedFrom?: number;
    }
    | { kind: 'reused'; url: string };

/**
 * Where this user's embedded servers keep their shared secret: `COLLAB_EMBEDDED_SECRET_FILE`, else
 * `collaboration-embedded-server.secret` in `THEIA_CONFIG_DIR` or `~/.theia` (the same for every Theia app of
 * the user, so that a second app window finds the first one's server).
 */
export function embeddedSecretFile(env: NodeJS.ProcessEnv = process.env): string {
    const explicit = env.COLLAB_EMBEDDED_SECRET_FILE?.trim();
    if (explicit) {
        return explicit;
    }
    return path.join(env.THEIA_CONFIG_DIR?.trim() || path.join(os.homedir(), '.theia'), EMBEDDED_SECRET_FILE_NAME);
}

const SECRET_PATTERN = /^[A-Za-z0-9_-]{43,256}$/;

/** The secret in `file` if that is a private regular file of this user holding a well-formed secret. */
async function readPrivateSecret(file: string): Promise<string | 'missing' | 'unusable'> {
    let stat: fs.Stats;
    try {
        stat = await fs.promises.lstat(file);
    } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
            return 'missing';
        }
        throw error;
    }
    if (!stat.isFile()) {
        throw new CollaborationError('forbidden', `${file} is not a regular file (a link?): remove it, so that the embedded collaboration server can keep its secret there.`);
    }
    if (process.platform !== 'win32') {
        if (typeof process.getuid === 'function' && stat.uid !== process.getuid()) {
            throw new CollaborationError('forbidden', `${file} belongs to another user: remove it, so that the embedded collaboration server can keep its secret there.`);
        }
        if ((stat.mode & 0o077) !== 0) {
            // Others may have read it: not a secret any more.
            return 'unusable';
        }
    }
    const secret = (await fs.promises.readFile(file, 'utf8')).trim();
    return SECRET_PATTERN.test(secret) ? secret : 'unusable';
}

/**
 * This user's secret for proving the embedded server (see `isOurCoordinationServer`): read from `file`, or
 * created there (mode 0600, in a folder created 0700) the first time, or replaced when the file is readable
 * by others or malformed. Several apps starting at once end up with the same secret.
 */
export async function readOrCreateEmbeddedSecret(file: string): Promise<string> {
    await fs.promises.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    for (let attempt = 0; attempt < 5; attempt++) {
        const existing = await readPrivateSecret(file);
        if (existing !== 'missing' && existing !== 'unusable') {
            return existing;
        }
        const secret = crypto.randomBytes(32).toString('base64url');
        const temporary = `${file}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`;
        await fs.promises.writeFile(temporary, secret + '\n', { mode: 0o600, flag: 'wx' });
        try {
            if (existing === 'unusable') {
                await fs.promises.rename(temporary, file);
                return secret;
            }
            // Linking fails if another app created the file meanwhile: then that one's secret is read next round.
            await fs.promises.link(temporary, file).catch(async (error: NodeJS.ErrnoException) => {
                if (error.code === 'EEXIST') {
                    throw error;
                }
                // A file system without hard links: create it directly (still only if it does not exist).
                await fs.promises.writeFile(file, secret + '\n', { mode: 0o600, flag: 'wx' });
            });
            return secret;
        } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
                throw error;
            }
        } finally {
            await fs.promises.rm(temporary, { force: true });
        }
    }
    throw new CollaborationError('internal', `Cannot create the embedded collaboration server's secret in ${file}.`);
}

/**
 * Whether the server at `url` is a coordination server started with `secret`: it must answer a fresh challenge
 * with the HMAC of the secret, the nonce and the port it was asked on. Anything else on the port (another
 * user's program posing as one, or relaying to our real server elsewhere) fails this.
 */
export async function isOurCoordinationServer(url: string, secret: string, timeoutMs = 2000): Promise<boolean> {
    try {
        const base = new URL(url);
        const port = Number(base.port || (base.protocol === 'https:' ? 443 : 80));
        const nonce = createInfoChallenge();
        const response = await fetch(`${url.replace(/\/+$/, '')}${HttpPaths.info}?challenge=${nonce}`, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
        if (!response.ok) {
            return false;
        }
        const info = await response.json() as { protocol?: unknown; challengeResponse?: unknown };
        return info.protocol === PROTOCOL_VERSION && verifyInfoChallenge(secret, port, nonce, info.challengeResponse);
    } catch {
        return false;
    }
}

/** Whether a collaboration coordination server of our protocol answers at `url` (anyone can claim that: see `isOurCoordinationServer`). */
export async function isCoordinationServer(url: string, timeoutMs = 2000): Promise<boolean> {
    try {
        const response = await fetch(url.replace(/\/+$/, '') + HttpPaths.info, { signal: AbortSignal.timeout(timeoutMs) });
        if (!response.ok) {
            return false;
        }
        const info = await response.json() as { protocol?: unknown; providers?: unknown };
        return info.protocol === PROTOCOL_VERSION && Array.isArray(info.providers);
    } catch {
        return false;
    }
}

/**
 * Starts a coordination server on `hostname:port` that proves itself with `secret`; if the port is taken by
 * one that proves to be ours (a second Theia app of this user), uses that one instead. Anything else on the
 * port is never used: with `fallbackToFreePort` the server starts on a free port instead (`movedFrom`),
 * otherwise this fails with an error that says what to do.
 */
export async function startOrReuseServer(options: {
    hostname: string;
    port: number;
    secret: string;
    start: StartCoordinationServer;
    /** Default: `isOurCoordinationServer` with `secret`. */
    probe?: (url: string) => Promise<boolean>;
    fallbackToFreePort?: boolean;
}): Promise<EmbeddedServerResult> {
    const { hostname, port, secret, start } = options;
    const probe = options.probe ?? (url => isOurCoordinationServer(url, secret));
    try {
        const server = await start({ hostname, port, infoChallengeSecret: secret });
        return { kind: 'started', url: server.url, server };
    } catch (error) {
        if ((error as NodeJS.ErrnoException)?.code !== 'EADDRINUSE' && !/EADDRINUSE/.test(String((error as Error)?.message))) {
            throw error;
        }
        const url = `http://${hostname}:${port}`;
        if (await probe(url)) {
            return { kind: 'reused', url };
        }
        if (options.fallbackToFreePort && port !== 0) {
            const server = await start({ hostname, port: 0, infoChallengeSecret: secret });
            return { kind: 'started', url: server.url, server, movedFrom: port };
        }
        throw new CollaborationError('internal', `Port ${port} on ${hostname} is used by another program (it did not prove to be a collaboration `
            + 'server of yours), so the embedded collaboration server cannot start. Set COLLAB_EMBEDDED_PORT to another port, or COLLAB_SERVER_URL '
            + 'to an existing server.');
    }
}

export function parsePort(value: string | undefined, fallback: number): number {
    if (value === undefined || value.trim() === '') {
        return fallback;
    }
    const port = Number(value);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
        throw new CollaborationError('bad-request', `Invalid port '${value}'.`);
    }
    return port;
}

/**
 * The coordination server the backend provides to its frontends: `COLLAB_SERVER_URL` if set, else a local
 * server it embeds (disabled by `COLLAB_EMBEDDED_SERVER=0`) on 127.0.0.1:8100 (`COLLAB_EMBEDDED_PORT`), or
 * the one another Theia app of this user already runs there, once that proved itself with the user's secret
 * (`embeddedSecretFile`). Anything else on the port (another local user could pose as the server there) is
 * not used: the embedded server then listens on a free port.
 */
@injectable()
export class CollaborationEmbeddedServer implements BackendApplicationContribution {

    @inject(ILogger) @named('collaboration')
    protected readonly logger: ILogger;

    protected env: NodeJS.ProcessEnv = process.env;
    protected current: Promise<EmbeddedServerResult> | undefined;
    protected secretPromise: Promise<string> | undefined;
    protected stopped = false;

    get configuredUrl(): string | undefined {
        const url = this.env.COLLAB_SERVER_URL?.trim();
        return url ? url.replace(/\/+$/, '') : undefined;
    }

    get enabled(): boolean {
        return !this.configuredUrl && this.env.COLLAB_EMBEDDED_SERVER !== '0' && this.env.COLLAB_EMBEDDED_SERVER !== 'false';
    }

    initialize(): void {
        if (this.enabled) {
            // Do not hold up the backend; frontends wait in `getUrl`.
            this.getUrl().catch(error => this.logger.error(`collaboration: ${CollaborationError.from(error).message}`));
        }
    }

    /** The URL frontends should use by default. */
    async getUrl(): Promise<string> {
        const configured = this.configuredUrl;
        if (configured) {
            return configured;
        }
        if (!this.enabled) {
            throw new CollaborationError('not-found', 'No collaboration server is configured: set the collaboration.serverUrl preference, '
                + 'or COLLAB_SERVER_URL for the Theia backend.');
        }
        if (this.stopped) {
            throw new CollaborationError('internal', 'The Theia backend is stopping.');
        }
        let result = await this.ensure();
        if (result.kind === 'reused' && !await isOurCoordinationServer(result.url, await this.secret())) {
            // The app whose server we shared has gone (and something else may hold its port now); take over.
            this.logger.info(`collaboration: the coordination server at ${result.url} is gone, starting our own`);
            this.current = undefined;
            result = await this.ensure();
        }
        return result.url;
    }

    protected ensure(): Promise<EmbeddedServerResult> {
        if (!this.current) {
            const attempt = this.start();
            this.current = attempt;
            attempt.then(result => {
                if (result.kind === 'started' && result.movedFrom !== undefined) {
                    this.logger.warn(`collaboration: something else answers on ${DEFAULT_EMBEDDED_HOSTNAME}:${result.movedFrom} and could not prove to be `
                        + `a collaboration server of this user (another user's program?), so it is not used. The embedded coordination server `
                        + `listens on ${result.url} instead.`);
                    return;
                }
                this.logger.info(result.kind === 'started'
                    ? `collaboration: embedded coordination server listening on ${result.url}`
                    : `collaboration: using the coordination server already running on ${result.url} (it proved to be ours)`);
            }, () => {
                if (this.current === attempt) {
                    this.current = undefined; // try again next time
                }
            });
        }
        return this.current;
    }

    /** This user's secret for proving embedded servers (see `readOrCreateEmbeddedSecret`). */
    protected secret(): Promise<string> {
        if (!this.secretPromise) {
            const attempt = readOrCreateEmbeddedSecret(embeddedSecretFile(this.env));
            this.secretPromise = attempt;
            attempt.catch(() => {
                if (this.secretPromise === attempt) {
                    this.secretPromise = undefined;
                }
            });
        }
        return this.secretPromise;
    }

    protected async start(): Promise<EmbeddedServerResult> {
        const port = parsePort(this.env.COLLAB_EMBEDDED_PORT, DEFAULT_EMBEDDED_PORT);
        const result = await startOrReuseServer({
            hostname: DEFAULT_EMBEDDED_HOSTNAME, port, secret: await this.secret(), fallbackToFreePort: true, start: options => this.startServer(options)
        });
        if (this.stopped && result.kind === 'started') {
            await result.server.close();
            throw new CollaborationError('internal', 'The Theia backend is stopping.');
        }
        return result;
    }

    protected async startServer(options: { hostname: string; port: number; infoChallengeSecret: string }): Promise<RunningCoordinationServer> {
        // Loaded on demand: a backend pointed at an external server never loads the server code.
        const { startServer } = await import('@theia-collab/server');
        return startServer(options);
    }

    async onStop(): Promise<void> {
        this.stopped = true;
        const current = this.current;
        this.current = undefined;
        const result = await current?.catch(() => undefined);
        if (result?.kind === 'started') {
            await result.server.close().catch(error => this.logger.warn('collaboration: stopping the embedded server failed', error));
        }
    }
}
