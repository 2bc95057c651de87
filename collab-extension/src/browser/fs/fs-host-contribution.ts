import { inject, injectable, named } from '@theia/core/shared/inversify';
import { DisposableCollection } from '@theia/core/lib/common/disposable';
import { ILogger } from '@theia/core/lib/common/logger';
import { Deferred } from '@theia/core/lib/common/promise-util';
import { Emitter, Event } from '@theia/core/lib/common/event';
import { FileService } from '@theia/filesystem/lib/browser/file-service';
import { FileChangesEvent, FileChangeType } from '@theia/filesystem/lib/common/files';
import { WorkspaceService } from '@theia/workspace/lib/browser/workspace-service';
import { CollaborationSession, Disposable } from '@theia-collab/protocol';
import { CollaborationContribution } from '../collaboration-contribution';
import { unscopedSession } from '../contribution-session-scope';
import { nameRoots, SharedRoot } from '../../common/collaboration-uri';
import { DeleteParams, FsChange, FsChangeType, FsLimits, FsMessages, MoveParams, RootsResult } from '../../common/fs/fs-messages';
import {
    COLLABORATION_EXCLUDE_FILES, COLLABORATION_EXCLUDE_GIT_IGNORED, COLLABORATION_READ_ONLY_FILES, CollaborationFsPreferences, sharingSettings
} from '../../common/fs/fs-preferences';
import { HostFileSystemConfig, HostFileSystemService } from '../../common/fs/host-file-system-protocol';
import { registerFsRequestHandlers } from '../../common/fs/fs-host-handlers';
import { workspacePathsOfHostUri } from '../../common/fs/fs-host-paths';

/** Changes are collected this long before they are announced... */
const CHANGE_DEBOUNCE_MS = 100;
/** ...but never held longer than this. */
const CHANGE_MAX_DELAY_MS = 500;
const MAX_PENDING_CHANGES = 20_000;

/** A file operation a guest had the host carry out (so features with documents of those files can follow). */
export type GuestFileOperation =
    { session: CollaborationSession; kind: 'rename'; from: string; to: string } |
    { session: CollaborationSession; kind: 'delete'; path: string };

/**
 * Host side of the shared workspace: answers guests' `fs/...` requests through the backend's
 * HostFileSystemService, with each sender's permission as the live peer list says, and announces
 * changes under the shared roots to guests.
 */
@injectable()
export class FsHostContribution implements CollaborationContribution {

    readonly messages = FsMessages.all;

    @inject(HostFileSystemService)
    protected readonly hostFileSystem: HostFileSystemService;

    @inject(WorkspaceService)
    protected readonly workspaceService: WorkspaceService;

    @inject(FileService)
    protected readonly fileService: FileService;

    @inject(CollaborationFsPreferences)
    protected readonly preferences: CollaborationFsPreferences;

    @inject(ILogger) @named('collaboration')
    protected readonly logger: ILogger;

    /** Per hosted session: resolves once the backend shares its roots (or sharing gave up). */
    protected readonly shared = new WeakMap<CollaborationSession, Deferred<void>>();

    protected readonly onDidRunGuestOperationEmitter = new Emitter<GuestFileOperation>();
    /** A guest renamed or deleted a file or folder of the host's (it is done on disk). */
    readonly onDidRunGuestOperation: Event<GuestFileOperation> = this.onDidRunGuestOperationEmitter.event;

    async onSessionStarted(session: CollaborationSession): Promise<Disposable | void> {
        if (!session.isHost) {
            return;
        }
        const shared = this.sharedDeferred(session);
        const closed = session.onClose(() => shared.resolve());
        const share = new FsHostShare(session, this.hostFileSystem, this.workspaceService, this.fileService, this.preferences, this.logger,
            operation => this.onDidRunGuestOperationEmitter.fire(operation));
        try {
            await share.start();
        } finally {
            // Configured, or failed (logged): either way nobody waits any longer.
            shared.resolve();
            closed.dispose();
        }
        return share;
    }

    /**
     * Resolves once the files of `session` are shared, i.e. the backend knows its roots and exclusions, so
     * `HostFileSystemService.filterVisible` answers for this session. Other features starting with the
     * session (editors already open on the host) wait for this instead of seeing nothing shared yet.
     */
    whenShared(session: CollaborationSession): Promise<void> {
        return session.isHost && !session.closed ? this.sharedDeferred(session).promise : Promise.resolve();
    }

    protected sharedDeferred(session: CollaborationSession): Deferred<void> {
        // Keyed by the session itself: each contribution gets its own view of it.
        let deferred = this.shared.get(unscopedSession(session));
        if (!deferred) {
            deferred = new Deferred<void>();
            this.shared.set(unscopedSession(session), deferred);
        }
        return deferred;
    }
}

/** One hosted session's file sharing. */
export class FsHostShare implements Disposable {

    protected readonly toDispose = new DisposableCollection();
    protected roots: SharedRoot[] = [];
    protected configured: Promise<void> = Promise.resolve();
    protected isConfigured = false;
    protected readonly pendingChanges = new Map<string, FsChangeType>();
    protected flushTimer: ReturnType<typeof setTimeout> | undefined;
    protected firstPendingAt = 0;
    protected disposed = false;

    constructor(
        protected readonly session: CollaborationSession,
        protected readonly hostFileSystem: HostFileSystemService,
        protected readonly workspaceService: WorkspaceService,
        protected readonly fileService: FileService,
        protected readonly preferences: CollaborationFsPreferences,
        protected readonly logger: ILogger,
        protected readonly onDidRunGuestOperation: (operation: GuestFileOperation) => void = () => { }
    ) { }

