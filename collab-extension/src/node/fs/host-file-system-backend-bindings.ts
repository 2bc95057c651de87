import { interfaces } from '@theia/core/shared/inversify';
import { ConnectionHandler, RpcConnectionHandler } from '@theia/core/lib/common/messaging';
import { bindCollaborationFsPreferences } from '../../common/fs/fs-preferences';
import { HOST_FILE_SYSTEM_PATH, HostFileSystemService } from '../../common/fs/host-file-system-protocol';
import { HostFileSystemServiceImpl } from './host-file-system-service';

/** Backend half of the shared workspace: the service a hosting window answers guests' file requests with. */
export function bindCollaborationHostFileSystem(bind: interfaces.Bind): void {
    bindCollaborationFsPreferences(bind);
    bind(HostFileSystemServiceImpl).toSelf();
    bind(ConnectionHandler).toDynamicValue(ctx =>
        new RpcConnectionHandler<HostFileSystemService>(HOST_FILE_SYSTEM_PATH, proxy => {
            const service = ctx.container.get(HostFileSystemServiceImpl);
            proxy.onDidCloseConnection(() => service.dispose());
            return service;
        })
    ).inSingletonScope();
}
