import { interfaces } from '@theia/core/shared/inversify';
import { ConnectionHandler, RpcConnectionHandler } from '@theia/core/lib/common/messaging';
import { PORT_TUNNEL_PATH, PortTunnelClient } from '../../common/ports/port-tunnel-protocol';
import { PortTunnelServiceImpl } from './port-tunnel-service';

/** Backend half of shared servers: one TCP tunnel service per frontend connection. */
export function bindCollaborationPorts(bind: interfaces.Bind): void {
    bind(PortTunnelServiceImpl).toSelf();
    bind(ConnectionHandler).toDynamicValue(ctx =>
        new RpcConnectionHandler<PortTunnelClient>(PORT_TUNNEL_PATH, client => {
            const service = ctx.container.get(PortTunnelServiceImpl);
            service.setClient(client);
            client.onDidCloseConnection(() => service.dispose());
            return service;
        })
    ).inSingletonScope();
}
