import URI from '@theia/core/lib/common/uri';
import { Disposable, DisposableCollection } from '@theia/core/lib/common/disposable';
import { Emitter, Event } from '@theia/core/lib/common/event';
import { MarkdownString, MarkdownStringImpl } from '@theia/core/lib/common/markdown-rendering';
import { nls } from '@theia/core/lib/common/nls';
import {
    createFileSystemProviderError, FileChange, FileChangeType, FileDeleteOptions, FileOverwriteOptions, FileSystemProviderCapabilities,
    FileSystemProviderErrorCode, FileSystemProviderWithFileFolderCopyCapability, FileSystemProviderWithFileReadWriteCapability, FileType,
    FileWriteOptions, ReadOnlyMessageFileSystemProvider, Stat, WatchOptions
} from '@theia/filesystem/lib/common/files';
import { CollaborationError, CollaborationSession, Request } from '@theia-collab/protocol';
import { collabUriOfWorkspacePath, workspacePathOfCollabUri } from '../../common/collaboration-uri';
import { FsChange, FsLimits, FsMessages, FsStat, RootsResult } from '../../common/fs/fs-messages';

/** How long a stat learnt from a directory listing answers `stat` without asking the host. */
const STAT_CACHE_MS = 1500;
/** Chunk requests kept in flight at once for large reads and writes. */
const PIPELINE = 4;
const REQUEST_TIMEOUT_MS = 60_000;
const MAX_READ_ATTEMPTS = 3;
/** The same refusal is shown at most once in this period. */
const NOTIFY_DEBOUNCE_MS = 3000;

export interface CollabFileSystemProviderOptions {
    /** Shows a refusal from the host to the user. */
    notify(message: string): void;
}

function bytes(data: Uint8Array | ArrayBuffer): Uint8Array {
    return data instanceof Uint8Array ? data : new Uint8Array(data);
}

/**
 * The guest's view of the host's workspace (`collab:/<root>/<path>`): every call is a request to the host,
 * which decides what is visible and allowed. Read-only guests see a read-only file system, but the host's
 * check is what protects the files.
 */
