import * as crypto from 'crypto';
import { startServer } from '@theia-collab/server';
import type { ServerHandle } from '@theia-collab/server/lib/server';
import { freePort } from './wait';

export interface TestCoordinationServer {
    readonly url: string;
    readonly port: number;
    /** What tests may look at: its metrics and stored content. */
    readonly metrics: ServerHandle['metrics'];
    readonly contentStore: ServerHandle['contentStore'];
    close(): Promise<void>;
}

/**
 * A real coordination server, in this process, on a free port of 127.0.0.1 (`COLLAB_LOG_LEVEL` for its log).
 * Being in-process (no child process, no pipes), it cannot outlive the test process.
 */
export async function startCoordinationServer(options: Parameters<typeof startServer>[0] = {}): Promise<TestCoordinationServer> {
    const logLevel = (process.env.COLLAB_LOG_LEVEL ?? 'warn') as NonNullable<typeof options.logLevel>;
    const secret = crypto.randomBytes(32).toString('base64url');
    const server = await startServer({ logLevel, secret, ...options, hostname: '127.0.0.1', port: await freePort() });
    return { url: server.url, port: server.port, metrics: server.metrics, contentStore: server.contentStore, close: () => server.close() };
}
