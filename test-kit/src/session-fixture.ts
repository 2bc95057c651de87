/**
 * A real coordination server on a free loopback port, real protocol clients, and sessions with a host and
 * guests of given permissions: what a feature's spec (ours or another extension's) needs to run against the
 * real thing. Every server and client it starts, `close()` stops.
 */
import { CollaborationClient, CollaborationSessionImpl, ConnectOptions } from '@theia-collab/protocol/lib/client';
import type { CollaborationSession } from '@theia-collab/protocol/lib/session';
import type { Permission } from '@theia-collab/protocol/lib/wire';
import { RecordingLogger } from './recording-logger';
import { until } from './wait';

/** What the kit needs of a running server; specs of the server itself may cast to its full `ServerHandle`. */
export interface TestServer {
    readonly url: string;
    close(): Promise<void>;
}

/** Server options (see `ServerOptions` in @theia-collab/server), e.g. `{ replayWindowMs: 0 }`. */
export type TestServerOptions = Record<string, unknown>;

/** Loaded when a fixture starts, so that the server package may itself use the kit in its own specs. */
function startServer(options: TestServerOptions): Promise<TestServer> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const server = require('@theia-collab/server') as { startServer(options: TestServerOptions): Promise<TestServer> };
    return server.startServer(options);
}

export interface RoomOptions {
    /** One guest per entry, admitted with that permission (default: one read-write guest). */
    guests?: Permission[];
    /** Names of the guests (default `Guest 1`, `Guest 2`...). */
    names?: string[];
    /** See `SessionOptions.holdDelivery`. */
    holdDelivery?: boolean;
}

export class SessionFixture {
    readonly clients: CollaborationClient[] = [];
    readonly logger = new RecordingLogger();

    private constructor(readonly server: TestServer) { }

    /**
     * @example
     * const fixture = await SessionFixture.start();
     * const { host, guests: [reader] } = await fixture.room({ guests: ['readonly'] });
     */
    static async start(options: TestServerOptions = {}): Promise<SessionFixture> {
        const server = await startServer({
            hostname: '127.0.0.1',
            port: 0,
            logLevel: 'silent',
            loginRateLimit: { max: 10_000, windowMs: 60_000 },
            joinRateLimit: { max: 10_000, windowMs: 60_000 },
            ...options
        });
        return new SessionFixture(server);
    }

    async connect(name: string, requestTimeout?: number, options: Partial<ConnectOptions> = {}): Promise<CollaborationClient> {
        const client = await CollaborationClient.connect({ serverUrl: this.server.url, name, logger: this.logger, requestTimeout, ...options });
        this.clients.push(client);
        return client;
    }

    /**
     * A host and admitted guests; resolves once everyone sees everyone. `room(2)` is two read-write guests,
     * `room(2, 'readonly')` two read-only ones, `room({ guests: ['readonly', 'readwrite'] })` one of each.
     */
    async room(
        guests: number | RoomOptions = 1, permission: Permission = 'readwrite'
    ): Promise<{ host: CollaborationSession; guests: CollaborationSession[] }> {
        const options: RoomOptions = typeof guests === 'number' ? { guests: Array.from({ length: guests }, () => permission) } : guests;
        const permissions = options.guests ?? ['readwrite'];
        const host = await (await this.connect('Host')).createSession({ holdDelivery: options.holdDelivery });
        const queue = [...permissions];
        const admitting = host.onJoinRequest(request => request.admit(queue.shift() ?? 'readonly').catch(error => this.logger.error(error)));
        const sessions: CollaborationSession[] = [];
        for (let i = 0; i < permissions.length; i++) {
            const name = options.names?.[i] ?? `Guest ${i + 1}`;
            sessions.push(await (await this.connect(name)).joinSession(host.invite!.code, { holdDelivery: options.holdDelivery }));
        }
        admitting.dispose();
        await until(() => [host, ...sessions].every(session => session.peers.length === permissions.length + 1), 'everyone sees everyone');
        return { host, guests: sessions };
    }

    /** Closes the clients, then the server. */
    async close(): Promise<void> {
        this.clients.splice(0).forEach(client => client.dispose());
        await this.server.close();
    }
}

/** The implementation behind a session (for specs that look at keys or sequence numbers). */
export function impl(session: CollaborationSession): CollaborationSessionImpl {
    if (!(session instanceof CollaborationSessionImpl)) {
        throw new Error('not a CollaborationSessionImpl');
    }
    return session;
}
