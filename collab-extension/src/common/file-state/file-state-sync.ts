import { CollaborationError } from '@theia-collab/protocol/lib/errors';
import { Disposable } from '@theia-collab/protocol/lib/events';
import { CollaborationSession, Peer } from '@theia-collab/protocol/lib/session';
import { HostPathMapper } from '../fs/host-path-mapper';
import { batchesWithinBudget } from '../message-batches';
import { FileState, FileStateChannel, FileStatesPage } from './file-state-protocol';

/** Changed files the host collects at most before the next announcement (more are dropped). */
export const MAX_PENDING_FILES = 10_000;
/** Pages a guest asks for at most when it joins. */
export const MAX_PAGES = 1000;

/** The host's items by host URI (e.g. Theia's BreakpointManager or ProblemManager in the app). */
export interface FileStateSource<T> {
    get(uri: string): T[];
    /** URIs that have items now. */
    uris(): string[];
    /** Fires with the URI whose items changed. */
    onDidChange(listener: (uri: string) => void): Disposable;
}

export interface FileStateSyncOptions {
    /** How long changes are collected; the channel's `debounceMs` by default. */
    debounceMs?: number;
    logger?: { warn(...args: unknown[]): void };
}

export interface FileStateHostOptions<T> extends FileStateSyncOptions {
    /** What guests get of a file's items (normalised, bounded); at most `maxItemsPerFile` of them are sent. */
    read?(items: T[]): T[];
    /** A canonical form of a file's items: with it, a file is announced only when that changed; without it, whenever it changed. */
    key?(items: readonly T[]): string;
}

/**
 * Host: announces the items of shared, visible files to guests (debounced, in bounded batches, in order) and
 * answers a joining guest's pages. It remembers what guests may show, so a file whose items went away is
 * announced empty, and (with a `key`) an unchanged file is not announced again.
 */
export class FileStateHost<F extends string, T> implements Disposable {

    protected readonly toDispose: Disposable[] = [];
    protected readonly pending = new Set<string>();
    /** Path → key of what guests were told; `undefined` when unknown (no key, or only sent in a page). Absent: nothing. */
    protected readonly announced = new Map<string, string | undefined>();
    protected timer: ReturnType<typeof setTimeout> | undefined;
    protected flushing: Promise<void> = Promise.resolve();
    protected disposed = false;

    constructor(
        protected readonly session: CollaborationSession,
        protected readonly channel: FileStateChannel<F, T>,
        protected readonly source: FileStateSource<T>,
        protected readonly paths: HostPathMapper,
        protected readonly options: FileStateHostOptions<T> = {}
    ) { }

    start(): void {
        this.toDispose.push(this.source.onDidChange(uri => this.changed(uri)));
        this.toDispose.push(this.session.onRequest(this.channel.all, async ({ cursor }, sender) => {
            this.checkPeer(sender.id);
            return this.page(cursor ?? 0);
        }));
    }

    /** The participant `peerId` of this open session, or a `forbidden` error. */
    protected checkPeer(peerId: string): Peer {
        const peer = this.session.getPeer(peerId);
        if (!peer || peer.id === this.session.self.id || this.disposed || this.session.closed) {
            throw new CollaborationError('forbidden', 'You are not a participant of this session any more.');
        }
        return peer;
    }

    protected changed(uri: string): void {
        if (this.disposed || this.pending.size >= MAX_PENDING_FILES) {
            return;
        }
        this.pending.add(uri);
        if (!this.timer) {
            this.timer = setTimeout(() => {
                this.timer = undefined;
                this.flushing = this.flushing.then(() => this.flush());
            }, this.options.debounceMs ?? this.channel.limits.debounceMs);
        }
    }

    protected async flush(): Promise<void> {
        const uris = [...this.pending];
        this.pending.clear();
        if (this.disposed || this.session.closed) {
            return;
        }
        try {
            const byPath = this.workspacePaths(uris);
            const visible = new Set(await this.paths.filterVisible([...byPath.keys()]));
            const files: FileState<F, T>[] = [];
            for (const [path, uri] of byPath) {
                const items = visible.has(path) ? this.read(uri) : [];
                if (this.remember(path, items)) {
                    files.push(this.fileState(path, items));
                }
            }
            for (const batch of this.batches(files)) {
                if (this.disposed || this.session.closed) {
                    break;
                }
                await this.session.sendBroadcast(this.channel.didChange, { files: batch });
            }
        } catch (error) {
            if (!this.session.closed) {
                this.options.logger?.warn(`collaboration: announcing ${this.channel.field} failed`, error);
            }
        }
    }

    /** Records `items` as announced for `path`; false when guests already have them (nothing to announce). */
    protected remember(path: string, items: T[]): boolean {
        if (items.length === 0) {
            return this.announced.delete(path);
        }
        const key = this.options.key?.(items);
        if (key !== undefined && this.announced.get(path) === key) {
            return false;
        }
        this.announced.set(path, key);
        return true;
    }

    protected async page(cursor: number): Promise<FileStatesPage<F, T>> {
        const entries = this.workspacePaths(this.source.uris());
        const visible = (await this.paths.filterVisible([...entries.keys()])).sort();
        const files: FileState<F, T>[] = [];
        let index = cursor;
        for (; index < visible.length && files.length < this.channel.limits.maxFilesPerMessage; index++) {
            const items = this.read(entries.get(visible[index])!);
            if (items.length > 0) {
                files.push(this.fileState(visible[index], items));
            }
        }
        const sent = this.batches(files)[0] ?? [];
        if (sent.length < files.length) {
            // Over the budget: the rest comes with the next page.
            index = visible.indexOf(files[sent.length].path, cursor);
        }
        for (const file of sent) {
            // A guest may show them now: should they go away, that is announced.
            if (!this.announced.has(file.path)) {
                this.announced.set(file.path, undefined);
            }
        }
        return index < visible.length ? { files: sent, next: index } : { files: sent };
    }

