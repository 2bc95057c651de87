/**
 * The JSON-RPC service through which the host's frontend has its backend search the shared roots for guests
 * (ripgrep, confined by the same path resolver as the shared file system) and apply guests' replacements
 * through the shared file system's guarded write path.
 */
import type { FsCaller, FsResult, HostFileSystemConfig } from '../fs/host-file-system-protocol';
import type { FileMatches, FileSearchParams, FileSearchResult, ReplaceParams, ReplaceResult, TextSearchParams } from './search-messages';

export const HOST_SEARCH_PATH = '/services/collaboration/host-search';

/** What a text search found since the last call. */
export interface TextSearchBatch {
    files: FileMatches[];
    /** No more batches follow. */
    done: boolean;
    /** Matches found so far, in all batches. */
    matches: number;
    limitHit: boolean;
}

export const HostSearchService = Symbol('HostSearchService');
export interface HostSearchService {
    /** Sets what is shared (as for the shared file system). Until configured nothing is found. */
    configure(config: HostFileSystemConfig): Promise<void>;
    findFiles(params: FileSearchParams): Promise<FsResult<FileSearchResult>>;
    /** Starts a text search; its batches are pulled with `nextTextResults` until one says `done`. */
    startTextSearch(params: TextSearchParams): Promise<FsResult<{ id: string }>>;
    /** Waits for the next batch (at most `SearchLimits.batchMatches` matches, or what came within the batch interval). */
    nextTextResults(id: string): Promise<FsResult<TextSearchBatch>>;
    /** Stops a text search (kills its ripgrep process). */
    cancelTextSearch(id: string): Promise<void>;
    /** Replaces matches in one file, as `caller`, through the guarded write path. */
    replace(caller: FsCaller, params: ReplaceParams): Promise<FsResult<ReplaceResult>>;
    /** Stops every search and forgets the roots. */
    reset(): Promise<void>;
}
