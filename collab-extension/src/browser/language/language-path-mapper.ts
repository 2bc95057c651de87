import { inject, injectable } from '@theia/core/shared/inversify';
import { ILogger } from '@theia/core/lib/common/logger';
import { WorkspaceService } from '@theia/workspace/lib/browser/workspace-service';
import { nameRoots } from '../../common/collaboration-uri';
import { HostFileSystemService } from '../../common/fs/host-file-system-protocol';
import { HostPathMapper, hostUriOfWorkspacePath, workspacePathOfHostUri } from '../../common/fs/host-path-mapper';

/**
 * The host's view of what it shares, as the shared file system sees it: its `file:` roots named with
 * `nameRoots`, and the file system backend's exclusions (which refuse everything until it is configured).
 */
@injectable()
export class HostPathMapperProvider {

    @inject(WorkspaceService)
    protected readonly workspaceService: WorkspaceService;

    @inject(HostFileSystemService)
    protected readonly hostFileSystem: HostFileSystemService;

    @inject(ILogger)
    protected readonly logger: ILogger;

    create(): HostPathMapper {
        const roots = () => nameRoots(this.workspaceService.tryGetRoots().map(root => root.resource).filter(uri => uri.scheme === 'file').map(uri => uri.toString()));
        return {
            toWorkspacePath: uri => workspacePathOfHostUri(roots(), uri),
            toHostUri: path => hostUriOfWorkspacePath(roots(), path)?.toString(),
            filterVisible: async paths => {
                if (paths.length === 0) {
                    return [];
                }
                try {
                    return await this.hostFileSystem.filterVisible(paths);
                } catch (error) {
                    this.logger.warn('collaboration: cannot tell which files are shared', error);
                    return [];
                }
            }
        };
    }
}
