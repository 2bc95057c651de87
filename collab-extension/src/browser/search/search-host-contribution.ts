import { inject, injectable, named } from '@theia/core/shared/inversify';
import { ILogger } from '@theia/core/lib/common/logger';
import { WorkspaceService } from '@theia/workspace/lib/browser/workspace-service';
import { CollaborationSession, Disposable } from '@theia-collab/protocol';
import { CollaborationContribution } from '../collaboration-contribution';
import { nameRoots } from '../../common/collaboration-uri';
import { CollaborationFsPreferences, sharingSettings } from '../../common/fs/fs-preferences';
import { HostFileSystemConfig } from '../../common/fs/host-file-system-protocol';
import { HostSearchService } from '../../common/search/host-search-protocol';
import { registerSearchHandlers } from '../../common/search/search-host-handlers';
import { SearchMessages } from '../../common/search/search-messages';

/**
 * Host side of guests' search: answers `search/...` through the backend's HostSearchService, which is told the
 * shared roots and the host's sharing settings (user scope only) before every request, as the shared file
 * system is.
 */
@injectable()
export class SearchHostContribution implements CollaborationContribution {

    readonly messages = SearchMessages.all;

    @inject(HostSearchService)
    protected readonly hostSearch: HostSearchService;

    @inject(WorkspaceService)
    protected readonly workspaceService: WorkspaceService;

    @inject(CollaborationFsPreferences)
    protected readonly preferences: CollaborationFsPreferences;

    @inject(ILogger) @named('collaboration')
    protected readonly logger: ILogger;

    protected configured: string | undefined;
    protected configuring: Promise<void> = Promise.resolve();

    onSessionStarted(session: CollaborationSession): Disposable[] | void {
        if (!session.isHost) {
            return;
        }
        this.configured = undefined;
        const handlers = registerSearchHandlers(session, this.hostSearch, { prepare: () => this.prepare() });
        return [...handlers, {
            dispose: () => {
                this.configured = undefined;
                this.hostSearch.reset().catch(error => this.logger.warn('collaboration: stopping guests\' searches failed', error));
            }
        }];
    }

    /** Shares the current roots and settings with the backend when they changed since it was last told. */
    protected prepare(): Promise<void> {
        const next = this.configuring.catch(() => undefined).then(async () => {
            const roots = await this.workspaceService.roots;
            const shared = nameRoots(roots.map(root => root.resource).filter(uri => uri.scheme === 'file').map(uri => uri.toString()));
            const config: HostFileSystemConfig = { roots: shared.map(({ name, uri }) => ({ name, uri })), ...sharingSettings(this.preferences) };
            const key = JSON.stringify(config);
            if (key !== this.configured) {
                await this.hostSearch.configure(config);
                this.configured = key;
            }
        });
        this.configuring = next;
        return next;
    }
}
