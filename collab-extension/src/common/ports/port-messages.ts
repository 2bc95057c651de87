/**
 * Shared servers (port forwarding), the wire contract between host and guests. The host shares TCP ports of
 * its loopback interface; each TCP connection a guest makes to its local forwarded port becomes a *tunnel*:
 * opened with a request, then carried by `data` / `ack` / `end` / `close` notifications in both directions,
 * sealed end to end like every session message. Every payload is validated on arrival and bounded.
 */
import { z } from 'zod';
import { Broadcast, Notification, Request } from '@theia-collab/protocol/lib/messages';
import { Binary } from '@theia-collab/protocol/lib/wire';

export const PortLimits = {
    /** Largest data carried by one `ports/data` message. */
    chunkBytes: 64 * 1024,
    /**
     * Per tunnel and direction: bytes sent but not yet acknowledged by the other side's TCP socket. A reading
     * socket is paused at this many, so nothing on the way (backend → frontend → relay → frontend → backend) grows.
     */
    windowBytes: 256 * 1024,
    /** Bytes a receiver may have taken but not yet acknowledged; it acknowledges once this many are written. */
    ackThresholdBytes: 64 * 1024,
    /** Data beyond twice the window (a peer ignoring flow control) closes the tunnel. */
    maxUnflushedBytes: 2 * 256 * 1024,
    maxSharedServers: 32,
    /** Open tunnels per guest (host side) and per forwarded port (guest side). */
    maxTunnelsPerGuest: 64,
    maxTunnels: 512,
    maxLabelLength: 64,
    maxReasonLength: 256,
    /** A guest gives up on a tunnel the host did not open within this time. */
    openTimeoutMs: 15_000,
    /** Host backend: TCP connect timeout to the shared port. */
    connectTimeoutMs: 10_000,
    /** Port traffic a session side sends, so other features keep room under the server's per-socket rate limits. */
    messagesPerSecond: 200,
    bytesPerSecond: 12 * 1024 * 1024
} as const;

export const PortNumber = z.number().int().min(1).max(65535);
/** Tunnel ids on the wire: chosen by the guest, unique per guest. */
export const TunnelId = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/);
export const ServerLabel = z.string().max(PortLimits.maxLabelLength).regex(/^[^\u0000-\u001f\u007f]*$/, 'no control characters');

export const SharedServer = z.object({
    /** Port on the host's loopback interface. */
    port: PortNumber,
    /** What the host called it; may be empty. */
    label: ServerLabel
}).strict();
export type SharedServer = z.infer<typeof SharedServer>;

export const ServerListParams = z.object({}).strict();
export type ServerListParams = z.infer<typeof ServerListParams>;
export const ServerList = z.object({ servers: z.array(SharedServer).max(PortLimits.maxSharedServers) }).strict();
export type ServerList = z.infer<typeof ServerList>;

export const OpenTunnelParams = z.object({ tunnel: TunnelId, port: PortNumber }).strict();
export type OpenTunnelParams = z.infer<typeof OpenTunnelParams>;
export const OpenTunnelResult = z.object({}).strict();
export type OpenTunnelResult = z.infer<typeof OpenTunnelResult>;

export const TunnelDataParams = z.object({
    tunnel: TunnelId,
    data: Binary(PortLimits.chunkBytes).refine(data => data.byteLength > 0, 'empty data')
}).strict();
export type TunnelDataParams = z.infer<typeof TunnelDataParams>;

export const TunnelAckParams = z.object({ tunnel: TunnelId, bytes: z.number().int().positive().max(PortLimits.maxUnflushedBytes) }).strict();
export type TunnelAckParams = z.infer<typeof TunnelAckParams>;

export const TunnelEndParams = z.object({ tunnel: TunnelId }).strict();
export type TunnelEndParams = z.infer<typeof TunnelEndParams>;

export const TunnelCloseParams = z.object({ tunnel: TunnelId, reason: z.string().max(PortLimits.maxReasonLength).optional() }).strict();
export type TunnelCloseParams = z.infer<typeof TunnelCloseParams>;

export namespace PortMessages {
    /** Guest → host: the servers shared right now (for guests that join later). */
    export const List = Request.define<ServerListParams, ServerList>('ports/list', { params: ServerListParams, result: ServerList });
    /** Host → guests: the shared servers changed; the full list. */
    export const DidChange = Broadcast.define<ServerList>('ports/didChange', { params: ServerList });
    /** Guest → host: a TCP connection to a shared port. Refused for ports the host does not share. */
    export const Open = Request.define<OpenTunnelParams, OpenTunnelResult>('ports/open', { params: OpenTunnelParams, result: OpenTunnelResult });
    /** Either way: bytes of a tunnel, in order, at most `PortLimits.chunkBytes`. */
    export const Data = Notification.define<TunnelDataParams>('ports/data', { params: TunnelDataParams });
    /** Either way: this many bytes of the tunnel were written to the receiver's TCP socket (flow control credit). */
    export const Ack = Notification.define<TunnelAckParams>('ports/ack', { params: TunnelAckParams });
    /** Either way: the sender's TCP peer finished sending (half close). */
    export const End = Notification.define<TunnelEndParams>('ports/end', { params: TunnelEndParams });
    /** Either way: the tunnel is gone. */
    export const Close = Notification.define<TunnelCloseParams>('ports/close', { params: TunnelCloseParams });

    export const all = [List, DidChange, Open, Data, Ack, End, Close] as const;
}

/** `http://127.0.0.1:<port>` */
export function localServerUrl(port: number): string {
    return `http://127.0.0.1:${port}`;
}
