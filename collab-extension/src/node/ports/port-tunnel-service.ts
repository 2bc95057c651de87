/**
 * The TCP side of shared servers, one instance per frontend connection. Only ever touches the loopback interface:
 * the host's backend connects to `127.0.0.1:<port>` for ports its frontend declared shared, a guest's backend
 * listens on `127.0.0.1`. Reading sockets are paused while a flow control window of their data is unacknowledged.
 */
import * as net from 'net';
import { randomBytes } from 'crypto';
import { injectable } from '@theia/core/shared/inversify';
import type { CollaborationErrorData } from '@theia-collab/protocol/lib/errors';
import { PortLimits } from '../../common/ports/port-messages';
import { BACKEND_TUNNEL_ID, LISTENER_ID, PortResult, PortTunnelClient, PortTunnelService } from '../../common/ports/port-tunnel-protocol';

const LOOPBACK = '127.0.0.1';
/** After a `close`, written data gets this long to flush before the socket is destroyed. */
const CLOSE_GRACE_MS = 5000;
const PROBE_TIMEOUT_MS = 2000;

interface Tunnel {
    readonly id: string;
    readonly socket: net.Socket;
    /** Guest: the listener that accepted it. */
    readonly listenerId?: string;
    /** Host: the shared port it leads to. */
    readonly port?: number;
    /** Guest sockets are read only once the host opened the tunnel. */
    started: boolean;
    /** Bytes read and handed to the frontend. */
    sent: number;
    /** Of those, bytes the other side acknowledged. */
    acked: number;
    paused: boolean;
    error?: string;
}

interface Listener {
    readonly server: net.Server;
    readonly port: number;
    readonly tunnels: Set<string>;
}

function isPort(value: unknown): value is number {
    return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 65535;
}

function isTunnelId(value: unknown): value is string {
    return typeof value === 'string' && BACKEND_TUNNEL_ID.test(value);
}

function failure(code: string, message: string): { ok: false; error: CollaborationErrorData } {
    return { ok: false, error: { code, message } };
}

@injectable()
export class PortTunnelServiceImpl implements PortTunnelService {
    protected client: PortTunnelClient | undefined;
    protected readonly sharedPorts = new Set<number>();
    protected readonly tunnels = new Map<string, Tunnel>();
    protected readonly listeners = new Map<string, Listener>();
    protected readonly closing = new Set<net.Socket>();
    protected disposed = false;

    setClient(client: PortTunnelClient | undefined): void {
        this.client = client;
    }

    getClient(): PortTunnelClient | undefined {
        return this.client;
    }

    // ---- host ----

    async setSharedPorts(ports: number[]): Promise<void> {
        this.sharedPorts.clear();
        for (const port of Array.isArray(ports) ? ports.slice(0, PortLimits.maxSharedServers) : []) {
            if (isPort(port)) {
                this.sharedPorts.add(port);
            }
        }
        for (const tunnel of [...this.tunnels.values()]) {
            if (tunnel.port !== undefined && !this.sharedPorts.has(tunnel.port)) {
                this.drop(tunnel, true);
            }
        }
    }

    probe(port: number): Promise<boolean> {
        if (!isPort(port) || this.disposed) {
            return Promise.resolve(false);
        }
        return new Promise(resolve => {
            const socket = net.connect({ host: LOOPBACK, port });
            const done = (result: boolean) => {
                clearTimeout(timer);
                socket.destroy();
                resolve(result);
            };
            const timer = setTimeout(() => done(false), PROBE_TIMEOUT_MS);
            socket.once('connect', () => done(true));
            socket.once('error', () => done(false));
        });
    }

