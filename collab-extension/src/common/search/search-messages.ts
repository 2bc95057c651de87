/**
 * Guests search the host's shared workspace: file names (Quick Open) and text (Find in Files), answered by the
 * host's backend with the host's exclusions; replace for read-write guests. Paths are workspace paths
 * (`<root>/<relative>`), never host paths. Every payload is validated on arrival.
 */
import { z } from 'zod';
import { Notification, Request } from '@theia-collab/protocol/lib/messages';
import { FsLimits, WorkspacePath } from '../fs/fs-messages';

export const SearchLimits = {
    /** Longest query (text or file name pattern). */
    maxPatternLength: 1000,
    /** Include or exclude globs per search, and their length. */
    maxGlobs: 100,
    maxGlobLength: 500,
    /** File names one `search/files` answers at most. */
    maxFileResults: 2000,
    /** Matches one `search/text` finds at most. */
    maxTextMatches: 20_000,
    /** Matches per `search/textResults` notification. */
    batchMatches: 200,
    /** A result batch is sent at least this often while matches come in. */
    batchIntervalMs: 100,
    /** Line text carried with a match (the rest of a long line is cut, around the match). */
    maxLineLength: 500,
    /** Text searches one guest may have running at a time (file searches: twice this). */
    maxConcurrentSearchesPerPeer: 2,
    /** Text searches the host runs at a time for all guests together. */
    maxConcurrentSearches: 8,
    /** Files larger than this are not searched. */
    maxFileSizeBytes: 20 * 1024 * 1024,
    /** A search running longer than this is stopped. */
    maxSearchMs: 60_000,
    /** Matches one `search/replace` replaces, and the largest file it edits. */
    maxReplaceMatches: 10_000,
    maxReplaceFileBytes: 8 * 1024 * 1024,
    maxReplacementLength: 10_000
} as const;

export const SearchErrorCodes = {
    busy: 'busy',
    conflict: 'conflict'
} as const;

const RootName = z.string().min(1).max(256).regex(/^[^/\\\0]+$/);
const Glob = z.string().min(1).max(SearchLimits.maxGlobLength).refine(glob => !glob.includes('\0'), { message: 'invalid glob' });
const Globs = z.array(Glob).max(SearchLimits.maxGlobs);
const SearchId = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/);

// ---- file names ----

export const FileSearchParams = z.object({
    /** What the user typed; empty lists files. */
    pattern: z.string().max(SearchLimits.maxPatternLength),
    /** Shared roots to search by name; all when absent. */
    roots: z.array(RootName).max(FsLimits.maxRoots).optional(),
    fuzzy: z.boolean().optional(),
    limit: z.number().int().positive().max(SearchLimits.maxFileResults).optional(),
    include: Globs.optional(),
    exclude: Globs.optional(),
    /** Also leave out what `.gitignore` files ignore (only narrows what the host shares). */
    useGitIgnore: z.boolean().optional()
}).strict();
export type FileSearchParams = z.infer<typeof FileSearchParams>;

export const FileSearchResult = z.object({
    paths: z.array(WorkspacePath).max(SearchLimits.maxFileResults),
    /** More files matched than were answered. */
    limitHit: z.boolean()
}).strict();
export type FileSearchResult = z.infer<typeof FileSearchResult>;

// ---- text ----

export const TextSearchParams = z.object({
    /** Chosen by the guest: names the result batches of this search. */
    searchId: SearchId,
    pattern: z.string().min(1).max(SearchLimits.maxPatternLength),
    roots: z.array(RootName).max(FsLimits.maxRoots).optional(),
    matchCase: z.boolean().optional(),
    matchWholeWord: z.boolean().optional(),
    useRegExp: z.boolean().optional(),
    /** Also search what `.gitignore` ignores (never what the host excludes). */
    includeIgnored: z.boolean().optional(),
    include: Globs.optional(),
    exclude: Globs.optional(),
    maxResults: z.number().int().positive().max(SearchLimits.maxTextMatches).optional()
}).strict();
export type TextSearchParams = z.infer<typeof TextSearchParams>;

