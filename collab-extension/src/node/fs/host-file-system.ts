/**
 * The host's side of the shared workspace, in plain Node: answers guests' `fs/...` requests against the
 * shared roots, and is the only place that decides what a guest may see or change.
 *
 * - Paths are workspace paths (`<root>/<relative>`); `..`, `.`, absolute paths, backslashes and NUL are refused.
 * - The real path of a target (or of its parent, for creations) must stay inside the real path of its root:
 *   symlinks that lead out are refused; reads open with O_NOFOLLOW so a swapped-in link is not followed.
 * - Excluded files (globs, optionally `.gitignore`) are reported as not found, hidden from listings, and
 *   directories holding them can be neither deleted, moved nor copied by guests. With nested roots, a file
 *   hidden as seen from any root that holds it is hidden through every root.
 * - Read-only callers get `permission-denied` for every mutation.
 * - Writes go to a temporary file beside the target and replace it atomically on commit.
 */
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { Minimatch } from 'minimatch';
import ignore, { Ignore } from 'ignore';
import type { ZodTypeAny } from 'zod';
import { CollaborationError, CollaborationErrorData } from '@theia-collab/protocol/lib/errors';
import { splitWorkspacePath } from '../../common/collaboration-uri';
import {
    DeleteParams, EmptyResult, FsDirEntry, FsErrorCodes, FsLimits, FsMessages, FsStat, MoveParams, PathParams, ReaddirParams,
    ReaddirResult, ReadFileParams, ReadFileResult, RootsParams, RootsResult, UploadParams, WriteBeginParams, WriteBeginResult, WriteChunkParams,
    WriteFileParams
} from '../../common/fs/fs-messages';
import { FsCaller, FsResult } from '../../common/fs/host-file-system-protocol';

export interface HostRoot {
    name: string;
    /** Absolute directory on the host. */
    path: string;
}

export interface HostFileSystemOptions {
    roots: readonly HostRoot[];
    exclude?: readonly string[];
    excludeGitIgnored?: boolean;
    /** Defaults to true on Linux, false elsewhere. */
    caseSensitive?: boolean;
}

/** Temporary upload files. Theia's watchers always ignore `**\/theia_upload_*`, so they cause no change events. */
export const UPLOAD_PREFIX = 'theia_upload_collab_';
const MAX_PATTERNS = 1000;
const MAX_PATTERN_LENGTH = 1024;
const MAX_GITIGNORE_BYTES = 1024 * 1024;
const GITIGNORE_RECHECK_MS = 1000;
const MAX_WALK_ENTRIES = 100_000;

const O_NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;
const O_NONBLOCK = fs.constants.O_NONBLOCK ?? 0;

/** Another shared root whose folder holds, or lies inside, the root a path was resolved in. */
interface OverlappingRoot {
    name: string;
    real: string;
}

interface Resolved {
    rootName: string;
    rootReal: string;
    /** Other roots sharing some of this root's files (nested roots): what they hide stays hidden here too. */
    others: OverlappingRoot[];
    workspacePath: string;
    /** Lexical segments below the root, as the guest named them. */
    segments: string[];
    isRoot: boolean;
    /** The directory entry itself: real parent + base name (a symlink is not followed). */
    entry: string;
    /** Whether something exists at `entry`. */
    exists: boolean;
    isLink: boolean;
    /** What `entry` leads to, symlinks resolved; equals `entry` when nothing exists yet. */
    real: string;
    /** Stats of `real` when it exists. */
    stats?: fs.Stats;
}

interface Upload {
    id: string;
    peerId: string;
    workspacePath: string;
    tempPath: string;
    handle: fs.promises.FileHandle;
    size: number;
    received: number;
    create: boolean;
    overwrite: boolean;
    timer?: ReturnType<typeof setTimeout>;
    failed?: boolean;
}

interface RequestHandler {
    params: ZodTypeAny;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    run(caller: FsCaller, params: any): Promise<unknown>;
}

interface GitIgnoreEntry {
    checkedAt: number;
    mtimeMs: number;
    size: number;
    rules?: Ignore;
}

function fail(code: string, message: string): never {
    throw new CollaborationError(code, message);
}