    connect(tunnelId: string, port: number): Promise<PortResult<void>> {
        if (!isTunnelId(tunnelId) || !isPort(port)) {
            return Promise.resolve(failure('bad-request', 'Invalid tunnel id or port.'));
        }
        if (this.disposed || !this.sharedPorts.has(port)) {
            return Promise.resolve(failure('forbidden', `Port ${port} is not shared by the host.`));
        }
        if (this.tunnels.has(tunnelId)) {
            return Promise.resolve(failure('bad-request', `Tunnel '${tunnelId}' is already open.`));
        }
        if (this.tunnels.size >= PortLimits.maxTunnels) {
            return Promise.resolve(failure('rate-limited', 'Too many open connections to shared servers.'));
        }
        const socket = net.connect({ host: LOOPBACK, port, allowHalfOpen: true });
        // Writes before the connection is established are buffered by the socket.
        const tunnel: Tunnel = { id: tunnelId, socket, port, started: true, sent: 0, acked: 0, paused: false };
        this.tunnels.set(tunnelId, tunnel);
        return new Promise(resolve => {
            const settle = (result: PortResult<void>) => {
                clearTimeout(timer);
                socket.off('connect', onConnect);
                socket.off('error', onError);
                resolve(result);
            };
            const onConnect = () => {
                if (this.tunnels.get(tunnelId) !== tunnel) {
                    settle(failure('not-found', 'The connection was closed while it was being opened.'));
                    return;
                }
                this.attach(tunnel);
                settle({ ok: true, value: undefined });
            };
            const onError = (error: NodeJS.ErrnoException) => {
                if (this.tunnels.get(tunnelId) === tunnel) {
                    this.tunnels.delete(tunnelId);
                }
                socket.destroy();
                settle(failure('unavailable', error.code === 'ECONNREFUSED'
                    ? `Nothing accepts connections on port ${port} of the host.`
                    : `Could not connect to port ${port} of the host: ${error.code ?? error.message}`));
            };
            const timer = setTimeout(() => onError(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })), PortLimits.connectTimeoutMs);
            socket.once('connect', onConnect);
            socket.once('error', onError);
        });
    }

    // ---- guest ----

    async listen(listenerId: string, preferredPort: number): Promise<PortResult<number>> {
        if (typeof listenerId !== 'string' || !LISTENER_ID.test(listenerId) || !isPort(preferredPort)) {
            return failure('bad-request', 'Invalid listener id or port.');
        }
        if (this.disposed) {
            return failure('room-closed', 'Shared servers are closed.');
        }
        const existing = this.listeners.get(listenerId);
        if (existing) {
            return { ok: true, value: existing.port };
        }
        if (this.listeners.size >= PortLimits.maxSharedServers) {
            return failure('too-large', 'Too many forwarded servers.');
        }
        const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, socket => this.accept(listenerId, socket));
        let port: number;
        try {
            port = await listenOn(server, preferredPort).catch(error => {
                const code = (error as NodeJS.ErrnoException).code;
                if (code === 'EADDRINUSE' || code === 'EACCES') {
                    return listenOn(server, 0);
                }
                throw error;
            });
        } catch (error) {
            server.close();
            return failure('unavailable', `Could not listen on a local port: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
        }
        if (this.disposed || this.listeners.has(listenerId)) {
            server.close();
            const winner = this.listeners.get(listenerId);
            return winner ? { ok: true, value: winner.port } : failure('room-closed', 'Shared servers are closed.');
        }
        server.on('error', () => undefined);
        this.listeners.set(listenerId, { server, port, tunnels: new Set() });
        return { ok: true, value: port };
    }

    async unlisten(listenerId: string): Promise<void> {
        const listener = this.listeners.get(listenerId);
        if (!listener) {
            return;
        }
        this.listeners.delete(listenerId);
        listener.server.close();
        for (const id of listener.tunnels) {
            const tunnel = this.tunnels.get(id);
            if (tunnel) {
                this.drop(tunnel, true);
            }
        }
    }

    async start(tunnelId: string): Promise<void> {
        const tunnel = this.tunnels.get(tunnelId);
        if (tunnel && !tunnel.started) {
            tunnel.started = true;
            this.updateFlow(tunnel);
        }
    }

    protected accept(listenerId: string, socket: net.Socket): void {
        const listener = this.listeners.get(listenerId);
        if (!listener || this.disposed || listener.tunnels.size >= PortLimits.maxTunnelsPerGuest || this.tunnels.size >= PortLimits.maxTunnels) {
            socket.destroy();
            return;
        }
        const id = randomBytes(12).toString('base64url');
        const tunnel: Tunnel = { id, socket, listenerId, started: false, sent: 0, acked: 0, paused: true };
        this.tunnels.set(id, tunnel);
        listener.tunnels.add(id);
        this.attach(tunnel);
        this.client?.onTunnelAccepted(listenerId, id);
    }

    // ---- both ----

    async write(tunnelId: string, data: Uint8Array): Promise<void> {
        const tunnel = this.tunnels.get(tunnelId);
        if (!tunnel || !(data instanceof Uint8Array) || data.byteLength === 0 || data.byteLength > PortLimits.chunkBytes) {
            return;
        }
        const bytes = data.byteLength;
        tunnel.socket.write(data, error => {
            if (!error && this.tunnels.get(tunnelId) === tunnel) {
                this.client?.onTunnelAck(tunnelId, bytes);
            }
        });
    }

    async ack(tunnelId: string, bytes: number): Promise<void> {
        const tunnel = this.tunnels.get(tunnelId);
        if (tunnel && Number.isInteger(bytes) && bytes > 0) {
            tunnel.acked = Math.min(tunnel.sent, tunnel.acked + bytes);
            this.updateFlow(tunnel);
        }
    }

    async end(tunnelId: string): Promise<void> {
        this.tunnels.get(tunnelId)?.socket.end();
    }

    async close(tunnelId: string): Promise<void> {
        const tunnel = this.tunnels.get(tunnelId);
        if (tunnel) {
            this.drop(tunnel, false);
        }
    }

    async reset(): Promise<void> {
        this.sharedPorts.clear();
        for (const listenerId of [...this.listeners.keys()]) {
            await this.unlisten(listenerId);
        }
        for (const tunnel of [...this.tunnels.values()]) {
            this.drop(tunnel, true);
        }
    }

    dispose(): void {
        this.disposed = true;
        this.reset().catch(() => undefined);
        for (const socket of this.closing) {
            socket.destroy();
        }
        this.closing.clear();
        this.client = undefined;
    }

    // ---- sockets ----

    protected attach(tunnel: Tunnel): void {
        const { socket, id } = tunnel;
        socket.setNoDelay(true);
        socket.on('data', (chunk: Buffer) => {
            if (this.tunnels.get(id) !== tunnel) {
                return;
            }
            for (let offset = 0; offset < chunk.byteLength; offset += PortLimits.chunkBytes) {
                this.client?.onTunnelData(id, chunk.subarray(offset, offset + PortLimits.chunkBytes));
            }
            tunnel.sent += chunk.byteLength;
            this.updateFlow(tunnel);
        });
        socket.on('end', () => {
            if (this.tunnels.get(id) === tunnel) {
                this.client?.onTunnelEnd(id);
            }
        });
        socket.on('error', error => {
            tunnel.error = (error as NodeJS.ErrnoException).code ?? error.message;
        });
        socket.on('close', () => {
            if (this.tunnels.get(id) === tunnel) {
                this.forget(tunnel);
                this.client?.onTunnelClosed(id, tunnel.error);
            }
        });
    }

    /** Pauses the socket while a window of its data is unacknowledged (or, on a guest, until started). */
    protected updateFlow(tunnel: Tunnel): void {
        const pause = !tunnel.started || tunnel.sent - tunnel.acked >= PortLimits.windowBytes;
        if (pause && !tunnel.paused) {
            tunnel.socket.pause();
            tunnel.paused = true;
        } else if (!pause && tunnel.paused) {
            tunnel.paused = false;
            tunnel.socket.resume();
        }
    }

    protected forget(tunnel: Tunnel): void {
        this.tunnels.delete(tunnel.id);
        if (tunnel.listenerId) {
            this.listeners.get(tunnel.listenerId)?.tunnels.delete(tunnel.id);
        }
    }

    /**
     * Closes a tunnel without reporting it to the frontend. `now`: destroy at once; otherwise what was written
     * is flushed first (with a grace period), then the socket is destroyed.
     */
    protected drop(tunnel: Tunnel, now: boolean): void {
        this.forget(tunnel);
        const socket = tunnel.socket;
        if (now || socket.destroyed) {
            socket.destroy();
            return;
        }
        this.closing.add(socket);
        const timer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
        socket.once('close', () => {
            clearTimeout(timer);
            this.closing.delete(socket);
        });
        socket.end(() => socket.destroy());
    }
}

function listenOn(server: net.Server, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
        const onError = (error: Error) => reject(error);
        server.once('error', onError);
        server.listen({ host: LOOPBACK, port, exclusive: true }, () => {
            server.off('error', onError);
            const address = server.address();
            resolve(typeof address === 'object' && address ? address.port : port);
        });
    });
}
