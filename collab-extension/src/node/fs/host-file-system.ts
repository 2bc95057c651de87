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
 * - Read-only callers get `permission-denied` for every mutation; files read-only for guests (`.git/`,
 *   `.vscode/`, ...) are `forbidden` to change for every guest.
 * - Links a guest copies or moves must still lead to a shared file inside the root at their new place.
 * Path resolution, visibility and read-only files live in host-path-resolver.ts, folder checks in host-tree-checks.ts.
 * - Writes go to a temporary file beside the target and replace it atomically on commit.
 */
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import type { ZodTypeAny } from 'zod';
import { CollaborationError, CollaborationErrorData } from '@theia-collab/protocol/lib/errors';
import {
    DeleteParams, EmptyResult, FsDirEntry, FsErrorCodes, FsLimits, FsMessages, FsStat, MoveParams, PathParams, ReaddirParams,
    ReaddirResult, ReadFileParams, ReadFileResult, RootsParams, RootsResult, UploadParams, WriteBeginParams, WriteBeginResult, WriteChunkParams,
    WriteFileParams
} from '../../common/fs/fs-messages';
import { FsCaller, FsResult, GuestAccess, GuestResolution } from '../../common/fs/host-file-system-protocol';
import { errno, fail, fsError, HostFileSystemOptions, HostPathResolver, inside, Resolved, UPLOAD_PREFIX } from './host-path-resolver';
import { assertTreeAllowed } from './host-tree-checks';

export { HostFileSystemOptions, HostRoot, UPLOAD_PREFIX } from './host-path-resolver';

const O_NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;
const O_NONBLOCK = fs.constants.O_NONBLOCK ?? 0;

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

export class HostFileSystem {

    /** Where guest-named paths lead, and what guests may see and change there. */
    readonly resolver = new HostPathResolver();
    protected readonly uploads = new Map<string, Upload>();

    constructor(options: HostFileSystemOptions = { roots: [] }) {
        this.configure(options);
    }

    configure(options: HostFileSystemOptions): void {
        this.resolver.configure(options);
    }

    protected get caseSensitive(): boolean {
        return this.resolver.caseSensitive;
    }

    protected resolve(workspacePath: string, mode: 'existing' | 'create'): Promise<Resolved> {
        return this.resolver.resolve(workspacePath, mode);
    }

    /**
     * What editors, language requests and breakpoints call before they touch a file a guest named (see
     * `HostPathResolver.resolveForGuest`); never throws.
     */
    async resolveForGuest(workspacePath: string, access: GuestAccess): Promise<FsResult<GuestResolution>> {
        if (typeof workspacePath !== 'string' || (access !== 'read' && access !== 'write')) {
            return { ok: false, error: { code: FsErrorCodes.badRequest, message: 'Invalid path or access.' } };
        }
        try {
            return { ok: true, value: await this.resolver.resolveForGuest(workspacePath, access) };
        } catch (error) {
            return { ok: false, error: this.toErrorData(error) };
        }
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
        return { roots: this.resolver.rootNames().map(name => ({ name })), caseSensitive: this.caseSensitive };
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
        const realSegments = this.resolver.segmentsBelow(dir.rootReal, dir.real);
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
        const resolver = this.resolver;
        if (await resolver.isHidden(dir.rootName, dir.rootReal, lexical, lexicalIsDir)
            || await resolver.isHidden(dir.rootName, dir.rootReal, [...dirRealSegments, name], lexicalIsDir)) {
            return undefined;
        }
        const childPath = path.join(dir.real, name);
        if (await resolver.isHiddenElsewhere(dir.others, childPath, lexicalIsDir)) {
            return undefined;
        }
        try {
            if (dirent.isSymbolicLink()) {
                const real = await fs.promises.realpath(childPath);
                if (!inside(dir.rootReal, real)) {
                    return undefined;
                }
                const stats = await fs.promises.stat(real);
                if (await resolver.isHidden(dir.rootName, dir.rootReal, lexical, stats.isDirectory())
                    || await resolver.isHidden(dir.rootName, dir.rootReal, resolver.segmentsBelow(dir.rootReal, real), stats.isDirectory())
                    || await resolver.isHiddenElsewhere(dir.others, real, stats.isDirectory())) {
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
        await this.resolver.assertWritable(target, workspacePath);
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
        // Deleting a link changes the link, not what it leads to.
        await this.resolver.assertWritable(target, workspacePath, true);
        try {
            if (target.isLink || !target.stats!.isDirectory()) {
                await fs.promises.unlink(target.entry);
            } else if (!recursive) {
                await fs.promises.rmdir(target.entry);
            } else {
                await assertTreeAllowed(this.resolver, { dir: target.entry, segments: target.segments, source: target, workspacePath, hidden: true, readOnly: true });
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
        // The entry moves (a link as a link): it leaves its place and arrives at the target's.
        await this.resolver.assertWritable(source, from, true);
        await this.resolver.assertWritable(target, to, true);
        const sourceIsDir = !source.isLink && source.stats!.isDirectory();
        if (source.isLink) {
            await this.resolver.assertLinkStaysInside(target, target.entry, await fs.promises.readlink(source.entry), from);
        } else if (sourceIsDir) {
            await assertTreeAllowed(this.resolver, {
                dir: source.entry, segments: source.segments, source, workspacePath: from, hidden: true, readOnly: true,
                destination: { target, dir: target.entry }
            });
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
        // The copy arrives at the target's place (a link at `from` is followed: what it leads to is copied).
        await this.resolver.assertWritable(target, to, true);
        if (source.stats!.isDirectory()) {
            // Links inside are copied as links: each must still lead inside the root from its new place.
            await assertTreeAllowed(this.resolver, {
                dir: source.real, segments: this.resolver.segmentsBelow(source.rootReal, source.real), source, workspacePath: from, hidden: true,
                destination: { target, dir: target.entry }
            });
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
    isVisible(workspacePath: string): Promise<boolean> {
        return this.resolver.isVisible(workspacePath);
    }

    filterVisible(paths: readonly string[]): Promise<string[]> {
        return this.resolver.filterVisible(paths);
    }

    // ---- uploads ----

    async dropPeer(peerId: string): Promise<void> {
        await Promise.all([...this.uploads.values()].filter(upload => upload.peerId === peerId).map(upload => this.dropUpload(upload)));
    }

    async dispose(): Promise<void> {
        await Promise.all([...this.uploads.values()].map(upload => this.dropUpload(upload)));
        this.resolver.clear();
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
        // Writes go where a link leads: both places must be writable (so a read-only file's mode is never carried over either).
        await this.resolver.assertWritable(target, workspacePath);
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
            await assertTreeAllowed(this.resolver, { dir: target.entry, segments: target.segments, source: target, workspacePath, hidden: true, readOnly: true });
            await fs.promises.rm(target.entry, { recursive: true });
        } else {
            await fs.promises.unlink(target.entry);
        }
    }
}
