import { inject, injectable, named } from '@theia/core/shared/inversify';
import { ILogger } from '@theia/core/lib/common/logger';
import { BackendApplicationContribution } from '@theia/core/lib/node/backend-application';
import { CollaborationError, HttpPaths, PROTOCOL_VERSION } from '@theia-collab/protocol';

export const DEFAULT_EMBEDDED_HOSTNAME = '127.0.0.1';
export const DEFAULT_EMBEDDED_PORT = 8100;

export interface RunningCoordinationServer {
    readonly url: string;
    close(): Promise<void>;
}

export type StartCoordinationServer = (options: { hostname: string; port: number }) => Promise<RunningCoordinationServer>;

export type EmbeddedServerResult =
    | { kind: 'started'; url: string; server: RunningCoordinationServer }
    | { kind: 'reused'; url: string };

/** Whether a collaboration coordination server of our protocol answers at `url`. */
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
 * Starts a coordination server on `hostname:port`; if the port is taken by one of ours (a second Theia
 * app on this machine), uses that one instead.
 */
export async function startOrReuseServer(options: {
    hostname: string;
    port: number;
    start: StartCoordinationServer;
    probe?: (url: string) => Promise<boolean>;
}): Promise<EmbeddedServerResult> {
    const { hostname, port, start } = options;
    const probe = options.probe ?? isCoordinationServer;
    try {
        const server = await start({ hostname, port });
        return { kind: 'started', url: server.url, server };
    } catch (error) {
        if ((error as NodeJS.ErrnoException)?.code !== 'EADDRINUSE' && !/EADDRINUSE/.test(String((error as Error)?.message))) {
            throw error;
        }
        const url = `http://${hostname}:${port}`;
        if (await probe(url)) {
            return { kind: 'reused', url };
        }
        throw new CollaborationError('internal', `Port ${port} on ${hostname} is used by another program, so the embedded collaboration `
            + 'server cannot start. Set COLLAB_EMBEDDED_PORT to another port, or COLLAB_SERVER_URL to an existing server.');
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
 * the one another Theia app already runs there.
 */
@injectable()
export class CollaborationEmbeddedServer implements BackendApplicationContribution {

    @inject(ILogger) @named('collaboration')
    protected readonly logger: ILogger;

    protected env: NodeJS.ProcessEnv = process.env;
    protected current: Promise<EmbeddedServerResult> | undefined;
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
        if (result.kind === 'reused' && !await isCoordinationServer(result.url)) {
            // The app whose server we shared has gone; take over.
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
                this.logger.info(result.kind === 'started'
                    ? `collaboration: embedded coordination server listening on ${result.url}`
                    : `collaboration: using the coordination server already running on ${result.url}`);
            }, () => {
                if (this.current === attempt) {
                    this.current = undefined; // try again next time
                }
            });
        }
        return this.current;
    }

    protected async start(): Promise<EmbeddedServerResult> {
        const port = parsePort(this.env.COLLAB_EMBEDDED_PORT, DEFAULT_EMBEDDED_PORT);
        const result = await startOrReuseServer({ hostname: DEFAULT_EMBEDDED_HOSTNAME, port, start: options => this.startServer(options) });
        if (this.stopped && result.kind === 'started') {
            await result.server.close();
            throw new CollaborationError('internal', 'The Theia backend is stopping.');
        }
        return result;
    }

    protected async startServer(options: { hostname: string; port: number }): Promise<RunningCoordinationServer> {
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