export class CollabFileSystemProvider implements FileSystemProviderWithFileReadWriteCapability, FileSystemProviderWithFileFolderCopyCapability,
    ReadOnlyMessageFileSystemProvider, Disposable {

    protected readonly onDidChangeCapabilitiesEmitter = new Emitter<void>();
    readonly onDidChangeCapabilities = this.onDidChangeCapabilitiesEmitter.event;
    protected readonly onDidChangeFileEmitter = new Emitter<readonly FileChange[]>();
    readonly onDidChangeFile = this.onDidChangeFileEmitter.event;
    protected readonly onFileWatchErrorEmitter = new Emitter<void>();
    readonly onFileWatchError = this.onFileWatchErrorEmitter.event;
    protected readonly onDidChangeReadOnlyMessageEmitter = new Emitter<MarkdownString | undefined>();
    readonly onDidChangeReadOnlyMessage: Event<MarkdownString | undefined> = this.onDidChangeReadOnlyMessageEmitter.event;

    protected readonly toDispose = new DisposableCollection(
        this.onDidChangeCapabilitiesEmitter, this.onDidChangeFileEmitter, this.onFileWatchErrorEmitter, this.onDidChangeReadOnlyMessageEmitter
    );
    protected readonly statCache = new Map<string, { stat: FsStat; at: number }>();
    protected readonly lastNotified = new Map<string, number>();
    protected roots: string[] = [];
    protected caseSensitive = true;
    protected readonly = false;
    readOnlyMessage: MarkdownString | undefined;

    constructor(protected readonly session: CollaborationSession, protected readonly options: CollabFileSystemProviderOptions) {
        this.updatePermission();
        const listener = session.onPeerChanged(peer => {
            if (peer.id === session.self.id) {
                this.updatePermission(peer.permission === 'readonly');
            }
        });
        // Only the host may say what changed on its disk.
        const changes = session.onBroadcast(FsMessages.DidChange, (params, sender) => {
            if (sender.id === session.host.id) {
                this.applyChanges(params.changes);
            }
        });
        this.toDispose.push(Disposable.create(() => {
            listener.dispose();
            changes.dispose();
        }));
    }

    get capabilities(): FileSystemProviderCapabilities {
        let capabilities = FileSystemProviderCapabilities.FileReadWrite | FileSystemProviderCapabilities.FileFolderCopy;
        if (this.caseSensitive) {
            capabilities |= FileSystemProviderCapabilities.PathCaseSensitive;
        }
        if (this.readonly) {
            capabilities |= FileSystemProviderCapabilities.Readonly;
        }
        return capabilities;
    }

    /** The host's roots, as `fs/roots` or `fs/didChangeRoots` told. */
    setRoots(roots: RootsResult): void {
        this.roots = roots.roots.map(root => root.name);
        if (this.caseSensitive !== roots.caseSensitive) {
            this.caseSensitive = roots.caseSensitive;
            this.onDidChangeCapabilitiesEmitter.fire();
        }
        this.statCache.clear();
    }

    protected updatePermission(readonly = (this.session.getPeer(this.session.self.id) ?? this.session.self).permission === 'readonly'): void {
        if (readonly === this.readonly && (this.readOnlyMessage !== undefined) === readonly) {
            return;
        }
        this.readonly = readonly;
        this.readOnlyMessage = readonly
            ? new MarkdownStringImpl(nls.localize('collaboration/fs/readOnlyMessage', '{0} gave you read-only access to this session.', this.session.host.name))
            : undefined;
        this.onDidChangeCapabilitiesEmitter.fire();
        this.onDidChangeReadOnlyMessageEmitter.fire(this.readOnlyMessage);
    }

    /** Applies an `fs/didChange` broadcast from the host. */
    applyChanges(changes: readonly FsChange[]): void {
        const events: FileChange[] = [];
        for (const change of changes) {
            this.invalidate(change.path, change.type === 'deleted');
            events.push({
                type: change.type === 'added' ? FileChangeType.ADDED : change.type === 'deleted' ? FileChangeType.DELETED : FileChangeType.UPDATED,
                resource: new URI(collabUriOfWorkspacePath(change.path))
            });
        }
        if (events.length) {
            this.onDidChangeFileEmitter.fire(events);
        }
    }

    watch(_resource: URI, _opts: WatchOptions): Disposable {
        // The host announces every change under its roots; nothing to set up per watch.
        return Disposable.NULL;
    }

    async stat(resource: URI): Promise<Stat> {
        const path = this.toPath(resource);
        if (path === '') {
            return { type: FileType.Directory, mtime: 0, ctime: 0, size: 0 };
        }
        const cached = this.statCache.get(path);
        if (cached && Date.now() - cached.at < STAT_CACHE_MS) {
            return this.toStat(cached.stat);
        }
        return this.toStat(await this.request(FsMessages.Stat, { path }, resource));
    }

    async readdir(resource: URI): Promise<[string, FileType][]> {
        const path = this.toPath(resource);
        if (path === '') {
            return this.roots.map(name => [name, FileType.Directory]);
        }
        const result: [string, FileType][] = [];
        let cursor: number | undefined = 0;
        // Bounded: at most this many pages (a few million entries).
        for (let page = 0; cursor !== undefined && page < 5000; page++) {
            const listing: { entries: (FsStat & { name: string })[]; next?: number } = await this.request(FsMessages.Readdir, { path, cursor }, resource);
            const now = Date.now();
            for (const entry of listing.entries) {
                const { name, ...stat } = entry;
                this.statCache.set(`${path}/${name}`, { stat, at: now });
                result.push([name, stat.type === 'directory' ? FileType.Directory : FileType.File]);
            }
            cursor = listing.next !== undefined && listing.next > cursor ? listing.next : undefined;
        }
        this.trimCache();
        return result;
    }

    async readFile(resource: URI): Promise<Uint8Array> {
        const path = this.toPath(resource, true);
        for (let attempt = 1; ; attempt++) {
            const first = await this.request(FsMessages.ReadFile, { path, offset: 0, length: FsLimits.chunkBytes }, resource);
            const head = bytes(first.data);
            if (head.byteLength >= first.size) {
                return head;
            }
            const content = new Uint8Array(first.size);
            content.set(head);
            let consistent = true;
            const offsets: number[] = [];
            for (let offset = head.byteLength; offset < first.size; offset += FsLimits.chunkBytes) {
                offsets.push(offset);
            }
            await this.pipeline(offsets, async offset => {
                const length = Math.min(FsLimits.chunkBytes, first.size - offset);
                const chunk = await this.request(FsMessages.ReadFile, { path, offset, length }, resource);
                const data = bytes(chunk.data);
                if (chunk.size !== first.size || chunk.mtime !== first.mtime || data.byteLength !== length) {
                    consistent = false;
                    return false;
                }
                content.set(data, offset);
                return true;
            });
            if (consistent) {
                return content;
            }
            if (attempt >= MAX_READ_ATTEMPTS) {
                throw createFileSystemProviderError(nls.localize('collaboration/fs/changedWhileReading',
                    "'{0}' kept changing on the host while it was being read.", path), FileSystemProviderErrorCode.Unavailable);
            }
        }
    }

    async writeFile(resource: URI, content: Uint8Array, opts: FileWriteOptions): Promise<void> {
        const path = this.toPath(resource, true);
        const flags = { create: !!opts.create, overwrite: !!opts.overwrite };
        try {
            if (content.byteLength <= FsLimits.chunkBytes) {
                await this.request(FsMessages.WriteFile, { path, data: content, ...flags }, resource);
                return;
            }
            const { uploadId } = await this.request(FsMessages.WriteBegin, { path, size: content.byteLength, ...flags }, resource);
            try {
                const offsets: number[] = [];
                for (let offset = 0; offset < content.byteLength; offset += FsLimits.chunkBytes) {
                    offsets.push(offset);
                }
                // Chunks are issued in order; the host takes them in the order they arrive.
                await this.pipeline(offsets, async offset => {
                    await this.request(FsMessages.WriteChunk, { uploadId, offset, data: content.subarray(offset, offset + FsLimits.chunkBytes) }, resource);
                    return true;
                });
                await this.request(FsMessages.WriteCommit, { uploadId }, resource);
            } catch (error) {
                this.session.sendRequest(FsMessages.WriteAbort, { uploadId }).catch(() => undefined);
                throw error;
            }
        } finally {
            this.invalidate(path, false);
        }
    }

    async mkdir(resource: URI): Promise<void> {
        const path = this.toPath(resource, true);
        await this.request(FsMessages.Mkdir, { path }, resource);
        this.invalidate(path, false);
    }

    async delete(resource: URI, opts: FileDeleteOptions): Promise<void> {
        const path = this.toPath(resource, true);
        try {
            await this.request(FsMessages.Delete, { path, recursive: !!opts.recursive }, resource);
        } finally {
            this.invalidate(path, true);
        }
    }

    async rename(from: URI, to: URI, opts: FileOverwriteOptions): Promise<void> {
        const source = this.toPath(from, true);
        const target = this.toPath(to, true);
        try {
            await this.request(FsMessages.Rename, { from: source, to: target, overwrite: !!opts.overwrite }, to);
        } finally {
            this.invalidate(source, true);
            this.invalidate(target, true);
        }
    }

    async copy(from: URI, to: URI, opts: FileOverwriteOptions): Promise<void> {
        const source = this.toPath(from, true);
        const target = this.toPath(to, true);
        try {
            await this.request(FsMessages.Copy, { from: source, to: target, overwrite: !!opts.overwrite }, to);
        } finally {
            this.invalidate(target, true);
        }
    }

    dispose(): void {
        this.statCache.clear();
        this.toDispose.dispose();
    }

    // ---- helpers ----

    /** The workspace path of a `collab:` URI; `''` for `collab:/`. */
    protected toPath(resource: URI, mustBeBelowRoot = false): string {
        const path = workspacePathOfCollabUri({ scheme: resource.scheme, path: resource.path.toString() })?.replace(/\/+$/, '');
        if (path === undefined || (mustBeBelowRoot && path === '')) {
            throw createFileSystemProviderError(nls.localize('collaboration/fs/invalidUri', 'Not a file of the shared workspace: {0}', resource.toString()),
                path === undefined ? FileSystemProviderErrorCode.FileNotFound : FileSystemProviderErrorCode.NoPermissions);
        }
        return path;
    }

    protected toStat(stat: FsStat): Stat {
        return { type: stat.type === 'directory' ? FileType.Directory : FileType.File, mtime: stat.mtime, ctime: stat.ctime, size: stat.size };
    }

    protected async request<P, R>(definition: Request<P, R>, params: P, resource: URI): Promise<R> {
        if (this.session.closed) {
            throw createFileSystemProviderError(nls.localize('collaboration/fs/sessionEnded', 'The collaboration session has ended.'),
                FileSystemProviderErrorCode.Unavailable);
        }
        try {
            return await this.session.sendRequest(definition, params, { timeout: REQUEST_TIMEOUT_MS });
        } catch (error) {
            throw this.toProviderError(error, resource);
        }
    }

    /** Maps the host's refusal to what Theia's file service understands, and tells the user about denials. */
    protected toProviderError(error: unknown, resource: URI): Error {
        const { code, message } = CollaborationError.from(error);
        switch (code) {
            case 'not-found':
                return createFileSystemProviderError(message, FileSystemProviderErrorCode.FileNotFound);
            case 'file-exists':
                return createFileSystemProviderError(message, FileSystemProviderErrorCode.FileExists);
            case 'not-a-directory':
                return createFileSystemProviderError(message, FileSystemProviderErrorCode.FileNotADirectory);
            case 'is-a-directory':
                return createFileSystemProviderError(message, FileSystemProviderErrorCode.FileIsADirectory);
            case 'too-large':
                this.notify(message);
                return createFileSystemProviderError(message, FileSystemProviderErrorCode.FileTooLarge);
            case 'permission-denied':
            case 'forbidden':
            case 'not-member':
                this.notify(message);
                return createFileSystemProviderError(message, FileSystemProviderErrorCode.NoPermissions);
            case 'timeout':
            case 'disconnected':
            case 'room-closed':
                return createFileSystemProviderError(message, FileSystemProviderErrorCode.Unavailable);
            default:
                if (code !== 'invalid-params' && code !== 'bad-request') {
                    this.notify(message);
                }
                return createFileSystemProviderError(`${message} (${resource.path.toString()})`, FileSystemProviderErrorCode.Unknown);
        }
    }

    protected notify(message: string): void {
        const now = Date.now();
        const last = this.lastNotified.get(message);
        if (last !== undefined && now - last < NOTIFY_DEBOUNCE_MS) {
            return;
        }
        this.lastNotified.set(message, now);
        if (this.lastNotified.size > 100) {
            this.lastNotified.clear();
        }
        this.options.notify(message);
    }

    /** Runs `task` over `items` with a few in flight, starting them in order; stops early when one returns false or fails. */
    protected async pipeline<T>(items: readonly T[], task: (item: T) => Promise<boolean>): Promise<void> {
        let next = 0;
        let stop = false;
        const worker = async () => {
            while (!stop && next < items.length) {
                const item = items[next++];
                if (!await task(item).catch(error => { stop = true; throw error; })) {
                    stop = true;
                }
            }
        };
        await Promise.all(Array.from({ length: Math.min(PIPELINE, items.length) }, worker));
    }

    protected invalidate(path: string, withDescendants: boolean): void {
        this.statCache.delete(path);
        const parent = path.substring(0, path.lastIndexOf('/'));
        if (parent) {
            this.statCache.delete(parent);
        }
        if (withDescendants) {
            const prefix = path + '/';
            for (const key of [...this.statCache.keys()]) {
                if (key.startsWith(prefix)) {
                    this.statCache.delete(key);
                }
            }
        }
    }

    protected trimCache(): void {
        if (this.statCache.size > 20_000) {
            this.statCache.clear();
        }
    }
}
