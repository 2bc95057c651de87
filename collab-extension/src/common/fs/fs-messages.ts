/**
 * The shared-workspace wire contract: what a guest may ask the host's file system, and what the host
 * announces. Paths are *workspace paths* (`<rootName>/<relative/posix/path>`, see collaboration-uri.ts),
 * never absolute host paths. Every payload is validated on arrival (`params` / `result`).
 */
import { z } from 'zod';
import { Broadcast, Request } from '@theia-collab/protocol/lib/messages';
import { Binary, Limits } from '@theia-collab/protocol/lib/wire';
import { splitWorkspacePath } from '../collaboration-uri';

export const FsLimits = {
    /** Largest data carried by one read or write message. */
    chunkBytes: Limits.chunkBytes,
    /** Largest file a guest may upload. */
    maxUploadBytes: 1024 * 1024 * 1024,
    /** Uploads one guest may have open at a time. */
    maxUploadsPerPeer: 8,
    /** An upload with no chunk for this long is dropped. */
    uploadIdleMs: 2 * 60 * 1000,
    /** Directory entries per `fs/readdir` page. */
    readdirPageSize: 1000,
    /** Changes per `fs/didChange` broadcast. */
    maxChangesPerBroadcast: 500,
    maxPathLength: 4096,
    maxRoots: 64
} as const;

/** A `<root>/<relative>` path with no `..`, `.`, absolute prefix, backslash or NUL. */
export const WorkspacePath = z.string().min(1).max(FsLimits.maxPathLength)
    .refine(path => splitWorkspacePath(path) !== undefined, { message: 'invalid workspace path' });
const Offset = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const UploadId = z.string().min(8).max(64).regex(/^[A-Za-z0-9_-]+$/);
const Time = z.number().finite();

export const FsFileType = z.enum(['file', 'directory']);
export type FsFileType = z.infer<typeof FsFileType>;

export const FsStat = z.object({
    type: FsFileType,
    mtime: Time,
    ctime: Time,
    size: Offset
}).strict();
export type FsStat = z.infer<typeof FsStat>;

export const FsDirEntry = FsStat.extend({ name: z.string().min(1).max(1024) }).strict();
export type FsDirEntry = z.infer<typeof FsDirEntry>;

export const FsErrorCodes = {
    badRequest: 'bad-request',
    notFound: 'not-found',
    forbidden: 'forbidden',
    permissionDenied: 'permission-denied',
    fileExists: 'file-exists',
    notADirectory: 'not-a-directory',
    isADirectory: 'is-a-directory',
    notEmpty: 'not-empty',
    tooLarge: 'too-large',
    conflict: 'conflict',
    internal: 'internal'
} as const;

// ---- params and results ----

export const RootsParams = z.object({}).strict();
export type RootsParams = z.infer<typeof RootsParams>;
export const RootsResult = z.object({
    roots: z.array(z.object({ name: z.string().min(1).max(256) }).strict()).max(FsLimits.maxRoots),
    /** Whether `A.txt` and `a.txt` are different files on the host. */
    caseSensitive: z.boolean()
}).strict();
export type RootsResult = z.infer<typeof RootsResult>;

export const PathParams = z.object({ path: WorkspacePath }).strict();
export type PathParams = z.infer<typeof PathParams>;

export const ReaddirParams = z.object({ path: WorkspacePath, cursor: Offset.optional() }).strict();
export type ReaddirParams = z.infer<typeof ReaddirParams>;
export const ReaddirResult = z.object({
    entries: z.array(FsDirEntry).max(FsLimits.readdirPageSize),
    /** Cursor of the next page, absent on the last one. */
    next: Offset.optional()
}).strict();
export type ReaddirResult = z.infer<typeof ReaddirResult>;

export const ReadFileParams = z.object({
    path: WorkspacePath,
    offset: Offset,
    length: z.number().int().positive().max(FsLimits.chunkBytes)
}).strict();
export type ReadFileParams = z.infer<typeof ReadFileParams>;
export const ReadFileResult = z.object({
    data: Binary(FsLimits.chunkBytes),
    /** Size of the whole file, so the reader knows how many chunks follow. */
    size: Offset,
    mtime: Time
}).strict();
export type ReadFileResult = z.infer<typeof ReadFileResult>;

const WriteFlags = { create: z.boolean(), overwrite: z.boolean() };

/** Writes a small file (at most one chunk) in one message. */
export const WriteFileParams = z.object({ path: WorkspacePath, data: Binary(FsLimits.chunkBytes), ...WriteFlags }).strict();
export type WriteFileParams = z.infer<typeof WriteFileParams>;