function inside(root: string, candidate: string): boolean {
    return candidate === root || candidate.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

function toFsStat(stats: fs.Stats): FsStat {
    return {
        type: stats.isDirectory() ? 'directory' : 'file',
        mtime: stats.mtimeMs,
        ctime: stats.birthtimeMs || stats.ctimeMs,
        size: stats.isDirectory() ? 0 : stats.size
    };
}

/** Binary payloads may arrive as ArrayBuffer (browsers) or Uint8Array/Buffer. */
function bytes(data: Uint8Array | ArrayBuffer): Uint8Array {
    return data instanceof Uint8Array ? data : new Uint8Array(data);
}

function errno(error: unknown): string | undefined {
    return typeof error === 'object' && error !== null && typeof (error as NodeJS.ErrnoException).code === 'string'
        ? (error as NodeJS.ErrnoException).code : undefined;
}

/** Turns a Node error into a CollaborationError naming the workspace path, never the host's absolute path. */
function fsError(error: unknown, workspacePath: string): CollaborationError {
    if (error instanceof CollaborationError) {
        return error;
    }
    switch (errno(error)) {
        case 'ENOENT': return new CollaborationError(FsErrorCodes.notFound, `'${workspacePath}' does not exist.`);
        case 'EEXIST': return new CollaborationError(FsErrorCodes.fileExists, `'${workspacePath}' already exists.`);
        case 'ENOTDIR': return new CollaborationError(FsErrorCodes.notADirectory, `'${workspacePath}' is not a folder.`);
        case 'EISDIR': return new CollaborationError(FsErrorCodes.isADirectory, `'${workspacePath}' is a folder.`);
        case 'ENOTEMPTY': return new CollaborationError(FsErrorCodes.notEmpty, `'${workspacePath}' is not empty.`);
        case 'EACCES':
        case 'EPERM': return new CollaborationError(FsErrorCodes.permissionDenied, `The host's system does not allow access to '${workspacePath}'.`);
        case 'ELOOP': return new CollaborationError(FsErrorCodes.forbidden, `'${workspacePath}' is a link that is not shared.`);
        case 'ENOSPC': return new CollaborationError(FsErrorCodes.internal, 'The host has no space left on its disk.');
        default: return new CollaborationError(FsErrorCodes.internal, `The host could not access '${workspacePath}' (${errno(error) ?? 'error'}).`);
    }
}

export class HostFileSystem {

    protected roots = new Map<string, HostRoot>();
    protected excludes: Minimatch[] = [];
    protected excludeGitIgnored = false;
    protected caseSensitive = process.platform === 'linux';
    protected readonly gitIgnores = new Map<string, GitIgnoreEntry>();
    protected readonly uploads = new Map<string, Upload>();

    constructor(options: HostFileSystemOptions = { roots: [] }) {
        this.configure(options);
    }

    configure(options: HostFileSystemOptions): void {
        this.caseSensitive = options.caseSensitive ?? process.platform === 'linux';
        this.roots = new Map();
        for (const root of options.roots.slice(0, FsLimits.maxRoots)) {
            if (root.name && !root.name.includes('/') && path.isAbsolute(root.path) && !this.roots.has(root.name)) {
                this.roots.set(root.name, { name: root.name, path: path.resolve(root.path) });
            }
        }
        this.excludes = (options.exclude ?? [])
            .filter(pattern => typeof pattern === 'string' && pattern.trim().length > 0 && pattern.length <= MAX_PATTERN_LENGTH && !pattern.startsWith('!'))
            .slice(0, MAX_PATTERNS)
            .map(pattern => new Minimatch(pattern.trim(), { dot: true, matchBase: true, nocase: !this.caseSensitive }));
        this.excludeGitIgnored = !!options.excludeGitIgnored;
        this.gitIgnores.clear();
    }

    /** Runs one request: validates `caller` and `params`, never throws. */
    async handle(method: string, caller: FsCaller, params: unknown): Promise<FsResult> {
        const handler = this.handlers.get(method);
        if (!handler) {
            return { ok: false, error: { code: 'unknown-method', message: `Unknown file system method '${String(method).slice(0, 64)}'.` } };
        }
        const who = FsCaller.safeParse(caller);
        if (!who.success) {
            return { ok: false, error: { code: FsErrorCodes.badRequest, message: 'Invalid caller.' } };
        }
        const parsed = handler.params.safeParse(params);
        if (!parsed.success) {
            const issue = parsed.error.issues[0];
            const where = issue?.path.join('.') || 'params';
            return { ok: false, error: { code: FsErrorCodes.badRequest, message: `Invalid ${method} request: ${where}: ${issue?.message ?? 'invalid'}`.slice(0, 300) } };
        }
        try {
            return { ok: true, value: await handler.run(who.data, parsed.data) };
        } catch (error) {
            return { ok: false, error: this.toErrorData(error) };
        }
    }

    protected toErrorData(error: unknown): CollaborationErrorData {
        const collaborationError = error instanceof CollaborationError ? error : fsError(error, '?');
        return { code: collaborationError.code, message: collaborationError.message };
    }

    protected readonly handlers = new Map<string, RequestHandler>([
        [FsMessages.Roots.method, { params: RootsParams, run: () => this.listRoots() }],
        [FsMessages.Stat.method, { params: PathParams, run: (c, p) => this.stat(c, p) }],
        [FsMessages.Readdir.method, { params: ReaddirParams, run: (c, p) => this.readdir(c, p) }],
        [FsMessages.ReadFile.method, { params: ReadFileParams, run: (c, p) => this.readFile(c, p) }],
        [FsMessages.WriteFile.method, { params: WriteFileParams, run: (c, p) => this.writeFile(c, p) }],
        [FsMessages.WriteBegin.method, { params: WriteBeginParams, run: (c, p) => this.writeBegin(c, p) }],
        [FsMessages.WriteChunk.method, { params: WriteChunkParams, run: (c, p) => this.writeChunk(c, p) }],
        [FsMessages.WriteCommit.method, { params: UploadParams, run: (c, p) => this.writeCommit(c, p) }],
        [FsMessages.WriteAbort.method, { params: UploadParams, run: (c, p) => this.writeAbort(c, p) }],
        [FsMessages.Mkdir.method, { params: PathParams, run: (c, p) => this.mkdir(c, p) }],
        [FsMessages.Delete.method, { params: DeleteParams, run: (c, p) => this.delete(c, p) }],
        [FsMessages.Rename.method, { params: MoveParams, run: (c, p) => this.rename(c, p) }],
        [FsMessages.Copy.method, { params: MoveParams, run: (c, p) => this.copy(c, p) }]
    ]);

    // ---- requests ----

    async listRoots(): Promise<RootsResult> {
        return { roots: [...this.roots.keys()].map(name => ({ name })), caseSensitive: this.caseSensitive };
    }

    async stat(_caller: FsCaller, { path: workspacePath }: PathParams): Promise<FsStat> {
        const target = await this.resolve(workspacePath, 'existing');
        return toFsStat(target.stats!);
    }

    async readdir(_caller: FsCaller, { path: workspacePath, cursor = 0 }: ReaddirParams): Promise<ReaddirResult> {
        const dir = await this.resolve(workspacePath, 'existing');
        if (!dir.stats!.isDirectory()) {
            fail(FsErrorCodes.notADirectory, `'${workspacePath}' is not a folder.`);
        }
        let dirents: fs.Dirent[];
        try {
            dirents = await fs.promises.readdir(dir.real, { withFileTypes: true });
        } catch (error) {
            throw fsError(error, workspacePath);
        }
        dirents.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
        const page = dirents.slice(cursor, cursor + FsLimits.readdirPageSize);
        const realSegments = this.segmentsBelow(dir.rootReal, dir.real);
        const entries = await Promise.all(page.map(dirent => this.toDirEntry(dir, realSegments, dirent)));
        const next = cursor + FsLimits.readdirPageSize;
        return {
            entries: entries.filter((entry): entry is FsDirEntry => !!entry),
            ...(next < dirents.length ? { next } : {})
        };
    }

    protected async toDirEntry(dir: Resolved, dirRealSegments: string[], dirent: fs.Dirent): Promise<FsDirEntry | undefined> {
        const name = dirent.name;
        if (name.includes('\\') || name.includes('/')) {
            return undefined;
        }
        const lexical = [...dir.segments, name];
        const lexicalIsDir = dirent.isDirectory() ? true : dirent.isSymbolicLink() ? undefined : false;
        if (await this.isHidden(dir.rootName, dir.rootReal, lexical, lexicalIsDir)
            || await this.isHidden(dir.rootName, dir.rootReal, [...dirRealSegments, name], lexicalIsDir)) {
            return undefined;
        }
        const childPath = path.join(dir.real, name);
        if (await this.isHiddenElsewhere(dir.others, childPath, lexicalIsDir)) {
            return undefined;
        }
        try {
            if (dirent.isSymbolicLink()) {
                const real = await fs.promises.realpath(childPath);
                if (!inside(dir.rootReal, real)) {
                    return undefined;
                }
                const stats = await fs.promises.stat(real);
                if (await this.isHidden(dir.rootName, dir.rootReal, lexical, stats.isDirectory())
                    || await this.isHidden(dir.rootName, dir.rootReal, this.segmentsBelow(dir.rootReal, real), stats.isDirectory())
                    || await this.isHiddenElsewhere(dir.others, real, stats.isDirectory())) {
                    return undefined;
                }
                return { name, ...toFsStat(stats) };
            }
            const stats = await fs.promises.lstat(childPath);
            return { name, ...toFsStat(stats) };
        } catch {
            return undefined;
        }
    }

    async readFile(_caller: FsCaller, { path: workspacePath, offset, length }: ReadFileParams): Promise<ReadFileResult> {
        const target = await this.resolve(workspacePath, 'existing');
        if (target.stats!.isDirectory()) {
            fail(FsErrorCodes.isADirectory, `'${workspacePath}' is a folder.`);
        }
        if (!target.stats!.isFile()) {
            fail(FsErrorCodes.forbidden, `'${workspacePath}' is not a regular file.`);
        }
        let handle: fs.promises.FileHandle | undefined;
        try {
            handle = await fs.promises.open(target.real, fs.constants.O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
            const stats = await handle.stat();
            if (!stats.isFile() || stats.ino !== target.stats!.ino || stats.dev !== target.stats!.dev) {
                fail(FsErrorCodes.conflict, `'${workspacePath}' changed while it was being read.`);
            }
            const wanted = Math.max(0, Math.min(length, stats.size - offset));
            const buffer = Buffer.alloc(wanted);
            let read = 0;
            while (read < wanted) {
                const { bytesRead } = await handle.read(buffer, read, wanted - read, offset + read);
                if (bytesRead === 0) {
                    break;
                }
                read += bytesRead;
            }
            return { data: buffer.subarray(0, read), size: stats.size, mtime: stats.mtimeMs };
        } catch (error) {
            throw fsError(error, workspacePath);
        } finally {
            await handle?.close().catch(() => undefined);
        }
    }

    async writeFile(caller: FsCaller, { path: workspacePath, data, create, overwrite }: WriteFileParams): Promise<FsStat> {
        this.requireWrite(caller, workspacePath);
        const target = await this.checkWriteTarget(workspacePath, create, overwrite);
        const temp = await this.createTemp(target, workspacePath);
        try {
            await temp.handle.writeFile(bytes(data));
            await temp.handle.sync();
            await temp.handle.close();
            return await this.commitTemp(temp.tempPath, workspacePath, create, overwrite);
        } catch (error) {
            await temp.handle.close().catch(() => undefined);
            await fs.promises.unlink(temp.tempPath).catch(() => undefined);
            throw fsError(error, workspacePath);
        }
    }

    async writeBegin(caller: FsCaller, { path: workspacePath, size, create, overwrite }: WriteBeginParams): Promise<WriteBeginResult> {
        this.requireWrite(caller, workspacePath);
        if ([...this.uploads.values()].filter(upload => upload.peerId === caller.peerId).length >= FsLimits.maxUploadsPerPeer) {
            fail('rate-limited', 'Too many uploads in progress; wait for them to finish.');
        }
        const target = await this.checkWriteTarget(workspacePath, create, overwrite);
        const temp = await this.createTemp(target, workspacePath);
        const upload: Upload = {
            id: randomBytes(18).toString('base64url'),
            peerId: caller.peerId,
            workspacePath,
            tempPath: temp.tempPath,
            handle: temp.handle,
            size,
            received: 0,
            create,
            overwrite
        };
        this.uploads.set(upload.id, upload);
        this.touch(upload);
        return { uploadId: upload.id };
    }

    async writeChunk(caller: FsCaller, { uploadId, offset, data: payload }: WriteChunkParams): Promise<EmptyResult> {
        const data = bytes(payload);
        const upload = this.getUpload(caller, uploadId);
        if (caller.permission !== 'readwrite') {
            await this.dropUpload(upload);
            this.requireWrite(caller, upload.workspacePath);
        }
        if (upload.failed || offset !== upload.received) {
            await this.dropUpload(upload);
            fail(FsErrorCodes.badRequest, `Upload of '${upload.workspacePath}' got a chunk out of order.`);
        }
        if (upload.received + data.byteLength > upload.size) {
            await this.dropUpload(upload);
            fail(FsErrorCodes.tooLarge, `Upload of '${upload.workspacePath}' is larger than announced.`);
        }
        upload.received += data.byteLength;
        this.touch(upload);
        try {
            let written = 0;
            while (written < data.byteLength) {
                const { bytesWritten } = await upload.handle.write(data, written, data.byteLength - written, offset + written);
                written += bytesWritten;
            }
        } catch (error) {
            upload.failed = true;
            await this.dropUpload(upload);
            throw fsError(error, upload.workspacePath);
        }
        return {};
    }

    async writeCommit(caller: FsCaller, { uploadId }: UploadParams): Promise<FsStat> {
        const upload = this.getUpload(caller, uploadId);
        this.uploads.delete(upload.id);
        clearTimeout(upload.timer);
        try {
            this.requireWrite(caller, upload.workspacePath);
            if (upload.failed || upload.received !== upload.size) {
                fail(FsErrorCodes.badRequest, `Upload of '${upload.workspacePath}' is incomplete (${upload.received} of ${upload.size} bytes).`);
            }
            await upload.handle.sync();
            await upload.handle.close();
            return await this.commitTemp(upload.tempPath, upload.workspacePath, upload.create, upload.overwrite);
        } catch (error) {
            await upload.handle.close().catch(() => undefined);
            await fs.promises.unlink(upload.tempPath).catch(() => undefined);
            throw fsError(error, upload.workspacePath);
        }
    }

    async writeAbort(caller: FsCaller, { uploadId }: UploadParams): Promise<EmptyResult> {
        const upload = this.uploads.get(uploadId);
        if (upload && upload.peerId === caller.peerId) {
            await this.dropUpload(upload);
        }
        return {};
    }

    async mkdir(caller: FsCaller, { path: workspacePath }: PathParams): Promise<EmptyResult> {
        this.requireWrite(caller, workspacePath);
        const target = await this.resolve(workspacePath, 'create');
        if (target.exists) {
            fail(FsErrorCodes.fileExists, `'${workspacePath}' already exists.`);
        }
        try {
            await fs.promises.mkdir(target.entry);
        } catch (error) {
            throw fsError(error, workspacePath);
        }
        return {};
    }

    async delete(caller: FsCaller, { path: workspacePath, recursive }: DeleteParams): Promise<EmptyResult> {
        this.requireWrite(caller, workspacePath);
        const target = await this.resolve(workspacePath, 'existing');
        if (target.isRoot) {
            fail(FsErrorCodes.forbidden, `The shared folder '${workspacePath}' itself cannot be deleted.`);
        }
        try {
            if (target.isLink || !target.stats!.isDirectory()) {
                await fs.promises.unlink(target.entry);
            } else if (!recursive) {
                await fs.promises.rmdir(target.entry);
            } else {
                await this.assertNothingHidden(target, target.entry, target.segments, workspacePath);
                await fs.promises.rm(target.entry, { recursive: true });
            }
        } catch (error) {
            throw fsError(error, workspacePath);
        }
        return {};
    }

    async rename(caller: FsCaller, { from, to, overwrite }: MoveParams): Promise<EmptyResult> {
        this.requireWrite(caller, to);
        const source = await this.resolve(from, 'existing');
        const target = await this.resolve(to, 'create');
        if (source.isRoot || target.isRoot) {
            fail(FsErrorCodes.forbidden, 'A shared folder itself cannot be moved or replaced.');
        }
        if (source.entry === target.entry) {
            return {};
        }
        if (inside(source.entry, target.entry)) {
            fail(FsErrorCodes.badRequest, `Cannot move '${from}' into itself.`);
        }
        const sourceIsDir = !source.isLink && source.stats!.isDirectory();
        if (sourceIsDir) {
            await this.assertNothingHidden(source, source.entry, source.segments, from);
        }
        const sameFile = target.exists && !this.caseSensitive && target.stats && source.stats
            && target.stats.ino === source.stats.ino && target.stats.dev === source.stats.dev;
        try {
            if (target.exists && !sameFile) {
                await this.removeForOverwrite(target, to, overwrite);
            }
            await this.move(source.entry, target.entry);
        } catch (error) {
            throw fsError(error, error instanceof CollaborationError ? to : from);
        }
        return {};
    }

    /**
     * Renames `from` to `to` (which does not exist). Roots of a multi-root workspace may be on different file
     * systems, where a rename fails with EXDEV: then it copies (links as links) and removes the source, and on
     * failure removes the partial copy, leaving the source as it was.
     */
    protected async move(from: string, to: string): Promise<void> {
        try {
            await fs.promises.rename(from, to);
            return;
        } catch (error) {
            if (errno(error) !== 'EXDEV') {
                throw error;
            }
        }
        try {
            await fs.promises.cp(from, to, { recursive: true, verbatimSymlinks: true, errorOnExist: true, force: false, preserveTimestamps: true });
        } catch (error) {
            if (errno(error) !== 'EEXIST' && errno(error) !== 'ERR_FS_CP_EEXIST') {
                await fs.promises.rm(to, { recursive: true, force: true }).catch(() => undefined);
            }
            throw error;
        }
        await fs.promises.rm(from, { recursive: true });
    }

    async copy(caller: FsCaller, { from, to, overwrite }: MoveParams): Promise<EmptyResult> {
        this.requireWrite(caller, to);
        const source = await this.resolve(from, 'existing');
        const target = await this.resolve(to, 'create');
        if (target.isRoot) {
            fail(FsErrorCodes.forbidden, 'A shared folder itself cannot be replaced.');
        }
        if (source.real === target.entry) {
            fail(FsErrorCodes.fileExists, `'${to}' already exists.`);
        }
        if (inside(source.real, target.entry)) {
            fail(FsErrorCodes.badRequest, `Cannot copy '${from}' into itself.`);
        }
        if (source.stats!.isDirectory()) {
            await this.assertNothingHidden(source, source.real, this.segmentsBelow(source.rootReal, source.real), from);
        } else if (!source.stats!.isFile()) {
            fail(FsErrorCodes.forbidden, `'${from}' is not a regular file.`);
        }
        try {
            if (target.exists) {
                await this.removeForOverwrite(target, to, overwrite);
            }
            await fs.promises.cp(source.real, target.entry, { recursive: true, verbatimSymlinks: true, errorOnExist: true, force: false });
        } catch (error) {
            throw fsError(error, to);
        }
        return {};
    }

    // ---- visibility, for change events ----

    /** Whether guests may know about `workspacePath` (it need not exist any more). */
    async isVisible(workspacePath: string): Promise<boolean> {
        const split = splitWorkspacePath(workspacePath);
        const root = split && this.roots.get(split.root);
        if (!split || !root) {
            return false;
        }
        try {
            const rootReal = await fs.promises.realpath(root.path);
            return !await this.isHidden(root.name, rootReal, split.segments, undefined)
                && !await this.isHiddenElsewhere(await this.overlappingRoots(root.name, rootReal), path.join(rootReal, ...split.segments), undefined);
        } catch {
            return false;
        }
    }

    async filterVisible(paths: readonly string[]): Promise<string[]> {
        const visible = await Promise.all(paths.map(p => typeof p === 'string' ? this.isVisible(p) : false));
        return paths.filter((_, i) => visible[i]);
    }

    // ---- uploads ----

    async dropPeer(peerId: string): Promise<void> {
        await Promise.all([...this.uploads.values()].filter(upload => upload.peerId === peerId).map(upload => this.dropUpload(upload)));
    }

    async dispose(): Promise<void> {
        await Promise.all([...this.uploads.values()].map(upload => this.dropUpload(upload)));
        this.roots = new Map();
    }

    protected getUpload(caller: FsCaller, uploadId: string): Upload {
        const upload = this.uploads.get(uploadId);
        if (!upload || upload.peerId !== caller.peerId) {
            fail(FsErrorCodes.notFound, 'Unknown or expired upload.');
        }
        return upload;
    }

    protected touch(upload: Upload): void {
        clearTimeout(upload.timer);
        upload.timer = setTimeout(() => this.dropUpload(upload), FsLimits.uploadIdleMs);
        upload.timer.unref?.();
    }

    protected async dropUpload(upload: Upload): Promise<void> {
        clearTimeout(upload.timer);
        this.uploads.delete(upload.id);
        await upload.handle.close().catch(() => undefined);
        await fs.promises.unlink(upload.tempPath).catch(() => undefined);
    }

    // ---- writing helpers ----

    protected requireWrite(caller: FsCaller, workspacePath: string): void {
        if (caller.permission !== 'readwrite') {
            fail(FsErrorCodes.permissionDenied, `You have read-only access: '${workspacePath}' cannot be changed.`);
        }
    }

    protected async checkWriteTarget(workspacePath: string, create: boolean, overwrite: boolean): Promise<Resolved> {
        const target = await this.resolve(workspacePath, 'create');
        if (target.exists) {
            if (target.stats!.isDirectory()) {
                fail(FsErrorCodes.isADirectory, `'${workspacePath}' is a folder.`);
            }
            if (!target.stats!.isFile()) {
                fail(FsErrorCodes.forbidden, `'${workspacePath}' is not a regular file.`);
            }
            if (!overwrite) {
                fail(FsErrorCodes.fileExists, `'${workspacePath}' already exists.`);
            }
        } else if (!create) {
            fail(FsErrorCodes.notFound, `'${workspacePath}' does not exist.`);
        }
        return target;
    }

    protected async createTemp(target: Resolved, workspacePath: string): Promise<{ tempPath: string; handle: fs.promises.FileHandle }> {
        const tempPath = path.join(path.dirname(target.real), UPLOAD_PREFIX + randomBytes(12).toString('base64url'));
        try {
            const handle = await fs.promises.open(tempPath, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | O_NOFOLLOW, 0o666);
            return { tempPath, handle };
        } catch (error) {
            throw fsError(error, workspacePath);
        }
    }

    /** Re-checks the target (things may have moved meanwhile) and atomically replaces it with the temporary file. */
    protected async commitTemp(tempPath: string, workspacePath: string, create: boolean, overwrite: boolean): Promise<FsStat> {
        try {
            const target = await this.checkWriteTarget(workspacePath, create, overwrite);
            if (path.dirname(target.real) !== path.dirname(tempPath)) {
                fail(FsErrorCodes.conflict, `'${workspacePath}' moved while it was being written.`);
            }
            if (target.exists) {
                await fs.promises.chmod(tempPath, target.stats!.mode & 0o7777).catch(() => undefined);
            }
            await fs.promises.rename(tempPath, target.real);
            return toFsStat(await fs.promises.stat(target.real));
        } catch (error) {
            await fs.promises.unlink(tempPath).catch(() => undefined);
            throw fsError(error, workspacePath);
        }
    }

    protected async removeForOverwrite(target: Resolved, workspacePath: string, overwrite: boolean): Promise<void> {
        if (!overwrite) {
            fail(FsErrorCodes.fileExists, `'${workspacePath}' already exists.`);
        }
        if (!target.isLink && target.stats!.isDirectory()) {
            await this.assertNothingHidden(target, target.entry, target.segments, workspacePath);
            await fs.promises.rm(target.entry, { recursive: true });
        } else {
            await fs.promises.unlink(target.entry);
        }
    }

    /** Refuses to delete, move or copy a folder that holds something the guest cannot see. */
    protected async assertNothingHidden({ rootName, rootReal, others }: Resolved, dir: string, segments: string[], workspacePath: string): Promise<void> {
        let visited = 0;
        const walk = async (current: string, currentSegments: string[]): Promise<void> => {
            let dirents: fs.Dirent[];
            try {
                dirents = await fs.promises.readdir(current, { withFileTypes: true });
            } catch (error) {
                throw fsError(error, workspacePath);
            }
            for (const dirent of dirents) {
                if (++visited > MAX_WALK_ENTRIES) {
                    fail(FsErrorCodes.tooLarge, `'${workspacePath}' holds too many files to be changed by a guest at once.`);
                }
                const childSegments = [...currentSegments, dirent.name];
                if (await this.isHidden(rootName, rootReal, childSegments, dirent.isDirectory())
                    || await this.isHiddenElsewhere(others, path.join(current, dirent.name), dirent.isDirectory())) {
                    fail(FsErrorCodes.forbidden, `'${workspacePath}' contains files that are not shared with you.`);
                }
                if (dirent.isDirectory()) {
                    await walk(path.join(current, dirent.name), childSegments);
                }
            }
        };
        await walk(dir, segments);
    }

    // ---- resolution ----

    /**
     * Resolves a workspace path on disk, refusing anything that escapes its root or is hidden.
     * `create`: the target may be missing, but its parent folder must exist.
     */
    protected async resolve(workspacePath: string, mode: 'existing' | 'create'): Promise<Resolved> {
        const split = splitWorkspacePath(workspacePath);
        if (!split || split.segments.some(segment => segment.length > 255)) {
            fail(FsErrorCodes.badRequest, 'Invalid workspace path.');
        }
        const root = this.roots.get(split.root);
        if (!root) {
            fail(FsErrorCodes.notFound, `No shared folder is named '${split.root}'.`);
        }
        const { segments } = split;
        const notFound = (): never => fail(FsErrorCodes.notFound, `'${workspacePath}' does not exist.`);
        const outside = (): never => fail(FsErrorCodes.forbidden, `'${workspacePath}' leads outside the shared folder.`);
        let rootReal: string;
        try {
            rootReal = await fs.promises.realpath(root.path);
        } catch {
            return notFound();
        }
        if (await this.isHidden(root.name, rootReal, segments, undefined)) {
            notFound();
        }
        const others = await this.overlappingRoots(root.name, rootReal);
        const base = { rootName: root.name, rootReal, others, workspacePath, segments };
        try {
            if (segments.length === 0) {
                const stats = await fs.promises.stat(rootReal);
                return { ...base, isRoot: true, entry: rootReal, exists: true, isLink: false, real: rootReal, stats };
            }
            let realParent: string;
            try {
                realParent = await fs.promises.realpath(path.join(rootReal, ...segments.slice(0, -1)));
            } catch (error) {
                if (errno(error) === 'ENOENT' || errno(error) === 'ENOTDIR') {
                    notFound();
                }
                throw error;
            }
            if (!inside(rootReal, realParent)) {
                outside();
            }
            const parentSegments = this.segmentsBelow(rootReal, realParent);
            if (await this.isHidden(root.name, rootReal, parentSegments, true) || await this.isHiddenElsewhere(others, realParent, true)) {
                notFound();
            }
            const entry = path.join(realParent, segments[segments.length - 1]);
            let lstats: fs.Stats;
            try {
                lstats = await fs.promises.lstat(entry);
            } catch (error) {
                if (errno(error) === 'ENOENT' && mode === 'create') {
                    if (await this.isHidden(root.name, rootReal, [...parentSegments, segments[segments.length - 1]], undefined)
                        || await this.isHiddenElsewhere(others, entry, undefined)) {
                        notFound();
                    }
                    return { ...base, isRoot: false, entry, exists: false, isLink: false, real: entry };
                }
                if (errno(error) === 'ENOENT' || errno(error) === 'ENOTDIR') {
                    notFound();
                }
                throw error;
            }
            let real = entry;
            let stats = lstats;
            const isLink = lstats.isSymbolicLink();
            if (isLink) {
                try {
                    real = await fs.promises.realpath(entry);
                } catch (error) {
                    // A dangling link: do not create through it.
                    if (errno(error) === 'ENOENT' || errno(error) === 'ELOOP') {
                        return mode === 'create' ? outside() : notFound();
                    }
                    throw error;
                }
                if (!inside(rootReal, real)) {
                    outside();
                }
                stats = await fs.promises.stat(real);
            }
            const isDir = stats.isDirectory();
            if (await this.isHidden(root.name, rootReal, segments, isDir)
                || await this.isHidden(root.name, rootReal, [...parentSegments, segments[segments.length - 1]], isDir)
                || (isLink && await this.isHidden(root.name, rootReal, this.segmentsBelow(rootReal, real), isDir))
                || await this.isHiddenElsewhere(others, entry, isLink ? undefined : isDir)
                || (isLink && await this.isHiddenElsewhere(others, real, isDir))) {
                notFound();
            }
            return { ...base, isRoot: false, entry, exists: true, isLink, real, stats };
        } catch (error) {
            throw fsError(error, workspacePath);
        }
    }

    /** The other roots whose folder holds, or lies inside, `rootReal` (roots whose folder is gone are left out). */
    protected async overlappingRoots(rootName: string, rootReal: string): Promise<OverlappingRoot[]> {
        if (this.roots.size < 2) {
            return [];
        }
        const others: OverlappingRoot[] = [];
        for (const root of this.roots.values()) {
            if (root.name === rootName) {
                continue;
            }
            const real = await fs.promises.realpath(root.path).catch(() => undefined);
            if (real !== undefined && (inside(real, rootReal) || inside(rootReal, real))) {
                others.push({ name: root.name, real });
            }
        }
        return others;
    }

    /** Whether `real` (an absolute path) is hidden as seen from any of `others` that holds it. */
    protected async isHiddenElsewhere(others: readonly OverlappingRoot[], real: string, isDir: boolean | undefined): Promise<boolean> {
        for (const other of others) {
            if (inside(other.real, real) && await this.isHidden(other.name, other.real, this.segmentsBelow(other.real, real), isDir)) {
                return true;
            }
        }
        return false;
    }

    protected segmentsBelow(rootReal: string, real: string): string[] {
        const relative = path.relative(rootReal, real);
        return relative ? relative.split(path.sep) : [];
    }

    /**
     * Whether the path below a root (or any folder above it) is excluded, ignored by `.gitignore`, or an upload
     * in progress. `isDir` of the last segment may be unknown.
     */
    protected async isHidden(rootName: string, rootReal: string, segments: readonly string[], isDir: boolean | undefined): Promise<boolean> {
        if (segments.length === 0) {
            return false;
        }
        if (segments[segments.length - 1].startsWith(UPLOAD_PREFIX)) {
            return true;
        }
        for (let i = 1; i <= segments.length; i++) {
            const prefix = segments.slice(0, i);
            const relative = prefix.join('/');
            const prefixIsDir = i < segments.length ? true : isDir;
            if (this.excludes.some(matcher => matcher.match(relative) || (prefixIsDir !== false && matcher.match(relative + '/')))) {
                return true;
            }
            if (this.excludeGitIgnored && await this.isGitIgnored(rootReal, prefix, prefixIsDir)) {
                return true;
            }
        }
        return false;
    }

    protected async isGitIgnored(rootReal: string, segments: readonly string[], isDir: boolean | undefined): Promise<boolean> {
        const last = segments[segments.length - 1];
        if (this.caseSensitive ? last === '.git' : last.toLowerCase() === '.git') {
            return true;
        }
        let ignored = false;
        // Outer .gitignore files first; a deeper one, or a later rule, overrides.
        for (let depth = 0; depth < segments.length; depth++) {
            const rules = await this.loadGitIgnore(path.join(rootReal, ...segments.slice(0, depth), '.gitignore'));
            if (!rules) {
                continue;
            }
            const relative = segments.slice(depth).join('/');
            const candidates = isDir === undefined ? [relative, relative + '/'] : [isDir ? relative + '/' : relative];
            for (const candidate of candidates) {
                const result = rules.test(candidate);
                if (result.ignored) {
                    ignored = true;
                } else if (result.unignored) {
                    ignored = false;
                }
            }
        }
        return ignored;
    }

    protected async loadGitIgnore(file: string): Promise<Ignore | undefined> {
        const now = Date.now();
        const cached = this.gitIgnores.get(file);
        if (cached && now - cached.checkedAt < GITIGNORE_RECHECK_MS) {
            return cached.rules;
        }
        let stats: fs.Stats | undefined;
        try {
            stats = await fs.promises.lstat(file);
        } catch {
            stats = undefined;
        }
        if (!stats || !stats.isFile() || stats.size > MAX_GITIGNORE_BYTES) {
            this.gitIgnores.set(file, { checkedAt: now, mtimeMs: 0, size: -1 });
            return undefined;
        }
        if (cached && cached.mtimeMs === stats.mtimeMs && cached.size === stats.size) {
            cached.checkedAt = now;
            return cached.rules;
        }
        let rules: Ignore | undefined;
        try {
            const content = await fs.promises.readFile(file, 'utf8');
            rules = ignore({ ignorecase: !this.caseSensitive }).add(content);
        } catch {
            rules = undefined;
        }
        if (this.gitIgnores.size > 10_000) {
            this.gitIgnores.clear();
        }
        this.gitIgnores.set(file, { checkedAt: now, mtimeMs: stats.mtimeMs, size: stats.size, rules });
        return rules;
    }
}