    /** Workspace path → host URI of the URIs under a shared root. */
    protected workspacePaths(uris: Iterable<string>): Map<string, string> {
        const byPath = new Map<string, string>();
        for (const uri of uris) {
            const path = this.paths.toWorkspacePath(uri);
            if (path !== undefined) {
                byPath.set(path, uri);
            }
        }
        return byPath;
    }

    protected read(uri: string): T[] {
        const items = this.source.get(uri);
        const read = this.options.read ? this.options.read(items) : items;
        const max = this.channel.limits.maxItemsPerFile;
        return read.length > max ? read.slice(0, max) : read;
    }

    protected fileState(path: string, items: T[]): FileState<F, T> {
        return { path, [this.channel.field]: items } as FileState<F, T>;
    }

    protected batches(files: FileState<F, T>[]): FileState<F, T>[][] {
        return batchesWithinBudget(files, this.channel.limits.budget, this.channel.limits.maxFilesPerMessage);
    }

    dispose(): void {
        this.disposed = true;
        clearTimeout(this.timer);
        this.pending.clear();
        this.toDispose.splice(0).forEach(disposable => disposable.dispose());
    }
}

/** Where a guest puts the host's items (its breakpoints, its problem manager ...). */
export interface FileStateSink<T> {
    /** The host's items of `path` are now these; empty: it has none (any more). */
    set(path: string, items: T[]): void;
}

/**
 * Guest: hands the host's items to the sink, all files that have some when it starts (paged) and then every
 * announced change. Only the host's announcements count; an announcement is newer than a page asked for before it.
 */
export class FileStateGuest<F extends string, T> implements Disposable {

    protected readonly toDispose: Disposable[] = [];
    /** While the pages come: the paths an announcement updated, which a page must not overwrite. */
    protected announcedWhileCatchingUp: Set<string> | undefined;
    /** Paths the sink holds items of (from the host). */
    protected readonly known = new Set<string>();
    /** The catch-up in flight, if any: catch-ups run one after the other. */
    protected catchingUp: Promise<boolean> = Promise.resolve(true);
    protected started = false;
    protected disposed = false;

    constructor(
        protected readonly session: CollaborationSession,
        protected readonly channel: FileStateChannel<F, T>,
        protected readonly sink: FileStateSink<T>,
        protected readonly options: FileStateSyncOptions = {}
    ) { }

    /** Resolves to true once every page arrived, false when that failed (logged) or the guest was disposed. */
    async start(): Promise<boolean> {
        if (this.started) {
            return this.catchingUp;
        }
        this.started = true;
        this.toDispose.push(this.session.onBroadcast(this.channel.didChange, ({ files }, sender) => {
            if (sender.id !== this.session.host.id || this.disposed) {
                return;
            }
            for (const file of files) {
                this.announcedWhileCatchingUp?.add(file.path);
                this.receive(file);
            }
        }));
        // Announcements were lost for good (a long outage): page through the host's files again.
        this.toDispose.push(this.session.onMissedMessages(() => this.resync()));
        return this.catchUp(false);
    }

    /**
     * Pages through the host's files again and hands the sink what changed: files the host has items of now, and
     * no items for the files it no longer has any of. Idempotent; resolves like `start`.
     */
    resync(): Promise<boolean> {
        if (!this.started || this.disposed) {
            return Promise.resolve(false);
        }
        return this.catchUp(true);
    }

    protected catchUp(removeMissing: boolean): Promise<boolean> {
        const next = this.catchingUp.then(() => this.fetchAll(removeMissing));
        this.catchingUp = next;
        return next;
    }

    protected async fetchAll(removeMissing: boolean): Promise<boolean> {
        if (this.disposed) {
            return false;
        }
        const announced = this.announcedWhileCatchingUp = new Set<string>();
        const listed = new Set<string>();
        try {
            let cursor: number | undefined = 0;
            for (let pages = 0; cursor !== undefined && pages < MAX_PAGES && !this.disposed; pages++) {
                const result: FileStatesPage<F, T> = await this.session.sendRequest(this.channel.all, { cursor });
                for (const file of result.files) {
                    listed.add(file.path);
                    if (!announced.has(file.path)) {
                        this.receive(file);
                    }
                }
                cursor = result.next !== undefined && result.next > cursor ? result.next : undefined;
            }
            if (removeMissing && cursor === undefined && !this.disposed) {
                for (const path of [...this.known]) {
                    if (!listed.has(path) && !announced.has(path)) {
                        this.receive({ path, [this.channel.field]: [] } as FileState<F, T>);
                    }
                }
            }
            return !this.disposed;
        } catch (error) {
            if (!this.session.closed && !this.disposed) {
                this.options.logger?.warn(`collaboration: could not get the host's ${this.channel.field}`, error);
            }
            return false;
        } finally {
            this.announcedWhileCatchingUp = undefined;
        }
    }

    protected receive(file: FileState<F, T>): void {
        if (!this.disposed) {
            const items = file[this.channel.field];
            if (items.length) {
                this.known.add(file.path);
            } else {
                this.known.delete(file.path);
            }
            this.sink.set(file.path, items);
        }
    }

    dispose(): void {
        this.disposed = true;
        this.toDispose.splice(0).forEach(disposable => disposable.dispose());
    }
}
