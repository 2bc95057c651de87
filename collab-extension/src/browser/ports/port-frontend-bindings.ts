import { interfaces } from '@theia/core/shared/inversify';
import { CommandContribution } from '@theia/core/lib/common/command';
import { MenuContribution } from '@theia/core/lib/common/menu';
import { ServiceConnectionProvider } from '@theia/core/lib/browser/messaging/service-connection-provider';
import { CollaborationContribution } from '../collaboration-contribution';
import { PORT_TUNNEL_PATH, PortTunnelService } from '../../common/ports/port-tunnel-protocol';
import { PortShareContribution } from './port-share-contribution';
import { PortShareService, PortTunnelClientImpl } from './port-share-service';

/** Shared servers (port forwarding): call from the frontend module. */
export function bindCollaborationPorts(bind: interfaces.Bind): void {
    bind(PortTunnelClientImpl).toSelf().inSingletonScope();
    bind(PortTunnelService).toDynamicValue(ctx =>
        ServiceConnectionProvider.createProxy<PortTunnelService>(ctx.container, PORT_TUNNEL_PATH, ctx.container.get(PortTunnelClientImpl))
    ).inSingletonScope();
    bind(PortShareService).toSelf().inSingletonScope();
    bind(CollaborationContribution).toService(PortShareService);
    bind(PortShareContribution).toSelf().inSingletonScope();
    bind(CommandContribution).toService(PortShareContribution);
    bind(MenuContribution).toService(PortShareContribution);
}
