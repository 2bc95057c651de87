/**
 * Test support for the shared-workspace session specs (Node only): a real coordination server for the whole
 * `describe`, a host session per test whose `fs/...` requests a real backend answers (a `HostFileSystem`, or the
 * backend's `HostFileSystemServiceImpl` configured as the host's frontend does, with `nameRoots`), and guests
 * using the browser's file system provider. Call `useFsTestSession` inside `describe`: it registers the mocha
 * hooks, and everything a test starts is stopped after it.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as assert from 'assert';
import * as path from 'path';
import { FileUri } from '@theia/core/lib/common/file-uri';
import URI from '@theia/core/lib/common/uri';
import { FileChange } from '@theia/filesystem/lib/common/files';
import { CollaborationClient, CollaborationSession, Disposable, Permission } from '@theia-collab/protocol';
import { until } from '@theia-collab/test-kit';
import { ServerHandle, startServer } from '@theia-collab/server/lib/server';
import { CollabFileSystemProvider } from '../../browser/fs/collab-file-system-provider';
import { nameRoots, SharedRoot } from '../../common/collaboration-uri';
import { FsRequestBackend, registerFsRequestHandlers } from '../../common/fs/fs-host-handlers';
import { FsMessages } from '../../common/fs/fs-messages';
import { DEFAULT_EXCLUDED_FILES, HostFileSystemConfig } from '../../common/fs/host-file-system-protocol';
import { HostFileSystemServiceImpl } from './host-file-system-service';

/** The guest-side URI of a workspace path. */
export function uri(workspacePath: string): URI {
    return new URI(`collab:/${workspacePath}`);
}

/** The error a promise rejects with; fails the test when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
    try {
        await promise;
    } catch (error) {
        return error as Error;
    }
    assert.fail('expected a rejection');
}

export interface FsTestGuest {
    session: CollaborationSession;
    provider: CollabFileSystemProvider;
    /** What the provider showed the user. */
    notified: string[];
    /** Every change event the provider fired. */
    changes: FileChange[][];
}

export class FsTestSession {
    server: ServerHandle;
    /** This test's host session (after `share`). */
    host: CollaborationSession;
    /** The backend service of the last `shareFolders`. */
    hostFileSystem: HostFileSystemServiceImpl;
    /** While set, the host's handlers wait for it before answering (see `registerFsRequestHandlers`). */
    gate: Promise<void> | undefined;
    protected readonly permissions = new Map<string, Permission>();
    protected readonly clients: CollaborationClient[] = [];
    protected readonly toDispose: Disposable[] = [];
    protected readonly tempFolders: string[] = [];
    protected readonly cleanups: (() => Promise<void>)[] = [];

    async startServer(): Promise<void> {
        this.server = await startServer({
            hostname: '127.0.0.1', port: 0, logLevel: 'silent',
            loginRateLimit: { max: 10_000, windowMs: 60_000 }, joinRateLimit: { max: 10_000, windowMs: 60_000 }
        });
    }

    /** Disposed after the test, in the order tracked. */
    track<T extends Disposable>(disposable: T): T {
        this.toDispose.push(disposable);
        return disposable;
    }

    /** A fresh temp folder (real path), removed after the test; `parent` defaults to the OS temp folder. */
    tempFolder(prefix: string, parent = os.tmpdir()): string {
        const folder = fs.realpathSync(fs.mkdtempSync(path.join(parent, prefix)));
        this.tempFolders.push(folder);
        return folder;
    }

    async connect(name: string): Promise<CollaborationClient> {
        const client = await CollaborationClient.connect({ serverUrl: this.server.url, name });
        this.clients.push(client);
        return client;
    }

    /** Starts the host's session; `backend` answers its guests' file system requests. */
    async share(backend: FsRequestBackend, hostName = 'Hosting Hana'): Promise<CollaborationSession> {
        this.host = await (await this.connect(hostName)).createSession();
        this.host.onJoinRequest(request => request.admit(this.permissions.get(request.name) ?? 'readonly'));
        this.gate = undefined;
        this.toDispose.push(...registerFsRequestHandlers(this.host, backend, { pending: () => this.gate }));
        return this.host;
    }

    /**
     * Shares the folders `rootPaths` as the host's frontend does: names them with `nameRoots` and configures the
     * backend's `HostFileSystemServiceImpl` (default exclusions unless `config` says otherwise). Returns the roots.
     */
    async shareFolders(rootPaths: readonly string[], config: Partial<Omit<HostFileSystemConfig, 'roots'>> = {}): Promise<SharedRoot[]> {
        const roots = nameRoots(rootPaths.map(rootPath => FileUri.create(rootPath).toString()));
        const service = this.hostFileSystem = new HostFileSystemServiceImpl();
        this.cleanups.push(() => service.reset());
        await service.configure({
            roots: roots.map(({ name, uri }) => ({ name, uri })),
            exclude: [...(config.exclude ?? DEFAULT_EXCLUDED_FILES)],
            excludeGitIgnored: config.excludeGitIgnored ?? false
        });
        await this.share(service);
        return roots;
    }

    /** `name` joins the host's session and is admitted with `permission`; its provider knows the host's roots. */
    async join(name: string, permission: Permission): Promise<FsTestGuest> {
        this.permissions.set(name, permission);
        const session = await (await this.connect(name)).joinSession(this.host.invite!.code);
        await until(() => this.host.getPeer(session.self.id) !== undefined, `the host sees ${name}`);
        const notified: string[] = [];
        const provider = this.track(new CollabFileSystemProvider(session, { notify: message => notified.push(message) }));
        provider.setRoots(await session.sendRequest(FsMessages.Roots, {}));
        const changes: FileChange[][] = [];
        this.track(provider.onDidChangeFile(event => changes.push([...event])));
        return { session, provider, notified, changes };
    }

    /** Runs `cleanup` after the test, after the clients are gone and before the temp folders are removed. */
    afterTest(cleanup: () => Promise<void>): void {
        this.cleanups.push(cleanup);
    }

    async endTest(): Promise<void> {
        this.toDispose.splice(0).forEach(disposable => disposable.dispose());
        this.clients.splice(0).forEach(client => client.dispose());
        for (const cleanup of this.cleanups.splice(0)) {
            await cleanup().catch(() => undefined);
        }
        this.permissions.clear();
        this.gate = undefined;
        this.tempFolders.splice(0).forEach(folder => fs.rmSync(folder, { recursive: true, force: true }));
    }

    async stopServer(): Promise<void> {
        await this.server?.close();
    }
}

/** Registers the hooks of a shared-workspace session spec. */
export function useFsTestSession(): FsTestSession {
    const fixture = new FsTestSession();
    before(() => fixture.startServer());
    afterEach(() => fixture.endTest());
    after(() => fixture.stopServer());
    return fixture;
}
