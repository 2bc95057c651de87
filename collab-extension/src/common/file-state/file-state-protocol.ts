/**
 * Per-file state the host shares with guests (breakpoints, diagnostics ...): for each shared file a list of
 * items. The host announces files whose items changed; a joining guest pages through all files that have
 * some. A feature declares its channel once, from its item schema, and uses it on both sides (see
 * `file-state-sync.ts`). Files are workspace paths (`<root>/<relative>`), never host URIs.
 */
import { z } from 'zod';
import { Broadcast, Request } from '@theia-collab/protocol/lib/messages';

export interface FileStateLimits {
    /** Items one file may hold. */
    readonly maxItemsPerFile: number;
    /** Files one announcement or page may hold. */
    readonly maxFilesPerMessage: number;
    /** Characters of serialised JSON one announcement or page may take (a file larger than that goes alone). */
    readonly budget: number;
    /** Changes are collected this long before they are announced. */
    readonly debounceMs: number;
}

/** One file on the wire: `{ path, [field]: items }`; no items: the file has none (any more). */
export type FileState<F extends string, T> = { path: string } & { [K in F]: T[] };

/** Host → guests: the items of these files are now these. */
export interface FileStates<F extends string, T> {
    files: FileState<F, T>[];
}

/** Guest → host: the files from `cursor` on (0 when absent). */
export interface FileStatesPageParams {
    cursor?: number;
}

/** A page of files with items; `next` is the cursor of the following page, absent on the last. */
export interface FileStatesPage<F extends string, T> extends FileStates<F, T> {
    next?: number;
}

/** What both sides of a per-file state share: the wire messages, the field that holds the items, the limits. */
export interface FileStateChannel<F extends string, T> {
    /** The name of the items in a file (`breakpoints`, `diagnostics`); also used in log messages. */
    readonly field: F;
    /** Guest → host: every file that has items, a page at a time. */
    readonly all: Request<FileStatesPageParams, FileStatesPage<F, T>>;
    /** Host → guests: the items of these files changed. */
    readonly didChange: Broadcast<FileStates<F, T>>;
    readonly limits: FileStateLimits;
}

/** The zod schemas of a channel's messages, for features that need them elsewhere (e.g. a request that sets one file). */
export interface FileStateSchemas<F extends string, T> {
    readonly file: z.ZodType<FileState<F, T>, z.ZodTypeDef, unknown>;
    readonly files: z.ZodType<FileStates<F, T>, z.ZodTypeDef, unknown>;
    readonly pageParams: z.ZodType<FileStatesPageParams, z.ZodTypeDef, unknown>;
    readonly page: z.ZodType<FileStatesPage<F, T>, z.ZodTypeDef, unknown>;
}

export interface FileStateChannelOptions<F extends string, T> {
    readonly field: F;
    /** One item, as it may arrive from another peer. */
    readonly item: z.ZodType<T, z.ZodTypeDef, unknown>;
    /** A workspace path. */
    readonly path: z.ZodType<string, z.ZodTypeDef, unknown>;
    readonly methods: { readonly all: string; readonly didChange: string };
    readonly limits: FileStateLimits;
}

/** The schemas of a per-file state: every message is strict and bounded by the limits. */
export function fileStateSchemas<F extends string, T>(options: Omit<FileStateChannelOptions<F, T>, 'methods'>): FileStateSchemas<F, T> {
    const shape: Record<string, z.ZodTypeAny> = {
        path: options.path,
        [options.field]: z.array(options.item).max(options.limits.maxItemsPerFile)
    };
    const file = z.object(shape).strict() as unknown as FileStateSchemas<F, T>['file'];
    const files = z.object({ files: z.array(file).max(options.limits.maxFilesPerMessage) }).strict();
    const pageParams = z.object({ cursor: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional() }).strict();
    const page = files.extend({ next: z.number().int().min(0).optional() }).strict();
    return { file, files, pageParams, page };
}

/** Defines a per-file state: its schemas and its two messages. */
export function defineFileStateChannel<F extends string, T>(
    options: FileStateChannelOptions<F, T>
): FileStateChannel<F, T> & { readonly schemas: FileStateSchemas<F, T> } {
    const schemas = fileStateSchemas(options);
    return {
        field: options.field,
        all: Request.define(options.methods.all, { params: schemas.pageParams, result: schemas.page }),
        didChange: Broadcast.define(options.methods.didChange, { params: schemas.files }),
        limits: options.limits,
        schemas
    };
}
