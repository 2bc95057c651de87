/**
 * Guest side of shared servers. For every server the host shares, this window's backend listens on a local
 * loopback port (the host's port number when free); each connection to it is tunnelled to the host. Only the host
 * is listened to: messages about shared servers or tunnels from other guests are ignored.
 */
import { CollaborationError, CollaborationSession, Emitter, Peer } from '@theia-collab/protocol';
import { localServerUrl, PortLimits, PortMessages, ServerList, SharedServer } from './port-messages';
import { PortTunnelService } from './port-tunnel-protocol';
import { PortTunnelEndpoint, PortTunnelOptions, TunnelState } from './port-tunnel-endpoint';

export interface ForwardedServer extends SharedServer {
    /** Port on this machine's loopback interface that leads to the host's `port`. */
    readonly localPort: number;
    /** `http://127.0.0.1:<localPort>` */
    readonly url: string;
}

export interface ForwardingFailed {
    server: SharedServer;
    error: CollaborationError;
}

export class PortTunnelGuest extends PortTunnelEndpoint {
    protected readonly forwarded = new Map<number, ForwardedServer>();
    /** Listener ids of the backend, by host port. */
    protected readonly listenerPorts = new Map<string, number>();
    /** List updates, in arrival order. */
    protected updates: Promise<unknown> = Promise.resolve();

    protected readonly onDidChangeServersEmitter = new Emitter<readonly ForwardedServer[]>();
    readonly onDidChangeServers = this.onDidChangeServersEmitter.event;
    protected readonly onDidForwardEmitter = new Emitter<ForwardedServer>();
    /** A shared server is newly reachable on this machine (or at a new local port). */
    readonly onDidForward = this.onDidForwardEmitter.event;
    protected readonly onDidFailEmitter = new Emitter<ForwardingFailed>();
    /** A shared server could not be forwarded (no local port could be listened on). */
    readonly onDidFail = this.onDidFailEmitter.event;

    /** Lists announced by the host so far. */
    protected announcements = 0;

    constructor(session: CollaborationSession, backend: PortTunnelService, options: PortTunnelOptions = {}) {
        super(session, backend, options);
    }

    get servers(): readonly ForwardedServer[] {
        return [...this.forwarded.values()];
    }

    async start(): Promise<void> {
        if (this.session.isHost) {
            throw new CollaborationError('forbidden', 'The host does not forward its own servers.');
        }
        this.registerRelayHandlers();
        this.toDispose.push(this.session.onBroadcast(PortMessages.DidChange, (list, sender) => {
            if (sender.id === this.session.host.id) {
                this.announcements++;
                this.update(list);
            }
        }));
        // The host's announcements were lost for good (a long outage): ask for its list again.
        this.toDispose.push(this.session.onMissedMessages(() => this.fetchList().catch(error => {
            if (!this.session.closed && !this.disposed) {
                console.warn('collaboration: could not get the host\'s shared servers again', CollaborationError.from(error).message);
            }
        })));
        await this.fetchList();
    }

    /** Asks the host which servers it shares and forwards those; an announcement that arrives meanwhile is newer and stands. */
    protected async fetchList(): Promise<void> {
        const announcements = this.announcements;
        const list = await this.session.sendRequest(PortMessages.List, {});
        if (this.announcements === announcements && !this.disposed) {
            await this.update(list);
        }
    }

    /** Resolves once list updates received so far are applied. */
    settled(): Promise<void> {
        return this.updates.then(() => undefined);
    }

    /** After the backend connection was re-established: it forgot its listeners and sockets. */
    backendReconnected(): Promise<void> {
        return this.serialize(async () => {
            this.closeTunnels(() => true, 'The guest\'s backend reconnected.', true);
            const servers = this.servers;
            this.forwarded.clear();
            this.listenerPorts.clear();
            for (const server of servers) {
                await this.forward(server, server.localPort);
            }
            this.onDidChangeServersEmitter.fire(this.servers);
        });
    }

