import { CancellationToken } from '@theia/core/lib/common/cancellation';
import URI from '@theia/core/lib/common/uri';
import { FileSearchService } from '@theia/file-search/lib/common/file-search-service';
import { collabUriOfWorkspacePath, COLLAB_SCHEME, splitWorkspacePath, workspacePathOfCollabUri } from '../../common/collaboration-uri';
import { SearchLimits } from '../../common/search/search-messages';
import { SearchGuestService } from './search-guest-service';

const MAX_GLOBS = SearchLimits.maxGlobs;

function globs(patterns: readonly string[] | undefined): string[] {
    return (patterns ?? []).filter(pattern => typeof pattern === 'string' && pattern.length > 0 && pattern.length <= SearchLimits.maxGlobLength).slice(0, MAX_GLOBS);
}

/**
 * Quick Open's file search for guests: `collab:` roots are searched by the host (`search/files`), any other root
 * by this window's own backend as before.
 */
export class CollabFileSearchService implements FileSearchService {

    constructor(protected readonly delegate: FileSearchService, protected readonly guests: SearchGuestService) { }

    async find(searchPattern: string, options: FileSearchService.Options, token?: CancellationToken): Promise<string[]> {
        const rootUris = [...new Set([...(options.rootUris ?? []), ...Object.keys(options.rootOptions ?? {})])];
        const shared = rootUris.filter(uri => new URI(uri).scheme === COLLAB_SCHEME);
        if (shared.length === 0) {
            return this.delegate.find(searchPattern, options, token);
        }
        const own = rootUris.filter(uri => !shared.includes(uri));
        const ownOptions: FileSearchService.Options = { ...options, rootUris: own, rootOptions: undefined };
        const [fromHost, fromHere] = await Promise.all([
            this.findOnHost(searchPattern, options, shared, token),
            own.length > 0 ? this.delegate.find(searchPattern, ownOptions, token).catch(() => []) : Promise.resolve([])
        ]);
        return [...fromHost, ...fromHere].slice(0, options.limit ?? Number.MAX_SAFE_INTEGER);
    }

    protected async findOnHost(searchPattern: string, options: FileSearchService.Options, rootUris: string[], token?: CancellationToken): Promise<string[]> {
        const guest = this.guests.guest;
        if (!guest) {
            return [];
        }
        const roots = rootUris.map(uri => splitWorkspacePath(workspacePathOfCollabUri({ scheme: new URI(uri).scheme, path: new URI(uri).path.toString() }) ?? '')?.root)
            .filter((root): root is string => !!root);
        if (roots.length === 0) {
            return [];
        }
        const controller = new AbortController();
        const listener = token?.onCancellationRequested(() => controller.abort());
        try {
            const result = await guest.files({
                pattern: searchPattern.slice(0, SearchLimits.maxPatternLength),
                roots,
                fuzzy: options.fuzzyMatch !== false,
                limit: Math.min(options.limit ?? 200, SearchLimits.maxFileResults),
                include: globs(options.includePatterns),
                exclude: globs(options.excludePatterns),
                useGitIgnore: options.useGitIgnore !== false
            }, controller.signal);
            return result.paths.map(collabUriOfWorkspacePath);
        } catch {
            return [];
        } finally {
            listener?.dispose();
        }
    }
}
