/**
 * What host and guest have in common: relaying tunnel traffic between this window's backend (TCP sockets) and
 * the other peer (session notifications), with flow control credits in both directions.
 */
import { CollaborationError, CollaborationSession, Disposable, Emitter, Peer } from '@theia-collab/protocol';
import { PortLimits, PortMessages } from './port-messages';
import { PortOutbox, PortOutboxOptions } from './port-outbox';
import { PortTunnelClient, PortTunnelService } from './port-tunnel-protocol';

export interface PortTunnelLogger {
    warn(message: string, ...args: unknown[]): void;
    info(message: string, ...args: unknown[]): void;
}

export interface PortTunnelOptions {
    outbox?: PortOutboxOptions;
    logger?: PortTunnelLogger;
}

export interface TunnelState {
    /** Id of the tunnel in this window's backend. */
    readonly backendId: string;
    /** Id of the tunnel on the wire (chosen by the guest). */
    readonly wireId: string;
    /** The other side: the guest for a host, the host for a guest. */
    readonly peerId: string;
    /** The shared port on the host. */
    readonly port: number;
    /** Until the host connected it (guest: until `ports/open` answered). */
    opened: boolean;
    /** Bytes received from the peer and handed to the backend, not yet flushed to the socket. */
    unflushed: number;
    /** Bytes flushed to the socket, not yet acknowledged to the peer. */
    unacknowledged: number;
}

export abstract class PortTunnelEndpoint implements PortTunnelClient, Disposable {
    protected readonly outbox: PortOutbox;
    protected readonly tunnels = new Map<string, TunnelState>();
    protected readonly toDispose: Disposable[] = [];
    protected readonly logger: PortTunnelLogger;
    protected disposed = false;
    protected readonly onDidCloseTunnelEmitter = new Emitter<TunnelState>();
    /** A tunnel is gone (either side closed it). */
    readonly onDidCloseTunnel = this.onDidCloseTunnelEmitter.event;

    constructor(protected readonly session: CollaborationSession, protected readonly backend: PortTunnelService, options: PortTunnelOptions = {}) {
        this.logger = options.logger ?? console;
        this.outbox = new PortOutbox(session, {
            ...options.outbox,
            onError: error => this.logger.warn(`collaboration: shared server traffic could not be sent: [${error.code}] ${error.message}`)
        });
    }

    /** Tunnels open right now. */
    get tunnelCount(): number {
        return this.tunnels.size;
    }

    /** Registers the session handlers; rejects if this side cannot work in the session. */
    abstract start(): Promise<void>;

    /** After the backend connection was re-established: it forgot its listeners, sockets and shared ports. */
    abstract backendReconnected(): Promise<void>;

    /** The tunnel a message from `sender` names, if `sender` may speak about it. */
    protected abstract findTunnel(sender: Peer, wireId: string): TunnelState | undefined;

    protected registerRelayHandlers(): void {
        this.toDispose.push(
            this.session.onNotification(PortMessages.Data, ({ tunnel, data }, sender) => {
                const state = this.findTunnel(sender, tunnel);
                if (!state) {
                    return;
                }
                state.unflushed += data.byteLength;
                if (state.unflushed > PortLimits.maxUnflushedBytes) {
                    this.closeTunnel(state, 'The other side ignored flow control.', true);
                    return;
                }
                this.call(this.backend.write(state.backendId, data), 'write');
            }),
            this.session.onNotification(PortMessages.Ack, ({ tunnel, bytes }, sender) => {
                const state = this.findTunnel(sender, tunnel);
                if (state) {
                    this.call(this.backend.ack(state.backendId, bytes), 'ack');
                }
            }),
            this.session.onNotification(PortMessages.End, ({ tunnel }, sender) => {
                const state = this.findTunnel(sender, tunnel);
                if (state) {
                    this.call(this.backend.end(state.backendId), 'end');
                }
            }),
            this.session.onNotification(PortMessages.Close, ({ tunnel }, sender) => {
                const state = this.findTunnel(sender, tunnel);
                if (state) {
                    this.closeTunnel(state, undefined, false);
                }
            })
        );
    }

    // ---- PortTunnelClient: what this window's backend reports ----

    onTunnelAccepted(_listenerId: string, tunnelId: string): void {
        // Only guests listen; a host's backend never accepts.
        this.call(this.backend.close(tunnelId), 'close');
    }

    onTunnelData(tunnelId: string, data: Uint8Array): void {
        const state = this.tunnels.get(tunnelId);
        if (state && data.byteLength > 0) {
            for (let offset = 0; offset < data.byteLength; offset += PortLimits.chunkBytes) {
                this.outbox.data(state.peerId, state.wireId, data.subarray(offset, offset + PortLimits.chunkBytes));
            }
        }
    }

    onTunnelAck(tunnelId: string, bytes: number): void {
        const state = this.tunnels.get(tunnelId);
        if (!state || !(bytes > 0)) {
            return;
        }
        state.unflushed = Math.max(0, state.unflushed - bytes);
        state.unacknowledged += bytes;
        // Acknowledged in batches; what stays below the threshold never blocks the sender (threshold < window).
        if (state.unacknowledged >= PortLimits.ackThresholdBytes) {
            this.outbox.ack(state.peerId, state.wireId, state.unacknowledged);
            state.unacknowledged = 0;
        }
    }

    onTunnelEnd(tunnelId: string): void {
        const state = this.tunnels.get(tunnelId);
        if (state) {
            this.outbox.end(state.peerId, state.wireId);
        }
    }

    onTunnelClosed(tunnelId: string, reason?: string): void {
        const state = this.tunnels.get(tunnelId);
        if (state) {
            this.forgetTunnel(state);
            this.outbox.close(state.peerId, state.wireId, reason);
        }
    }

    // ---- helpers ----

    /** Closes a tunnel here, and tells the peer unless it is the one that closed it. */
    protected closeTunnel(state: TunnelState, reason: string | undefined, notifyPeer: boolean): void {
        if (this.tunnels.get(state.backendId) !== state) {
            return;
        }
        this.forgetTunnel(state);
        this.call(this.backend.close(state.backendId), 'close');
        if (notifyPeer) {
            this.outbox.close(state.peerId, state.wireId, reason);
        } else {
            this.outbox.forget(state.peerId, state.wireId);
        }
    }

    protected forgetTunnel(state: TunnelState): void {
        this.tunnels.delete(state.backendId);
        this.onDidCloseTunnelEmitter.fire(state);
    }

    /** Closes every tunnel matching `filter`, telling the peers. */
    protected closeTunnels(filter: (state: TunnelState) => boolean, reason: string | undefined, notifyPeer: boolean): void {
        for (const state of [...this.tunnels.values()]) {
            if (filter(state)) {
                this.closeTunnel(state, reason, notifyPeer);
            }
        }
    }

    protected call(promise: Promise<unknown>, what: string): void {
        promise.catch(error => {
            if (!this.disposed) {
                this.logger.warn(`collaboration: shared server backend call '${what}' failed: ${CollaborationError.from(error).message}`);
            }
        });
    }

    dispose(): void {
        if (this.disposed) {
            return;
        }
        this.disposed = true;
        this.toDispose.splice(0).forEach(disposable => disposable.dispose());
        this.outbox.dispose();
        this.tunnels.clear();
        this.onDidCloseTunnelEmitter.dispose();
        this.backend.reset().catch(() => undefined);
    }
}
