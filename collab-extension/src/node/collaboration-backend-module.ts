import { ContainerModule } from '@theia/core/shared/inversify';
import { ConnectionHandler, RpcConnectionHandler } from '@theia/core/lib/common/messaging';
import { BackendApplicationContribution } from '@theia/core/lib/node/backend-application';
import { bindCollaborationPreferences } from '../common/collaboration-preferences';
import { CollaborationServerConfigService, CollaborationServerConfigServicePath } from '../common/collaboration-server-config';
import { CollaborationEmbeddedServer } from './collaboration-embedded-server';
import { CollaborationServerConfigServiceImpl } from './collaboration-server-config-service';
import { ProcessOutputGuard } from './process-output-guard';
import { bindCollaborationHostFileSystem } from './fs/host-file-system-backend-bindings';
import { bindCollaborationPorts } from './ports/port-backend-bindings';
import { bindCollaborationSearch } from './search/search-backend-bindings';

export default new ContainerModule(bind => {
    bindCollaborationPreferences(bind);

    // A backend whose stdout/stderr reader is gone must not spin logging its own write errors.
    bind(ProcessOutputGuard).toSelf().inSingletonScope();
    bind(BackendApplicationContribution).toService(ProcessOutputGuard);

    bind(CollaborationEmbeddedServer).toSelf().inSingletonScope();
    bind(BackendApplicationContribution).toService(CollaborationEmbeddedServer);

    bind(CollaborationServerConfigServiceImpl).toSelf().inSingletonScope();
    bind(CollaborationServerConfigService).toService(CollaborationServerConfigServiceImpl);
    bind(ConnectionHandler).toDynamicValue(ctx =>
        new RpcConnectionHandler(CollaborationServerConfigServicePath, () => ctx.container.get(CollaborationServerConfigService))
    ).inSingletonScope();

    // ---- Features: each backend feature folder exports `bindXxx(bind)`; add one line per feature here. ----
    bindCollaborationHostFileSystem(bind);
    bindCollaborationPorts(bind);
    bindCollaborationSearch(bind);
    // ---- end of features ----
});