export const WriteBeginParams = z.object({ path: WorkspacePath, size: Offset.max(FsLimits.maxUploadBytes), ...WriteFlags }).strict();
export type WriteBeginParams = z.infer<typeof WriteBeginParams>;
export const WriteBeginResult = z.object({ uploadId: UploadId }).strict();
export type WriteBeginResult = z.infer<typeof WriteBeginResult>;

/** Chunks are sent in order: `offset` must equal the bytes received so far. */
export const WriteChunkParams = z.object({ uploadId: UploadId, offset: Offset, data: Binary(FsLimits.chunkBytes) }).strict();
export type WriteChunkParams = z.infer<typeof WriteChunkParams>;

export const UploadParams = z.object({ uploadId: UploadId }).strict();
export type UploadParams = z.infer<typeof UploadParams>;

export const DeleteParams = z.object({ path: WorkspacePath, recursive: z.boolean() }).strict();
export type DeleteParams = z.infer<typeof DeleteParams>;

export const MoveParams = z.object({ from: WorkspacePath, to: WorkspacePath, overwrite: z.boolean() }).strict();
export type MoveParams = z.infer<typeof MoveParams>;

export const EmptyResult = z.object({}).strict();
export type EmptyResult = z.infer<typeof EmptyResult>;

export const FsChangeType = z.enum(['added', 'updated', 'deleted']);
export type FsChangeType = z.infer<typeof FsChangeType>;
export const FsChange = z.object({ type: FsChangeType, path: WorkspacePath }).strict();
export type FsChange = z.infer<typeof FsChange>;
export const DidChangeParams = z.object({ changes: z.array(FsChange).min(1).max(FsLimits.maxChangesPerBroadcast) }).strict();
export type DidChangeParams = z.infer<typeof DidChangeParams>;

export const DidChangeRootsParams = RootsResult;
export type DidChangeRootsParams = RootsResult;

// ---- definitions ----

export namespace FsMessages {
    export const Roots = Request.define<RootsParams, RootsResult>('fs/roots', { params: RootsParams, result: RootsResult });
    export const Stat = Request.define<PathParams, FsStat>('fs/stat', { params: PathParams, result: FsStat });
    export const Readdir = Request.define<ReaddirParams, ReaddirResult>('fs/readdir', { params: ReaddirParams, result: ReaddirResult });
    export const ReadFile = Request.define<ReadFileParams, ReadFileResult>('fs/readFile', { params: ReadFileParams, result: ReadFileResult });
    export const WriteFile = Request.define<WriteFileParams, FsStat>('fs/writeFile', { params: WriteFileParams, result: FsStat });
    export const WriteBegin = Request.define<WriteBeginParams, WriteBeginResult>('fs/writeFile/begin', { params: WriteBeginParams, result: WriteBeginResult });
    export const WriteChunk = Request.define<WriteChunkParams, EmptyResult>('fs/writeFile/chunk', { params: WriteChunkParams, result: EmptyResult });
    export const WriteCommit = Request.define<UploadParams, FsStat>('fs/writeFile/commit', { params: UploadParams, result: FsStat });
    export const WriteAbort = Request.define<UploadParams, EmptyResult>('fs/writeFile/abort', { params: UploadParams, result: EmptyResult });
    export const Mkdir = Request.define<PathParams, EmptyResult>('fs/mkdir', { params: PathParams, result: EmptyResult });
    export const Delete = Request.define<DeleteParams, EmptyResult>('fs/delete', { params: DeleteParams, result: EmptyResult });
    export const Rename = Request.define<MoveParams, EmptyResult>('fs/rename', { params: MoveParams, result: EmptyResult });
    export const Copy = Request.define<MoveParams, EmptyResult>('fs/copy', { params: MoveParams, result: EmptyResult });
    /** Host → guests: files under the shared roots changed on the host's disk. */
    export const DidChange = Broadcast.define<DidChangeParams>('fs/didChange', { params: DidChangeParams });
    /** Host → guests: the host's workspace roots changed. */
    export const DidChangeRoots = Broadcast.define<DidChangeRootsParams>('fs/didChangeRoots', { params: DidChangeRootsParams });

    /** Requests the host's file system answers, by method name. */
    export const requests = [Roots, Stat, Readdir, ReadFile, WriteFile, WriteBegin, WriteChunk, WriteCommit, WriteAbort, Mkdir, Delete, Rename, Copy] as const;
    export const all = [...requests, DidChange, DidChangeRoots] as const;
    /** Requests that change the disk: refused for read-only participants. */
    export const mutations: ReadonlySet<string> = new Set([WriteFile, WriteBegin, WriteChunk, WriteCommit, Mkdir, Delete, Rename, Copy].map(d => d.method));
}
