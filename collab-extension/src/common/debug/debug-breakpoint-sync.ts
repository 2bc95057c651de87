import { CollaborationError } from '@theia-collab/protocol/lib/errors';
import { Disposable } from '@theia-collab/protocol/lib/events';
import { CollaborationSession } from '@theia-collab/protocol/lib/session';
import { collabUriOfWorkspacePath, COLLAB_SCHEME, splitWorkspacePath, workspacePathOfCollabUri } from '../collaboration-uri';
import { HostPathMapper } from '../language/language-locations';
import { batchesWithinBudget } from '../message-batches';
import {
    AllBreakpointsResult, BreakpointLimits, BreakpointMessages, breakpointsKey, FileBreakpoints, SharedBreakpoint
} from './debug-breakpoint-protocol';

/** A window's source breakpoints by URI (Theia's BreakpointManager in the app). */
export interface BreakpointStore {
    get(uri: string): SharedBreakpoint[];
    /** Replaces the breakpoints of `uri`; may fire `onDidChange` synchronously. */
    set(uri: string, breakpoints: SharedBreakpoint[]): void;
    uris(): string[];
    onDidChange(listener: (uri: string) => void): Disposable;
}

export interface BreakpointSyncOptions {
    debounceMs?: number;
    logger?: { warn(...args: unknown[]): void };
}

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

/** Splits files into messages within the file count and size budget. */
function batches(files: FileBreakpoints[]): FileBreakpoints[][] {
    return batchesWithinBudget(files, BreakpointLimits.budget, BreakpointLimits.maxFilesPerMessage);
}

/**
 * Host: its breakpoints in shared, visible files are announced to guests (debounced, only what changed);
 * read-write guests replace a file's breakpoints through it. Its own store stays the one truth.
 */
export class BreakpointHost implements Disposable {

    protected readonly toDispose: Disposable[] = [];
    protected readonly pending = new Set<string>();
    /** Path → key of what guests were last told. */
    protected readonly announced = new Map<string, string>();
    protected timer: ReturnType<typeof setTimeout> | undefined;
    protected flushing: Promise<void> = Promise.resolve();
    protected disposed = false;

    constructor(
        protected readonly session: CollaborationSession,
        protected readonly store: BreakpointStore,
        protected readonly paths: HostPathMapper,
        protected readonly options: BreakpointSyncOptions = {}
    ) { }

    start(): void {
        this.toDispose.push(this.store.onDidChange(uri => this.changed(uri)));
        this.toDispose.push(this.session.onRequest(BreakpointMessages.All, async ({ cursor }, sender) => {
            this.checkPeer(sender.id);
            return this.page(cursor ?? 0);
        }));
        this.toDispose.push(this.session.onRequest(BreakpointMessages.Set, async ({ path, breakpoints }, sender) => {
            const peer = this.checkPeer(sender.id);
            if (peer.permission !== 'readwrite') {
                throw new CollaborationError('permission-denied', 'You have read-only access: the host keeps its breakpoints as they are.');
            }
            const uri = this.paths.toHostUri(path);
            if (!uri || !(await this.paths.filterVisible([path])).includes(path)) {
                throw new CollaborationError('not-found', `'${path}' is not shared.`);
            }
            if (this.disposed) {
                throw new CollaborationError('room-closed', 'The session has ended.');
            }
            this.store.set(uri, normalize(breakpoints));
            return {};
        }));
    }

    protected checkPeer(peerId: string): { permission: string } {
        const peer = this.session.getPeer(peerId);
        if (!peer || peer.id === this.session.self.id || this.disposed || this.session.closed) {
            throw new CollaborationError('forbidden', 'You are not a participant of this session any more.');
        }
        return peer;
    }

    protected changed(uri: string): void {
        if (this.disposed || this.pending.size >= 10_000) {
            return;
        }
        this.pending.add(uri);
        if (!this.timer) {
            this.timer = setTimeout(() => {
                this.timer = undefined;
                this.flushing = this.flushing.then(() => this.flush());
            }, this.options.debounceMs ?? BreakpointLimits.debounceMs);
        }
    }

