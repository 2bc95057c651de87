/**
 * Host side of shared servers. Keeps the list of shared ports, tells guests about it, and opens a tunnel for a
 * guest's connection only to a port it shares, never to anything else on the host (the backend checks the same).
 * Tunnels belong to the guest that opened them: another peer cannot write to, acknowledge or close them.
 *
 * Every admitted guest may use shared servers, read-only guests included (as in VS Code Live Share): sharing a
 * server is the host's explicit decision, and a read-only guest cannot change the host's files through it any more
 * than through a browser pointed at the host.
 */
import { CollaborationError, CollaborationSession, Emitter, Peer } from '@theia-collab/protocol';
import { OpenTunnelParams, PortLimits, PortMessages, PortNumber, ServerLabel, SharedServer } from './port-messages';
import { PortTunnelService } from './port-tunnel-protocol';
import { PortTunnelEndpoint, PortTunnelOptions, TunnelState } from './port-tunnel-endpoint';

export class PortTunnelHost extends PortTunnelEndpoint {
    protected readonly shared = new Map<number, SharedServer>();
    protected readonly onDidChangeServersEmitter = new Emitter<readonly SharedServer[]>();
    readonly onDidChangeServers = this.onDidChangeServersEmitter.event;
    /** Share/unshare operations, in call order. */
    protected changes: Promise<unknown> = Promise.resolve();

    constructor(session: CollaborationSession, backend: PortTunnelService, options: PortTunnelOptions = {}) {
        super(session, backend, options);
    }

    get servers(): readonly SharedServer[] {
        return [...this.shared.values()];
    }

    async start(): Promise<void> {
        if (!this.session.isHost) {
            throw new CollaborationError('forbidden', 'Only the host shares servers.');
        }
        this.registerRelayHandlers();
        this.toDispose.push(
            this.session.onRequest(PortMessages.List, (_params, sender) => {
                this.checkParticipant(sender);
                return { servers: this.servers as SharedServer[] };
            }),
            this.session.onRequest(PortMessages.Open, (params, sender) => this.open(params, sender)),
            this.session.onPeerLeft(({ peer }) => this.closeTunnels(state => state.peerId === peer.id, undefined, false))
        );
        await this.backend.setSharedPorts([]);
    }

    /** Shares `127.0.0.1:<port>` of this machine with the session's guests. */
    share(port: number, label = ''): Promise<SharedServer> {
        return this.serialize(async () => {
            const server: SharedServer = { port: PortNumber.parse(port), label: ServerLabel.parse(label.trim()) };
            if (!this.shared.has(server.port) && this.shared.size >= PortLimits.maxSharedServers) {
                throw new CollaborationError('too-large', `At most ${PortLimits.maxSharedServers} servers can be shared.`);
            }
            this.shared.set(server.port, server);
            await this.publish();
            return server;
        });
    }

    /** Stops sharing a port: its tunnels close, guests stop listening for it. */
    unshare(port: number): Promise<void> {
        return this.serialize(async () => {
            if (!this.shared.delete(port)) {
                return;
            }
            this.closeTunnels(state => state.port === port, 'The host stopped sharing this server.', true);
            await this.publish();
        });
    }

    /** Whether something accepts connections on the port (to warn before sharing a dead port). */
    probe(port: number): Promise<boolean> {
        return this.backend.probe(PortNumber.parse(port));
    }

    /** After the backend connection was re-established: it forgot the shared ports and its sockets. */
    backendReconnected(): Promise<void> {
        return this.serialize(async () => {
            this.closeTunnels(() => true, 'The host\'s backend reconnected.', true);
            await this.backend.setSharedPorts([...this.shared.keys()]);
        });
    }

    protected async publish(): Promise<void> {
        await this.backend.setSharedPorts([...this.shared.keys()]);
        this.onDidChangeServersEmitter.fire(this.servers);
        if (!this.session.closed) {
            await this.session.sendBroadcast(PortMessages.DidChange, { servers: this.servers as SharedServer[] });
        }
    }

    protected serialize<T>(operation: () => Promise<T>): Promise<T> {
        const result = this.changes.then(() => {
            if (this.disposed) {
                throw new CollaborationError('room-closed', 'The collaboration session has ended.');
            }
            return operation();
        });
        this.changes = result.catch(() => undefined);
        return result;
    }

    protected checkParticipant(sender: Peer): Peer {
        const peer = this.session.getPeer(sender.id);
        if (!peer || peer.id === this.session.self.id || this.session.closed || this.disposed) {
            throw new CollaborationError('forbidden', 'You are not a participant of this session any more.');
        }
        return peer;
    }

    protected backendId(peerId: string, wireId: string): string {
        return `${peerId}.${wireId}`;
    }

    protected findTunnel(sender: Peer, wireId: string): TunnelState | undefined {
        return this.tunnels.get(this.backendId(sender.id, wireId));
    }

    protected async open({ tunnel, port }: OpenTunnelParams, sender: Peer): Promise<{}> {
        const peer = this.checkParticipant(sender);
        if (!this.shared.has(port)) {
            throw new CollaborationError('forbidden', `Port ${port} is not shared by the host.`);
        }
        const backendId = this.backendId(peer.id, tunnel);
        if (this.tunnels.has(backendId)) {
            throw new CollaborationError('bad-request', `Tunnel '${tunnel}' is already open.`);
        }
        let ofPeer = 0;
        for (const state of this.tunnels.values()) {
            ofPeer += state.peerId === peer.id ? 1 : 0;
        }
        if (ofPeer >= PortLimits.maxTunnelsPerGuest || this.tunnels.size >= PortLimits.maxTunnels) {
            throw new CollaborationError('rate-limited', 'Too many open connections to shared servers.');
        }
        const state: TunnelState = { backendId, wireId: tunnel, peerId: peer.id, port, opened: false, unflushed: 0, unacknowledged: 0 };
        // Registered before connecting, so data the server sends at once finds its tunnel.
        this.tunnels.set(backendId, state);
        const result = await this.backend.connect(backendId, port);
        if (!result.ok) {
            if (this.tunnels.get(backendId) === state) {
                this.forgetTunnel(state);
            }
            throw new CollaborationError(result.error.code, result.error.message);
        }
        if (this.tunnels.get(backendId) !== state || !this.shared.has(port)) {
            // Closed, unshared or the guest left while connecting.
            this.closeTunnel(state, undefined, false);
            this.call(this.backend.close(backendId), 'close');
            throw new CollaborationError('not-found', 'The connection was closed while it was being opened.');
        }
        state.opened = true;
        return {};
    }

    override dispose(): void {
        if (this.disposed) {
            return;
        }
        if (!this.session.closed && this.shared.size > 0) {
            // The feature stops while the session goes on: guests stop listening.
            this.session.sendBroadcast(PortMessages.DidChange, { servers: [] }).catch(() => undefined);
        }
        this.shared.clear();
        this.onDidChangeServersEmitter.dispose();
        super.dispose();
    }
}
