import { inject, injectable, named } from '@theia/core/shared/inversify';
import { Emitter, Event } from '@theia/core/lib/common/event';
import { ILogger } from '@theia/core/lib/common/logger';
import { MessageService } from '@theia/core/lib/common/message-service';
import { nls } from '@theia/core/lib/common/nls';
import type { RpcProxy } from '@theia/core/lib/common/messaging/proxy-factory';
import { WindowService } from '@theia/core/lib/browser/window/window-service';
import { CollaborationError, CollaborationSession, Disposable, MessageDefinition } from '@theia-collab/protocol';
import { CollaborationContribution } from '../collaboration-contribution';
import { PortMessages, SharedServer } from '../../common/ports/port-messages';
import { PortTunnelClient, PortTunnelService } from '../../common/ports/port-tunnel-protocol';
import { PortTunnelEndpoint } from '../../common/ports/port-tunnel-endpoint';
import { ForwardedServer, PortTunnelGuest } from '../../common/ports/port-tunnel-guest';
import { PortTunnelHost } from '../../common/ports/port-tunnel-host';

/**
 * The frontend's end of the backend's callbacks: forwards them to the session's host or guest side, if any.
 * Bound as the RPC client of the `PortTunnelService` proxy.
 */
@injectable()
export class PortTunnelClientImpl implements PortTunnelClient {
    target: PortTunnelClient | undefined;

    onTunnelAccepted(listenerId: string, tunnelId: string): void {
        this.target?.onTunnelAccepted(listenerId, tunnelId);
    }
    onTunnelData(tunnelId: string, data: Uint8Array): void {
        this.target?.onTunnelData(tunnelId, data);
    }
    onTunnelAck(tunnelId: string, bytes: number): void {
        this.target?.onTunnelAck(tunnelId, bytes);
    }
    onTunnelEnd(tunnelId: string): void {
        this.target?.onTunnelEnd(tunnelId);
    }
    onTunnelClosed(tunnelId: string, reason?: string): void {
        this.target?.onTunnelClosed(tunnelId, reason);
    }
}

/**
 * Shared servers in this window's session: as host, shares ports of this machine's loopback interface; as guest,
 * forwards each shared server to a local port and offers to open it.
 */
@injectable()
export class PortShareService implements CollaborationContribution {

    readonly messages: readonly MessageDefinition[] = PortMessages.all;

    @inject(PortTunnelService) protected readonly backend: PortTunnelService;
    @inject(PortTunnelClientImpl) protected readonly client: PortTunnelClientImpl;
    @inject(MessageService) protected readonly messageService: MessageService;
    @inject(WindowService) protected readonly windowService: WindowService;
    @inject(ILogger) @named('collaboration') protected readonly logger: ILogger;

    protected host: PortTunnelHost | undefined;
    protected guest: PortTunnelGuest | undefined;

    protected readonly onDidChangeEmitter = new Emitter<void>();
    /** Shared or forwarded servers changed, or a session started or ended. */
    readonly onDidChange: Event<void> = this.onDidChangeEmitter.event;

    get isHost(): boolean {
        return !!this.host;
    }

    get isGuest(): boolean {
        return !!this.guest;
    }

    /** Host: the servers this window shares. */
    get sharedServers(): readonly SharedServer[] {
        return this.host?.servers ?? [];
    }

    /** Guest: the host's servers, as reachable on this machine. */
    get forwardedServers(): readonly ForwardedServer[] {
        return this.guest?.servers ?? [];
    }

    async onSessionStarted(session: CollaborationSession): Promise<Disposable> {
        const logger = {
            warn: (message: string, ...args: unknown[]) => this.logger.warn(message, ...args),
            info: (message: string, ...args: unknown[]) => this.logger.info(message, ...args)
        };
        const toDispose: Disposable[] = [];
        let endpoint: PortTunnelEndpoint;
        if (session.isHost) {
            const host = this.host = new PortTunnelHost(session, this.backend, { logger });
            endpoint = host;
            toDispose.push(host.onDidChangeServers(() => this.onDidChangeEmitter.fire()));
        } else {
            const guest = this.guest = new PortTunnelGuest(session, this.backend, { logger });
            endpoint = guest;
            toDispose.push(
                guest.onDidChangeServers(() => this.onDidChangeEmitter.fire()),
                guest.onDidForward(server => this.announce(server)),
                guest.onDidFail(({ server, error }) => this.messageService.warn(nls.localize('collaboration/ports/forwardFailed',
                    'Shared server {0} could not be made available on this machine: {1}', this.describe(server), error.message)))
            );
        }
        this.client.target = endpoint;
        const proxy = this.backend as Partial<RpcProxy<PortTunnelService>>;
        if (typeof proxy.onDidOpenConnection === 'function') {
            // A new backend connection starts with no listeners, sockets or shared ports.
            const reconnected = proxy.onDidOpenConnection(() => {
                (this.host ?? this.guest)?.backendReconnected().catch(error => this.logger.warn('collaboration: restoring shared servers failed', error));
            });
            toDispose.push({ dispose: () => reconnected.dispose() });
        }
        toDispose.push(Disposable.create(() => {
            if (this.client.target === endpoint) {
                this.client.target = undefined;
            }
            if (this.host === endpoint) {
                this.host = undefined;
            }
            if (this.guest === endpoint) {
                this.guest = undefined;
            }
            endpoint.dispose();
            this.onDidChangeEmitter.fire();
        }));
        const disposable = Disposable.create(() => toDispose.splice(0).reverse().forEach(d => d.dispose()));
        try {
            await endpoint.start();
        } catch (error) {
            if (!session.closed) {
                this.messageService.warn(nls.localize('collaboration/ports/startFailed',
                    'Shared servers are not available in this session: {0}', CollaborationError.from(error).message));
            }
        }
        this.onDidChangeEmitter.fire();
        return disposable;
    }

    /** Host: shares `127.0.0.1:<port>` of this machine. Warns when nothing listens there yet. */
    async share(port: number, label?: string): Promise<SharedServer> {
        const host = this.requireHost();
        const listening = await host.probe(port).catch(() => true);
        const server = await host.share(port, label);
        if (listening) {
            this.messageService.info(nls.localize('collaboration/ports/shared',
                'Shared server {0} is available to the participants.', this.describe(server)), { timeout: 5000 });
        } else {
            this.messageService.warn(nls.localize('collaboration/ports/sharedNothingListening',
                'Shared server {0} is shared, but nothing accepts connections on port {1} yet.', this.describe(server), String(port)));
        }
        return server;
    }

    /** Host: stops sharing the port. */
    async unshare(port: number): Promise<void> {
        await this.requireHost().unshare(port);
    }

    /** Opens a forwarded server in the browser (a new tab, or the system browser in Electron). */
    open(server: ForwardedServer): void {
        this.windowService.openNewWindow(server.url, { external: true });
    }

    describe(server: SharedServer): string {
        return server.label ? `'${server.label}' (${server.port})` : String(server.port);
    }

    protected announce(server: ForwardedServer): void {
        const open = nls.localize('collaboration/ports/open', 'Open');
        const label = server.label || String(server.port);
        this.messageService.info(nls.localize('collaboration/ports/available', 'Shared server {0} available at {1}', label, server.url), open)
            .then(action => {
                if (action === open) {
                    this.open(server);
                }
            });
    }

    protected requireHost(): PortTunnelHost {
        if (!this.host) {
            throw new CollaborationError('forbidden', nls.localize('collaboration/ports/notHost', 'Only the host of a session can share servers.'));
        }
        return this.host;
    }
}