    protected async flush(): Promise<void> {
        const uris = [...this.pending];
        this.pending.clear();
        if (this.disposed || this.session.closed) {
            return;
        }
        try {
            const byPath = new Map<string, string>();
            for (const uri of uris) {
                const path = this.paths.toWorkspacePath(uri);
                if (path !== undefined) {
                    byPath.set(path, uri);
                }
            }
            const visible = new Set(await this.paths.filterVisible([...byPath.keys()]));
            const files: FileBreakpoints[] = [];
            for (const [path, uri] of byPath) {
                const breakpoints = visible.has(path) ? normalize(this.store.get(uri)) : [];
                const key = breakpointsKey(breakpoints);
                if (key === (this.announced.get(path) ?? breakpointsKey([]))) {
                    continue;
                }
                if (breakpoints.length > 0) {
                    this.announced.set(path, key);
                } else {
                    this.announced.delete(path);
                }
                files.push({ path, breakpoints });
            }
            for (const batch of batches(files)) {
                if (this.session.closed) {
                    break;
                }
                await this.session.sendBroadcast(BreakpointMessages.DidChange, { files: batch });
            }
        } catch (error) {
            if (!this.session.closed) {
                this.options.logger?.warn('collaboration: announcing breakpoints failed', error);
            }
        }
    }

    protected async page(cursor: number): Promise<AllBreakpointsResult> {
        const entries = new Map<string, string>();
        for (const uri of this.store.uris()) {
            const path = this.paths.toWorkspacePath(uri);
            if (path !== undefined) {
                entries.set(path, uri);
            }
        }
        const visible = (await this.paths.filterVisible([...entries.keys()])).sort();
        const files: FileBreakpoints[] = [];
        let index = cursor;
        for (; index < visible.length && files.length < BreakpointLimits.maxFilesPerMessage; index++) {
            const breakpoints = normalize(this.store.get(entries.get(visible[index])!));
            if (breakpoints.length > 0) {
                files.push({ path: visible[index], breakpoints });
            }
        }
        const sent = batches(files)[0] ?? [];
        if (sent.length < files.length) {
            index = cursor + visible.slice(cursor).indexOf(files[sent.length].path);
        }
        return index < visible.length ? { files: sent, next: index } : { files: sent };
    }

    dispose(): void {
        this.disposed = true;
        clearTimeout(this.timer);
        this.pending.clear();
        this.toDispose.splice(0).forEach(disposable => disposable.dispose());
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
    /** Path → the host's breakpoints as last announced. */
    protected readonly hostState = new Map<string, SharedBreakpoint[]>();
    protected readonly pendingLocal = new Set<string>();
    protected timer: ReturnType<typeof setTimeout> | undefined;
    protected applying = 0;
    protected disposed = false;

    constructor(
        protected readonly session: CollaborationSession,
        protected readonly store: BreakpointStore,
        protected readonly options: BreakpointGuestOptions = {}
    ) { }

    async start(): Promise<void> {
        this.toDispose.push(this.session.onBroadcast(BreakpointMessages.DidChange, ({ files }, sender) => {
            if (sender.id !== this.session.host.id || this.disposed) {
                return;
            }
            for (const file of files) {
                this.receive(file, false);
            }
        }));
        this.toDispose.push(this.store.onDidChange(uri => this.changedLocally(uri)));
        const received = new Set<string>();
        try {
            let cursor: number | undefined = 0;
            for (let pages = 0; cursor !== undefined && pages < 1000 && !this.disposed; pages++) {
                const result: AllBreakpointsResult = await this.session.sendRequest(BreakpointMessages.All, { cursor });
                for (const file of result.files) {
                    received.add(file.path);
                    this.receive(file, true);
                }
                cursor = result.next !== undefined && result.next > cursor ? result.next : undefined;
            }
        } catch (error) {
            if (!this.session.closed && !this.disposed) {
                this.options.logger?.warn('collaboration: could not get the host\'s breakpoints', error);
            }
            return;
        }
        // Left over from an earlier session (breakpoints are remembered): the host has none there.
        for (const uri of this.store.uris()) {
            const path = this.pathOf(uri);
            if (path !== undefined && !received.has(path) && !this.hostState.has(path) && !this.pendingLocal.has(path)) {
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

    protected receive(file: FileBreakpoints, fromPage: boolean): void {
        if (fromPage && this.hostState.has(file.path)) {
            // A broadcast since the page was asked for is newer.
            return;
        }
        this.hostState.set(file.path, file.breakpoints);
        if (!this.pendingLocal.has(file.path)) {
            this.apply(file.path, file.breakpoints);
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
