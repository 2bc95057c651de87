import { CollaborationError } from '@theia-collab/protocol/lib/errors';
import { Disposable } from '@theia-collab/protocol/lib/events';
import { CollaborationSession } from '@theia-collab/protocol/lib/session';
import { collabUriOfWorkspacePath, COLLAB_SCHEME, splitWorkspacePath, workspacePathOfCollabUri } from '../collaboration-uri';
import { FileStateGuest, FileStateHost, FileStateSource, FileStateSyncOptions } from '../file-state/file-state-sync';
import { GuestPathMapper } from '../fs/host-path-mapper';
import { BreakpointFiles, BreakpointLimits, BreakpointMessages, breakpointsKey, SharedBreakpoint } from './debug-breakpoint-protocol';

/** A window's source breakpoints by URI (Theia's BreakpointManager in the app). */
export interface BreakpointStore extends FileStateSource<SharedBreakpoint> {
    /** Replaces the breakpoints of `uri`; may fire `onDidChange` synchronously. */
    set(uri: string, breakpoints: SharedBreakpoint[]): void;
}

export type BreakpointSyncOptions = FileStateSyncOptions;

/** One breakpoint per position, at most the limit; invalid ones never reach here (validated). */
function normalize(breakpoints: readonly SharedBreakpoint[]): SharedBreakpoint[] {
    const seen = new Set<string>();
    const ids = new Set<string>();
    const result: SharedBreakpoint[] = [];
    for (const bp of breakpoints) {
        const position = `${bp.line}:${bp.column ?? 0}`;
        if (!seen.has(position) && !ids.has(bp.id) && result.length < BreakpointLimits.maxPerFile) {
            seen.add(position);
            ids.add(bp.id);
            result.push(bp);
        }
    }
    return result;
}

/**
 * A guest's breakpoints as the host takes them. A condition, hit condition or log message is an expression the
 * host's debuggee evaluates: code a guest would run on the host. They are stripped (not refused, so the guest's
 * plain breakpoints still arrive), except where the host's own breakpoint of the same id already has exactly that
 * one (a guest moving or toggling one of the host's breakpoints keeps the host's expressions).
 */
export function withoutGuestExpressions(breakpoints: readonly SharedBreakpoint[], hostBreakpoints: readonly SharedBreakpoint[]): SharedBreakpoint[] {
    const host = new Map(hostBreakpoints.map(bp => [bp.id, bp]));
    return breakpoints.map(bp => {
        const own = host.get(bp.id);
        const { condition, hitCondition, logMessage, ...plain } = bp;
        const kept: SharedBreakpoint = { ...plain };
        if (condition !== undefined && own?.condition === condition) {
            kept.condition = condition;
        }
        if (hitCondition !== undefined && own?.hitCondition === hitCondition) {
            kept.hitCondition = hitCondition;
        }
        if (logMessage !== undefined && own?.logMessage === logMessage) {
            kept.logMessage = logMessage;
        }
        return kept;
    });
}

/**
 * Host: its breakpoints in shared, visible files are announced to guests (debounced, only what changed);
 * read-write guests replace a file's breakpoints through it, without expressions of their own (see
 * `withoutGuestExpressions`). Its own store stays the one truth.
 */
export class BreakpointHost extends FileStateHost<'breakpoints', SharedBreakpoint> {

    constructor(
        session: CollaborationSession,
        protected readonly store: BreakpointStore,
        protected readonly guestPaths: GuestPathMapper,
        options: BreakpointSyncOptions = {}
    ) {
        super(session, BreakpointFiles, store, guestPaths, { ...options, read: normalize, key: breakpointsKey });
    }

    override start(): void {
        super.start();
        this.toDispose.push(this.session.onRequest(BreakpointMessages.Set, async ({ path, breakpoints }, sender) => {
            const peer = this.checkPeer(sender.id);
            if (peer.permission !== 'readwrite') {
                throw new CollaborationError('permission-denied', 'You have read-only access: the host keeps its breakpoints as they are.');
            }
            const uri = this.guestPaths.toHostUri(path);
            if (!uri) {
                throw new CollaborationError('not-found', `'${path}' is not shared.`);
            }
            // Where the path really leads (links, exclusions), checked by the host's backend now; rejects otherwise.
            await this.guestPaths.resolveForGuest(path, 'read');
            if (this.disposed) {
                throw new CollaborationError('room-closed', 'The session has ended.');
            }
            // The store keeps breakpoints by the path's URI (what the host's editors show), now known to be shared.
            this.store.set(uri, normalize(withoutGuestExpressions(breakpoints, this.store.get(uri))));
            return {};
        }));
    }
}

