import { injectable } from '@theia/core/shared/inversify';
import { FileUri } from '@theia/core/lib/common/file-uri';
import { FsLimits } from '../../common/fs/fs-messages';
import { FsCaller, FsResult, HostFileSystemConfig } from '../../common/fs/host-file-system-protocol';
import { HostSearchService, TextSearchBatch } from '../../common/search/host-search-protocol';
import { FileSearchParams, FileSearchResult, ReplaceParams, ReplaceResult, TextSearchParams } from '../../common/search/search-messages';
import { HostRoot } from '../fs/host-file-system';
import { HostSearch } from './host-search';

/** One per frontend connection: each host window searches its own roots. */
@injectable()
export class HostSearchServiceImpl implements HostSearchService {

    readonly search = new HostSearch();

    async configure(config: HostFileSystemConfig): Promise<void> {
        const roots: HostRoot[] = [];
        for (const root of Array.isArray(config?.roots) ? config.roots.slice(0, FsLimits.maxRoots) : []) {
            if (typeof root?.name === 'string' && typeof root.uri === 'string' && root.uri.startsWith('file:')) {
                roots.push({ name: root.name, path: FileUri.fsPath(root.uri) });
            }
        }
        this.search.configure({
            roots,
            exclude: Array.isArray(config?.exclude) ? config.exclude.filter(pattern => typeof pattern === 'string') : [],
            excludeGitIgnored: config?.excludeGitIgnored === true,
            readOnly: Array.isArray(config?.readOnly) ? config.readOnly.filter(pattern => typeof pattern === 'string') : undefined
        });
    }

    findFiles(params: FileSearchParams): Promise<FsResult<FileSearchResult>> {
        return this.search.findFiles(params);
    }

    startTextSearch(params: TextSearchParams): Promise<FsResult<{ id: string }>> {
        return this.search.startTextSearch(params);
    }

    nextTextResults(id: string): Promise<FsResult<TextSearchBatch>> {
        return this.search.nextTextResults(id);
    }

    cancelTextSearch(id: string): Promise<void> {
        return this.search.cancelTextSearch(id);
    }

    replace(caller: FsCaller, params: ReplaceParams): Promise<FsResult<ReplaceResult>> {
        return this.search.replace(caller, params);
    }

    reset(): Promise<void> {
        return this.search.dispose();
    }

    dispose(): void {
        this.search.dispose().catch(error => console.error('collaboration: stopping searches failed', error));
    }
}