    protected update(list: ServerList): Promise<void> {
        return this.serialize(async () => {
            const wanted = new Map(list.servers.slice(0, PortLimits.maxSharedServers).map(server => [server.port, server]));
            let changed = false;
            for (const [port, server] of [...this.forwarded]) {
                if (!wanted.has(port)) {
                    this.forwarded.delete(port);
                    this.stopForwarding(server);
                    changed = true;
                }
            }
            for (const server of wanted.values()) {
                const current = this.forwarded.get(server.port);
                if (!current) {
                    changed = (await this.forward(server)) || changed;
                } else if (current.label !== server.label) {
                    this.forwarded.set(server.port, { ...current, label: server.label });
                    changed = true;
                }
            }
            if (changed) {
                this.onDidChangeServersEmitter.fire(this.servers);
            }
        });
    }

    /** Listens for `server`; announces it unless it is still at `previousLocalPort`. */
    protected async forward(server: SharedServer, previousLocalPort?: number): Promise<boolean> {
        const listenerId = listenerIdOf(server.port);
        const result = await this.backend.listen(listenerId, server.port);
        if (this.disposed) {
            return false;
        }
        if (!result.ok) {
            this.onDidFailEmitter.fire({ server, error: new CollaborationError(result.error.code, result.error.message) });
            return false;
        }
        const forwarded: ForwardedServer = { port: server.port, label: server.label, localPort: result.value, url: localServerUrl(result.value) };
        this.forwarded.set(server.port, forwarded);
        this.listenerPorts.set(listenerId, server.port);
        if (forwarded.localPort !== previousLocalPort) {
            this.onDidForwardEmitter.fire(forwarded);
        }
        return true;
    }

    protected stopForwarding(server: SharedServer): void {
        const listenerId = listenerIdOf(server.port);
        this.listenerPorts.delete(listenerId);
        // The backend closes the listener's sockets; the host closed its ends when it unshared.
        for (const state of [...this.tunnels.values()]) {
            if (state.port === server.port) {
                this.forgetTunnel(state);
                this.outbox.forget(state.peerId, state.wireId);
            }
        }
        this.call(this.backend.unlisten(listenerId), 'unlisten');
    }

    protected serialize<T>(operation: () => Promise<T>): Promise<T> {
        const result = this.updates.then(() => this.disposed ? undefined as T : operation());
        this.updates = result.catch(error => this.logger.warn(`collaboration: updating shared servers failed: ${CollaborationError.from(error).message}`));
        return result;
    }

    protected findTunnel(sender: Peer, wireId: string): TunnelState | undefined {
        return sender.id === this.session.host.id ? this.tunnels.get(wireId) : undefined;
    }

    override onTunnelAccepted(listenerId: string, tunnelId: string): void {
        const port = this.listenerPorts.get(listenerId);
        if (port === undefined || this.disposed || this.tunnels.has(tunnelId) || this.tunnels.size >= PortLimits.maxTunnels) {
            this.call(this.backend.close(tunnelId), 'close');
            return;
        }
        const state: TunnelState = {
            backendId: tunnelId, wireId: tunnelId, peerId: this.session.host.id, port, opened: false, unflushed: 0, unacknowledged: 0
        };
        this.tunnels.set(tunnelId, state);
        this.outbox.schedule(() => this.open(state));
    }

    protected open(state: TunnelState): void {
        if (this.tunnels.get(state.backendId) !== state) {
            return;
        }
        this.session.sendRequest(PortMessages.Open, { tunnel: state.wireId, port: state.port }, { timeout: PortLimits.openTimeoutMs }).then(() => {
            if (this.tunnels.get(state.backendId) === state) {
                state.opened = true;
                this.call(this.backend.start(state.backendId), 'start');
            }
        }, error => {
            const converted = CollaborationError.from(error);
            if (this.tunnels.get(state.backendId) === state) {
                this.logger.info(`collaboration: the host refused a connection to shared port ${state.port}: [${converted.code}] ${converted.message}`);
                // A refused tunnel does not exist on the host; one that timed out might, late.
                this.closeTunnel(state, undefined, converted.code === 'timeout');
            }
        });
    }

    override dispose(): void {
        if (this.disposed) {
            return;
        }
        this.forwarded.clear();
        this.listenerPorts.clear();
        this.onDidChangeServersEmitter.dispose();
        this.onDidForwardEmitter.dispose();
        this.onDidFailEmitter.dispose();
        super.dispose();
    }
}

function listenerIdOf(port: number): string {
    return `port-${port}`;
}