    async start(): Promise<void> {
        const handlers = registerFsRequestHandlers(this.session, this.hostFileSystem, {
            pending: () => this.isConfigured ? undefined : this.configured,
            onDidHandle: (method, params) => {
                if (method === FsMessages.Rename.method) {
                    const { from, to } = params as MoveParams;
                    this.onDidRunGuestOperation({ session: this.session, kind: 'rename', from, to });
                } else if (method === FsMessages.Delete.method) {
                    this.onDidRunGuestOperation({ session: this.session, kind: 'delete', path: (params as DeleteParams).path });
                }
            }
        });
        for (const handler of handlers) {
            this.toDispose.push(toTheia(handler));
        }
        this.toDispose.push(toTheia(this.session.onPeerLeft(({ peer }) => {
            this.hostFileSystem.dropPeer(peer.id).catch(error => this.logger.warn('collaboration: dropping uploads failed', error));
        })));
        this.toDispose.push(this.workspaceService.onWorkspaceChanged(() => this.reconfigure(true)));
        this.toDispose.push(this.preferences.onPreferenceChanged(event => {
            if (event.preferenceName === COLLABORATION_EXCLUDE_FILES || event.preferenceName === COLLABORATION_EXCLUDE_GIT_IGNORED
                || event.preferenceName === COLLABORATION_READ_ONLY_FILES) {
                this.reconfigure(false);
            }
        }));
        this.toDispose.push(this.fileService.onDidFilesChange(event => this.collectChanges(event)));
        const proxy = this.hostFileSystem as Partial<{ onDidOpenConnection: (listener: () => void) => { dispose(): void } }>;
        if (typeof proxy.onDidOpenConnection === 'function') {
            // A new backend connection starts unconfigured.
            this.toDispose.push(proxy.onDidOpenConnection(() => this.reconfigure(false)));
        }
        await this.reconfigure(false);
    }

    protected reconfigure(announceRoots: boolean): Promise<void> {
        const configured = this.configured.catch(() => undefined).then(async () => {
            if (this.disposed) {
                return;
            }
            const roots = await this.workspaceService.roots;
            this.roots = nameRoots(roots.map(root => root.resource).filter(uri => uri.scheme === 'file').map(uri => uri.toString()));
            const config: HostFileSystemConfig = {
                roots: this.roots.map(({ name, uri }) => ({ name, uri })),
                // The host's user (or default) settings only: a guest can write workspace settings, never these.
                ...sharingSettings(this.preferences)
            };
            await this.hostFileSystem.configure(config);
            this.isConfigured = true;
            if (announceRoots && !this.session.closed) {
                const result = await this.hostFileSystem.handle(FsMessages.Roots.method, { peerId: this.session.self.id, permission: 'readonly' }, {});
                if (result.ok) {
                    await this.session.sendBroadcast(FsMessages.DidChangeRoots, result.value as RootsResult);
                }
            }
        });
        this.configured = configured.catch(error => this.logger.error('collaboration: sharing the workspace failed', error));
        return this.configured;
    }

    protected collectChanges(event: FileChangesEvent): void {
        for (const change of event.changes) {
            if (this.pendingChanges.size >= MAX_PENDING_CHANGES) {
                break;
            }
            // Under every shared root that holds it (nested roots show one file under several paths).
            for (const path of workspacePathsOfHostUri(this.roots, change.resource)) {
                const type: FsChangeType = change.type === FileChangeType.ADDED ? 'added' : change.type === FileChangeType.DELETED ? 'deleted' : 'updated';
                const previous = this.pendingChanges.get(path);
                // added + updated is still an addition; anything + deleted is a deletion.
                this.pendingChanges.set(path, previous === 'added' && type === 'updated' ? 'added' : type);
            }
        }
        if (this.pendingChanges.size === 0) {
            return;
        }
        const now = Date.now();
        if (!this.flushTimer) {
            this.firstPendingAt = now;
        }
        clearTimeout(this.flushTimer);
        const delay = Math.max(0, Math.min(CHANGE_DEBOUNCE_MS, this.firstPendingAt + CHANGE_MAX_DELAY_MS - now));
        this.flushTimer = setTimeout(() => this.flushChanges(), delay);
    }

    protected async flushChanges(): Promise<void> {
        this.flushTimer = undefined;
        const pending = [...this.pendingChanges];
        this.pendingChanges.clear();
        if (this.disposed || this.session.closed || pending.length === 0) {
            return;
        }
        try {
            await this.configured;
            const visible = new Set(await this.hostFileSystem.filterVisible(pending.map(([path]) => path)));
            const changes: FsChange[] = pending.filter(([path]) => visible.has(path)).map(([path, type]) => ({ type, path }));
            for (let i = 0; i < changes.length && !this.session.closed; i += FsLimits.maxChangesPerBroadcast) {
                await this.session.sendBroadcast(FsMessages.DidChange, { changes: changes.slice(i, i + FsLimits.maxChangesPerBroadcast) });
            }
        } catch (error) {
            if (!this.session.closed) {
                this.logger.warn('collaboration: announcing file changes failed', error);
            }
        }
    }

    dispose(): void {
        if (this.disposed) {
            return;
        }
        this.disposed = true;
        clearTimeout(this.flushTimer);
        this.pendingChanges.clear();
        this.toDispose.dispose();
        this.hostFileSystem.reset().catch(error => this.logger.warn('collaboration: resetting the shared file system failed', error));
    }
}

function toTheia(disposable: Disposable): { dispose(): void } {
    return { dispose: () => disposable.dispose() };
}
