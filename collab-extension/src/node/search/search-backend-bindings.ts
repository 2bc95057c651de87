import { interfaces } from '@theia/core/shared/inversify';
import { ConnectionHandler, RpcConnectionHandler } from '@theia/core/lib/common/messaging';
import { HOST_SEARCH_PATH, HostSearchService } from '../../common/search/host-search-protocol';
import { HostSearchServiceImpl } from './host-search-service';

/** Backend half of guests' search: the service a hosting window searches its shared roots with. */
export function bindCollaborationSearch(bind: interfaces.Bind): void {
    bind(HostSearchServiceImpl).toSelf();
    bind(ConnectionHandler).toDynamicValue(ctx =>
        new RpcConnectionHandler<HostSearchService>(HOST_SEARCH_PATH, proxy => {
            const service = ctx.container.get(HostSearchServiceImpl);
            proxy.onDidCloseConnection(() => service.dispose());
            return service;
        })
    ).inSingletonScope();
}
