/**
 * The JSON-RPC service through which a window's frontend (where the session lives) has its backend do the TCP
 * side of shared servers: the host's backend connects to shared ports of its loopback interface, a guest's
 * backend listens on local loopback ports. Data the backend reads comes back through `PortTunnelClient`
 * (Theia RPC notifications, `Uint8Array`s carried as binary by msgpackr).
 *
 * One service instance per frontend connection; closing the connection closes everything it opened.
 */
import type { CollaborationErrorData } from '@theia-collab/protocol/lib/errors';
import type { RpcServer } from '@theia/core/lib/common/messaging/proxy-factory';

export const PORT_TUNNEL_PATH = '/services/collaboration/port-tunnels';

/** Backend tunnel ids: the guest's wire id, or `<guest peer id>.<wire id>` on the host. */
export const BACKEND_TUNNEL_ID = /^[A-Za-z0-9_.-]{1,160}$/;
export const LISTENER_ID = /^[A-Za-z0-9_.-]{1,64}$/;

export type PortResult<T> = { ok: true; value: T } | { ok: false; error: CollaborationErrorData };

/** Backend → frontend. Method names start with `on`, so Theia sends them as notifications, in order. */
export interface PortTunnelClient {
    /** Guest: a TCP connection arrived on a forwarded port. It is not read from until `start`. */
    onTunnelAccepted(listenerId: string, tunnelId: string): void;
    /** Bytes read from the tunnel's socket, at most `PortLimits.chunkBytes`. */
    onTunnelData(tunnelId: string, data: Uint8Array): void;
    /** This many bytes given to `write` were flushed to the tunnel's socket. */
    onTunnelAck(tunnelId: string, bytes: number): void;
    /** The tunnel's TCP peer finished sending. */
    onTunnelEnd(tunnelId: string): void;
    /** The tunnel's socket closed by itself (not through `close`/`unlisten`/`reset`). */
    onTunnelClosed(tunnelId: string, reason?: string): void;
}

export const PortTunnelService = Symbol('PortTunnelService');
export interface PortTunnelService extends RpcServer<PortTunnelClient> {
    // ---- host ----
    /** The ports `connect` may reach; tunnels to ports no longer listed are closed. Nothing is shared until set. */
    setSharedPorts(ports: number[]): Promise<void>;
    /** Whether something accepts TCP connections on `127.0.0.1:<port>`. */
    probe(port: number): Promise<boolean>;
    /** Connects a tunnel to `127.0.0.1:<port>`; refused unless the port is shared. Starts reading at once. */
    connect(tunnelId: string, port: number): Promise<PortResult<void>>;

    // ---- guest ----
    /** Listens on `127.0.0.1:<preferredPort>`, or on any free port if that one is taken; the port listened on. */
    listen(listenerId: string, preferredPort: number): Promise<PortResult<number>>;
    /** Stops listening and closes the listener's tunnels. */
    unlisten(listenerId: string): Promise<void>;
    /** The host opened the tunnel: start reading from the accepted socket. */
    start(tunnelId: string): Promise<void>;

    // ---- both ----
    /** Writes bytes to the tunnel's socket; acknowledged with `onTunnelAck` once flushed. */
    write(tunnelId: string, data: Uint8Array): Promise<void>;
    /** Credit from the other side: this many bytes read from the tunnel reached their destination. */
    ack(tunnelId: string, bytes: number): Promise<void>;
    /** Half close: ends the socket's sending side once written data is flushed. */
    end(tunnelId: string): Promise<void>;
    /** Closes the tunnel (flushing what was written first, within a short grace period). */
    close(tunnelId: string): Promise<void>;
    /** Closes every listener and tunnel, forgets the shared ports. */
    reset(): Promise<void>;
}