export interface BreakpointGuestOptions extends BreakpointSyncOptions {
    /** The host refused a change (e.g. read-only access); the file's breakpoints went back to the host's. */
    onDidRefuse?(path: string, error: CollaborationError): void;
}

/**
 * Guest: shows the host's breakpoints on `collab:` documents and sends its own changes there to the host.
 * The host's announcement is what counts: a refused change is rolled back.
 */
export class BreakpointGuest implements Disposable {

    protected readonly toDispose: Disposable[] = [];
    /** Path → the host's breakpoints as last received. */
    protected readonly hostState = new Map<string, SharedBreakpoint[]>();
    protected readonly pendingLocal = new Set<string>();
    protected readonly fromHost: FileStateGuest<'breakpoints', SharedBreakpoint>;
    protected timer: ReturnType<typeof setTimeout> | undefined;
    protected applying = 0;
    protected disposed = false;

    constructor(
        protected readonly session: CollaborationSession,
        protected readonly store: BreakpointStore,
        protected readonly options: BreakpointGuestOptions = {}
    ) {
        this.fromHost = new FileStateGuest(session, BreakpointFiles, { set: (path, breakpoints) => this.receive(path, breakpoints) }, options);
    }

    async start(): Promise<void> {
        this.toDispose.push(this.fromHost);
        this.toDispose.push(this.store.onDidChange(uri => this.changedLocally(uri)));
        if (!await this.fromHost.start()) {
            return;
        }
        // Left over from an earlier session (breakpoints are remembered): the host has none there.
        for (const uri of this.store.uris()) {
            const path = this.pathOf(uri);
            if (path !== undefined && !this.hostState.has(path) && !this.pendingLocal.has(path)) {
                this.apply(path, []);
            }
        }
    }

    protected pathOf(uri: string): string | undefined {
        if (!uri.startsWith(`${COLLAB_SCHEME}:`)) {
            return undefined;
        }
        let path: string | undefined;
        try {
            path = workspacePathOfCollabUri({ scheme: COLLAB_SCHEME, path: decodeURIComponent(uri.substring(COLLAB_SCHEME.length + 1)) });
        } catch {
            return undefined;
        }
        return path && splitWorkspacePath(path) ? path : undefined;
    }

    protected receive(path: string, breakpoints: SharedBreakpoint[]): void {
        this.hostState.set(path, breakpoints);
        if (!this.pendingLocal.has(path)) {
            this.apply(path, breakpoints);
        }
    }

    protected apply(path: string, breakpoints: SharedBreakpoint[]): void {
        const uri = collabUriOfWorkspacePath(path);
        if (breakpointsKey(this.store.get(uri)) === breakpointsKey(breakpoints)) {
            return;
        }
        this.applying++;
        try {
            this.store.set(uri, breakpoints);
        } finally {
            this.applying--;
        }
    }

    protected changedLocally(uri: string): void {
        if (this.applying > 0 || this.disposed) {
            return;
        }
        const path = this.pathOf(uri);
        if (path === undefined) {
            return;
        }
        this.pendingLocal.add(path);
        if (!this.timer) {
            this.timer = setTimeout(() => this.sendLocal(), this.options.debounceMs ?? BreakpointLimits.debounceMs);
        }
    }

    protected sendLocal(): void {
        this.timer = undefined;
        const paths = [...this.pendingLocal];
        this.pendingLocal.clear();
        for (const path of paths) {
            if (this.disposed || this.session.closed) {
                return;
            }
            const local = normalize(this.store.get(collabUriOfWorkspacePath(path)));
            if (breakpointsKey(local) === breakpointsKey(this.hostState.get(path) ?? [])) {
                continue;
            }
            this.session.sendRequest(BreakpointMessages.Set, { path, breakpoints: local }).catch(error => {
                if (this.disposed || this.session.closed) {
                    return;
                }
                // The host's breakpoints stand.
                this.apply(path, this.hostState.get(path) ?? []);
                this.options.onDidRefuse?.(path, CollaborationError.from(error));
            });
        }
    }

    dispose(): void {
        if (this.disposed) {
            return;
        }
        clearTimeout(this.timer);
        this.toDispose.splice(0).forEach(disposable => disposable.dispose());
        // The session's breakpoints go with it.
        for (const uri of this.store.uris()) {
            const path = this.pathOf(uri);
            if (path !== undefined) {
                this.apply(path, []);
            }
        }
        this.disposed = true;
    }
}
