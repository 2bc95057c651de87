/**
 * Test support for the debug specs (Node only): a real coordination server and a temp host workspace for the
 * whole `describe`, a new host session for each test (names starting with `Reader` join read-only, others
 * read-write), and guests joining it. Call `useDebugTestSession` inside `describe`: it registers the mocha
 * hooks, and everything a test starts (clients, what it passes to `track`) is stopped after it.
 */
import { CollaborationClient, CollaborationSession, Disposable } from '@theia-collab/protocol';
import type { ServerOptions } from '@theia-collab/server/lib/config';
import { ServerHandle, startServer } from '@theia-collab/server/lib/server';
import { GuestPathMapper } from '../fs/host-path-mapper';
import { createTestHostWorkspace, joinTestSession, TestHostWorkspace } from '../language/language-test-fixture';

export class DebugTestSession {
    server: ServerHandle;
    workspace: TestHostWorkspace;
    /** This test's host session. */
    host: CollaborationSession;
    protected readonly clients: CollaborationClient[] = [];
    protected readonly toDispose: Disposable[] = [];

    /** The temp folder; the shared root `proj` is its subfolder. */
    get base(): string {
        return this.workspace.base;
    }

    get mapper(): GuestPathMapper {
        return this.workspace.mapper;
    }

    /** Disposed after the test, in the order tracked. */
    track<T extends Disposable>(disposable: T): T {
        this.toDispose.push(disposable);
        return disposable;
    }

    async connect(name: string): Promise<CollaborationClient> {
        const client = await CollaborationClient.connect({ serverUrl: this.server.url, name, reconnectDelayMs: 100, reconnectDelayMaxMs: 300 });
        this.clients.push(client);
        return client;
    }

    /** A guest `name` in the host's session, once the host sees it (and, with `allPeers`, it sees everyone). */
    async join(name: string, allPeers = true): Promise<CollaborationSession> {
        return (await this.joinWithClient(name, allPeers)).session;
    }

    /** Like `join`, with the guest's client (e.g. to cut its connection). */
    async joinWithClient(name: string, allPeers = true): Promise<{ client: CollaborationClient; session: CollaborationSession }> {
        const client = await this.connect(name);
        return { client, session: await joinTestSession(client, this.host, allPeers) };
    }

    async startServer(prefix: string, files: Record<string, string>, options: Partial<ServerOptions> = {}): Promise<void> {
        this.server = await startServer({
            hostname: '127.0.0.1', port: 0, logLevel: 'silent',
            loginRateLimit: { max: 10_000, windowMs: 60_000 }, joinRateLimit: { max: 10_000, windowMs: 60_000 },
            ...options
        });
        this.workspace = createTestHostWorkspace(prefix, files);
    }

    async startHost(): Promise<void> {
        this.host = await (await this.connect('Host')).createSession();
        this.host.onJoinRequest(request => request.admit(request.name.startsWith('Reader') ? 'readonly' : 'readwrite'));
    }

    endTest(): void {
        this.toDispose.splice(0).forEach(disposable => disposable.dispose());
        this.clients.splice(0).forEach(client => client.dispose());
    }

    async stopServer(): Promise<void> {
        await this.server?.close();
        this.workspace?.dispose();
    }
}

/**
 * Registers the hooks of a debug spec; `files` are the workspace's (path relative to `proj` → content), `options`
 * the server's (e.g. `replayWindowMs: 0`, so that an outage loses messages for good).
 */
export function useDebugTestSession(prefix: string, files: Record<string, string>, options: Partial<ServerOptions> = {}): DebugTestSession {
    const fixture = new DebugTestSession();
    before(() => fixture.startServer(prefix, files, options));
    beforeEach(() => fixture.startHost());
    afterEach(() => fixture.endTest());
    after(() => fixture.stopServer());
    return fixture;
}
