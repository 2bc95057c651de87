/**
 * Test support for the "missed messages" specs of every feature (Node only): a real coordination server that
 * keeps no replay window (`replayWindowMs: 0`), so that whatever is relayed while a member's connection is down
 * is lost for good and the member's session fires `onMissedMessages` when it is back; real protocol clients that
 * reconnect quickly; and `offline`, which cuts a member off (its reconnection attempts find nobody listening,
 * as in the server's reconnect spec), runs something meanwhile and resolves once the member is back and its
 * `onMissedMessages` fired.
 */
import { CollaborationClient, CollaborationSession, Disposable, Permission } from '@theia-collab/protocol';
import { keepOffline } from '@theia-collab/test-kit';
import { next, RecordingLogger, until } from '@theia-collab/test-kit';
import type { ServerOptions } from '@theia-collab/server/lib/config';
import { ServerHandle, startServer } from '@theia-collab/server/lib/server';

export { until };

export interface MissedMember { client: CollaborationClient; session: CollaborationSession }

export class MissedMessagesFixture {
    server: ServerHandle;
    readonly logger = new RecordingLogger();
    protected readonly clients: CollaborationClient[] = [];
    protected readonly toDispose: Disposable[] = [];
    protected readonly permissions = new Map<string, Permission>();

    async startServer(options: Partial<ServerOptions> = {}): Promise<void> {
        this.server = await startServer({
            hostname: '127.0.0.1', port: 0, logLevel: 'silent',
            loginRateLimit: { max: 10_000, windowMs: 60_000 }, joinRateLimit: { max: 10_000, windowMs: 60_000 },
            socketEventRateLimit: { max: 100_000, windowMs: 1000 },
            // Nothing relayed while a member is away is kept for it: every outage loses messages.
            replayWindowMs: 0,
            ...options
        });
    }

    async connect(name: string): Promise<CollaborationClient> {
        const client = await CollaborationClient.connect({
            serverUrl: this.server.url, name, logger: this.logger, reconnectDelayMs: 100, reconnectDelayMaxMs: 300
        });
        this.clients.push(client);
        return client;
    }

    /** A new host session; guests joining it are admitted with the permission `join` was given (read-write by default). */
    async host(name = 'Host'): Promise<MissedMember> {
        const client = await this.connect(name);
        const session = await client.createSession();
        session.onJoinRequest(request => request.admit(this.permissions.get(request.name) ?? 'readwrite').catch(() => undefined));
        return { client, session };
    }

    /** A guest in `host`'s session, once everyone sees everyone. */
    async join(host: CollaborationSession, name: string, permission: Permission = 'readwrite'): Promise<MissedMember> {
        this.permissions.set(name, permission);
        const client = await this.connect(name);
        const session = await client.joinSession(host.invite!.code);
        await until(() => host.getPeer(session.self.id) !== undefined && session.peers.length === host.peers.length, `everyone sees ${name}`);
        return { client, session };
    }

    /** See `offline` below. */
    offline(member: MissedMember, during: () => Promise<void>, ms = 800): Promise<void> {
        return offline(member, during, ms);
    }

    /** Disposed after the test, in the order tracked. */
    track<T extends Disposable>(disposable: T): T {
        this.toDispose.push(disposable);
        return disposable;
    }

    endTest(): void {
        this.toDispose.splice(0).forEach(disposable => disposable.dispose());
        this.clients.splice(0).forEach(client => client.dispose());
    }

    async stopServer(): Promise<void> {
        await this.server?.close();
    }
}

/**
 * Cuts `member` off for `ms`; `during` runs once its session says 'reconnecting' (what is sent then is lost for
 * `member` on a server without a replay window). Resolves once `member` is connected again and its
 * `onMissedMessages` fired.
 */
export async function offline(member: MissedMember, during: () => Promise<void>, ms = 800): Promise<void> {
    const missed = next(member.session.onMissedMessages, () => true, ms + 10_000);
    const cut = keepOffline(member.client, ms);
    await until(() => member.session.connectionState === 'reconnecting', 'the member is cut off');
    await during();
    await cut;
    await missed;
    await until(() => member.session.connectionState === 'connected', 'the member is back');
}

/** Registers the mocha hooks: one server for the `describe`, everything a test started stopped after it. */
export function useMissedMessagesFixture(options: Partial<ServerOptions> = {}): MissedMessagesFixture {
    const fixture = new MissedMessagesFixture();
    before(() => fixture.startServer(options));
    afterEach(() => fixture.endTest());
    after(() => fixture.stopServer());
    return fixture;
}