export const TextMatch = z.object({
    /** 1-based line and character (UTF-16 code units, as editors count), length in the same units. */
    line: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
    character: z.number().int().positive().max(1_000_000_000),
    length: z.number().int().nonnegative().max(1_000_000_000),
    /** The line's text (cut to `maxLineLength`) and where the match starts in it (1-based). */
    lineText: z.string().max(SearchLimits.maxLineLength),
    previewCharacter: z.number().int().positive().max(SearchLimits.maxLineLength + 1)
}).strict();
export type TextMatch = z.infer<typeof TextMatch>;

export const FileMatches = z.object({
    path: WorkspacePath,
    matches: z.array(TextMatch).min(1).max(SearchLimits.batchMatches)
}).strict();
export type FileMatches = z.infer<typeof FileMatches>;

export const TextResultsParams = z.object({
    searchId: SearchId,
    /** 0, 1, 2 ... in the order sent. */
    batch: z.number().int().nonnegative().max(1_000_000),
    files: z.array(FileMatches).min(1).max(SearchLimits.batchMatches)
}).strict().refine(params => params.files.reduce((sum, file) => sum + file.matches.length, 0) <= SearchLimits.batchMatches,
    { message: 'too many matches in one batch' });
export type TextResultsParams = z.infer<typeof TextResultsParams>;

export const TextSearchResult = z.object({
    /** How many `search/textResults` batches the host sent for this search. */
    batches: z.number().int().nonnegative().max(1_000_000),
    matches: z.number().int().nonnegative().max(SearchLimits.maxTextMatches),
    limitHit: z.boolean()
}).strict();
export type TextSearchResult = z.infer<typeof TextSearchResult>;

// ---- replace ----

export const ReplaceMatch = z.object({
    line: z.number().int().positive().max(10_000_000),
    character: z.number().int().positive().max(100_000_000),
    length: z.number().int().nonnegative().max(SearchLimits.maxPatternLength * 100),
    /** The text expected at that place now: a file that changed since the search is not touched. */
    text: z.string().max(SearchLimits.maxPatternLength * 100)
}).strict();
export type ReplaceMatch = z.infer<typeof ReplaceMatch>;

export const ReplaceParams = z.object({
    path: WorkspacePath,
    replacement: z.string().max(SearchLimits.maxReplacementLength),
    matches: z.array(ReplaceMatch).min(1).max(SearchLimits.maxReplaceMatches)
}).strict();
export type ReplaceParams = z.infer<typeof ReplaceParams>;

export const ReplaceResult = z.object({ replaced: z.number().int().nonnegative().max(SearchLimits.maxReplaceMatches) }).strict();
export type ReplaceResult = z.infer<typeof ReplaceResult>;

// ---- definitions ----

export namespace SearchMessages {
    /** Guest → host: file names under the shared roots (Quick Open). */
    export const Files = Request.define<FileSearchParams, FileSearchResult>('search/files', { params: FileSearchParams, result: FileSearchResult });
    /**
     * Guest → host: a text search. Matches arrive as `search/textResults` notifications; the answer says how
     * many batches were sent. Cancelling the request (its `signal`) stops the host's search.
     */
    export const Text = Request.define<TextSearchParams, TextSearchResult>('search/text', { params: TextSearchParams, result: TextSearchResult });
    /** Host → the searching guest: a batch of matches. */
    export const TextResults = Notification.define<TextResultsParams>('search/textResults', { params: TextResultsParams });
    /** Read-write guest → host: replaces matches in one file (refused for read-only guests). */
    export const Replace = Request.define<ReplaceParams, ReplaceResult>('search/replace', {
        params: ReplaceParams, result: ReplaceResult, requires: 'readwrite'
    });

    export const all = [Files, Text, TextResults, Replace] as const;
}
