import { interfaces } from '@theia/core/shared/inversify';
import { RemoteConnectionProvider, ServiceConnectionProvider } from '@theia/core/lib/browser/messaging/service-connection-provider';
import { FileSearchService, fileSearchServicePath } from '@theia/file-search/lib/common/file-search-service';
import { SearchInWorkspaceClientImpl } from '@theia/search-in-workspace/lib/browser/search-in-workspace-service';
import { SearchInWorkspaceServer, SIW_WS_PATH } from '@theia/search-in-workspace/lib/common/search-in-workspace-interface';
import { CollaborationContribution } from '../collaboration-contribution';
import { HOST_SEARCH_PATH, HostSearchService } from '../../common/search/host-search-protocol';
import { CollabFileSearchService } from './collab-file-search-service';
import { CollabSearchInWorkspaceServer, LocalSearchRelay } from './collab-search-in-workspace-server';
import { SearchGuestService } from './search-guest-service';
import { SearchHostContribution } from './search-host-contribution';

/**
 * Guests search the host: Quick Open (FileSearchService) and Find in Files (SearchInWorkspaceServer) are rebound
 * to versions that send `collab:` roots to the host and everything else to this window's backend as before.
 * This extension depends on @theia/file-search and @theia/search-in-workspace, so their modules load first.
 */
export function bindCollaborationSearch(bind: interfaces.Bind, rebind: interfaces.Rebind): void {
    bind(HostSearchService).toDynamicValue(ctx =>
        ServiceConnectionProvider.createProxy<HostSearchService>(ctx.container, HOST_SEARCH_PATH)
    ).inSingletonScope();
    bind(SearchHostContribution).toSelf().inSingletonScope();
    bind(CollaborationContribution).toService(SearchHostContribution);
    bind(SearchGuestService).toSelf().inSingletonScope();
    bind(CollaborationContribution).toService(SearchGuestService);

    rebind(FileSearchService).toDynamicValue(ctx => new CollabFileSearchService(
        ServiceConnectionProvider.createProxy<FileSearchService>(ctx.container, fileSearchServicePath),
        ctx.container.get(SearchGuestService)
    )).inSingletonScope();

    rebind(SearchInWorkspaceServer).toDynamicValue(ctx => {
        const relay = new LocalSearchRelay();
        const provider = ctx.container.get<ServiceConnectionProvider>(RemoteConnectionProvider);
        const delegate = provider.createProxy<SearchInWorkspaceServer>(SIW_WS_PATH, relay);
        const server = new CollabSearchInWorkspaceServer(delegate, relay, ctx.container.get(SearchGuestService));
        server.setClient(ctx.container.get(SearchInWorkspaceClientImpl));
        return server;
    }).inSingletonScope();
}
