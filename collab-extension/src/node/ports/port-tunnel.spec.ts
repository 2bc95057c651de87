/**
 * Shared servers over a real coordination server and real protocol clients: the host's and the guest's tunnel
 * logic with their TCP backends instantiated directly (as the Theia RPC service would be), real HTTP on loopback.
 */
import * as assert from 'assert';
import * as http from 'http';
import * as net from 'net';
import { createHash, randomBytes } from 'crypto';
import { AddressInfo } from 'net';
import { CollaborationClient, CollaborationError, CollaborationSession, Permission } from '@theia-collab/protocol';
import { until as pollUntil } from '@theia-collab/test-kit';
import { ServerHandle, startServer } from '@theia-collab/server/lib/server';
import { PortLimits, PortMessages } from '../../common/ports/port-messages';
import { PortTunnelGuest } from '../../common/ports/port-tunnel-guest';
import { PortTunnelHost } from '../../common/ports/port-tunnel-host';
import { PortTunnelServiceImpl } from './port-tunnel-service';

/** Polls `condition` (10 s unless told). */
function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    return pollUntil(condition, what, timeoutMs);
}

function delay(ms: number): Promise<void> {
    return new Promise(resolve => setTimeout(resolve, ms));
}

function sha256(data: Uint8Array): string {
    return createHash('sha256').update(data).digest('hex');
}

interface Response { status: number; body: Buffer }

function request(port: number, path: string, options: { method?: string; body?: Buffer } = {}): Promise<Response> {
    return new Promise((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', agent: false, timeout: 30_000 }, res => {
            const chunks: Buffer[] = [];
            res.on('data', chunk => chunks.push(chunk));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
            res.on('error', reject);
        });
        req.on('timeout', () => req.destroy(new Error('request timed out')));
        req.on('error', reject);
        req.end(options.body);
    });
}

/** Resolves with the connection error code, or `connected`. */
function tryConnect(port: number): Promise<string> {
    return new Promise(resolve => {
        const socket = net.connect({ host: '127.0.0.1', port });
        socket.once('connect', () => {
            socket.destroy();
            resolve('connected');
        });
        socket.once('error', error => resolve((error as NodeJS.ErrnoException).code ?? error.message));
    });
}

/** Counts what the guest's backend writes to its sockets (bytes that crossed the session). */
class CountingService extends PortTunnelServiceImpl {
    written = 0;
    override write(tunnelId: string, data: Uint8Array): Promise<void> {
        this.written += data.byteLength;
        return super.write(tunnelId, data);
    }
    get socketCount(): number {
        return this.tunnels.size;
    }
}

describe('shared servers over a real session', function (): void {
    this.timeout(120_000);

    let server: ServerHandle;
    let httpServer: http.Server;
    let httpPort: number;
    /** A server on the host that is never shared: nothing may reach it through a tunnel. */
    let secretServer: net.Server;
    let secretPort: number;
    let secretConnections = 0;
    const bigBody = randomBytes(1024 * 1024);
    const uploads: Buffer[] = [];
    let clients: CollaborationClient[] = [];
    let host: CollaborationSession;
    let hostBackend: PortTunnelServiceImpl;
    let hostPorts: PortTunnelHost;
    const guests: { session: CollaborationSession; backend: CountingService; ports: PortTunnelGuest }[] = [];

    async function join(name: string, permission: Permission): Promise<{ session: CollaborationSession; backend: CountingService; ports: PortTunnelGuest }> {
        const client = await CollaborationClient.connect({ serverUrl: server.url, name, logger: quiet });
        clients.push(client);
        const admitting = host.onJoinRequest(request => request.admit(permission));
        const session = await client.joinSession(host.invite!.code);
        admitting.dispose();
        await until(() => host.getPeer(session.self.id) !== undefined, `the host sees ${name}`);
        const backend = new CountingService();
        const ports = new PortTunnelGuest(session, backend, { logger: quiet });
        backend.setClient(ports);
        await ports.start();
        const guest = { session, backend, ports };
        guests.push(guest);
        return guest;
    }

    const quiet = { warn: () => undefined, info: () => undefined, error: () => undefined };

    before(async () => {
        server = await startServer({
            hostname: '127.0.0.1', port: 0, logLevel: 'silent',
            loginRateLimit: { max: 10_000, windowMs: 60_000 }, joinRateLimit: { max: 10_000, windowMs: 60_000 }
        });
        httpServer = http.createServer((req, res) => {
            if (req.url === '/big') {
                res.end(bigBody);
            } else if (req.url?.startsWith('/stream/')) {
                // Deterministic bytes, so the client can check them without holding a copy.
                const size = Number(req.url.slice('/stream/'.length));
                res.setHeader('content-length', String(size));
                let sent = 0;
                const pump = () => {
                    while (sent < size) {
                        const chunk = Buffer.alloc(Math.min(64 * 1024, size - sent), sent / (64 * 1024) % 251);
                        sent += chunk.byteLength;
                        if (!res.write(chunk)) {
                            res.once('drain', pump);
                            return;
                        }
                    }
                    res.end();
                };
                pump();
            } else if (req.method === 'POST') {
                const chunks: Buffer[] = [];
                req.on('data', chunk => chunks.push(chunk));
                req.on('end', () => {
                    const body = Buffer.concat(chunks);
                    uploads.push(body);
                    res.end(sha256(body));
                });
            } else {
                res.setHeader('content-type', 'text/plain');
                res.end(`hello from the host: ${req.url}`);
            }
        });
        await new Promise<void>(resolve => httpServer.listen(0, '127.0.0.1', resolve));
        httpPort = (httpServer.address() as AddressInfo).port;
        secretServer = net.createServer(socket => {
            secretConnections++;
            socket.end('secret');
        });
        await new Promise<void>(resolve => secretServer.listen(0, '127.0.0.1', resolve));
        secretPort = (secretServer.address() as AddressInfo).port;
    });

    beforeEach(async () => {
        const client = await CollaborationClient.connect({ serverUrl: server.url, name: 'Hosting Hana', logger: quiet });
        clients.push(client);
        host = await client.createSession();
        hostBackend = new PortTunnelServiceImpl();
        hostPorts = new PortTunnelHost(host, hostBackend, { logger: quiet });
        hostBackend.setClient(hostPorts);
        await hostPorts.start();
        secretConnections = 0;
        uploads.length = 0;
    });

    afterEach(async () => {
        for (const guest of guests.splice(0)) {
            guest.ports.dispose();
            guest.backend.dispose();
        }
        hostPorts.dispose();
        hostBackend.dispose();
        clients.splice(0).forEach(client => client.dispose());
        clients = [];
    });

    after(async () => {
        await new Promise(resolve => httpServer?.close(resolve));
        await new Promise(resolve => secretServer?.close(resolve));
        await server?.close();
    });

    it('forwards a shared HTTP server to a read-only guest: small and 1 MB bodies, 10 concurrent requests, uploads', async () => {
        const guest = await join('Reading Rob', 'readonly');
        assert.strictEqual(host.getPeer(guest.session.self.id)?.permission, 'readonly');
        await hostPorts.share(httpPort, 'web app');
        await until(() => guest.ports.servers.length === 1, 'the guest forwards the shared server');
        const [forwarded] = guest.ports.servers;
        assert.strictEqual(forwarded.port, httpPort);
        assert.strictEqual(forwarded.label, 'web app');
        // The host's server holds that port on this machine, so the guest got another one.
        assert.notStrictEqual(forwarded.localPort, httpPort);
        assert.strictEqual(forwarded.url, `http://127.0.0.1:${forwarded.localPort}`);

        const small = await request(forwarded.localPort, '/index.html');
        assert.strictEqual(small.status, 200);
        assert.strictEqual(small.body.toString(), 'hello from the host: /index.html');

        const big = await request(forwarded.localPort, '/big');
        assert.strictEqual(big.body.byteLength, bigBody.byteLength);
        assert.ok(big.body.equals(bigBody), '1 MB body arrives intact');

        const concurrent = await Promise.all(Array.from({ length: 10 }, (_, i) => request(forwarded.localPort, i % 2 ? `/page/${i}` : '/big')));
        concurrent.forEach((response, i) => {
            if (i % 2) {
                assert.strictEqual(response.body.toString(), `hello from the host: /page/${i}`);
            } else {
                assert.ok(response.body.equals(bigBody), `concurrent response ${i} arrives intact`);
            }
        });

        const upload = randomBytes(1024 * 1024 + 17);
        const posted = await request(forwarded.localPort, '/upload', { method: 'POST', body: upload });
        assert.strictEqual(posted.body.toString(), sha256(upload));
        assert.strictEqual(uploads.length, 1);

        // Every tunnel is closed on both sides once the connections are done.
        await until(() => hostPorts.tunnelCount === 0 && guest.ports.tunnelCount === 0 && guest.backend.socketCount === 0, 'tunnels close');
        assert.strictEqual(secretConnections, 0);
    });

    it('listens on the host\'s port number when it is free on the guest\'s machine, on another one otherwise', async () => {
        const probe = net.createServer();
        await new Promise<void>(resolve => probe.listen(0, '127.0.0.1', resolve));
        const freePort = (probe.address() as AddressInfo).port;
        await new Promise(resolve => probe.close(resolve));
        const backend = new PortTunnelServiceImpl();
        try {
            const same = await backend.listen('free', freePort);
            assert.deepStrictEqual(same, { ok: true, value: freePort });
            assert.deepStrictEqual(await backend.listen('free', freePort), same, 'listening again is idempotent');
            const other = await backend.listen('taken', httpPort);
            assert.ok(other.ok && other.value !== httpPort && other.value > 0);
            assert.deepStrictEqual(await backend.listen('../bad', 80), { ok: false, error: { code: 'bad-request', message: 'Invalid listener id or port.' } });
            await backend.unlisten('free');
            assert.strictEqual(await tryConnect(freePort), 'ECONNREFUSED');
        } finally {
            backend.dispose();
        }
    });

    it('tells guests that join later, and forwards to several guests', async () => {
        await hostPorts.share(httpPort, 'first');
        const early = await join('Early Eve', 'readwrite');
        const late = await join('Late Lou', 'readonly');
        await until(() => early.ports.servers.length === 1 && late.ports.servers.length === 1, 'both guests forward');
        assert.notStrictEqual(early.ports.servers[0].localPort, late.ports.servers[0].localPort);
        const [a, b] = await Promise.all([request(early.ports.servers[0].localPort, '/a'), request(late.ports.servers[0].localPort, '/b')]);
        assert.strictEqual(a.body.toString(), 'hello from the host: /a');
        assert.strictEqual(b.body.toString(), 'hello from the host: /b');
    });

    it('pauses a tunnel whose reader is slow, and delivers everything once it reads again', async () => {
        const guest = await join('Slow Sam', 'readwrite');
        await hostPorts.share(httpPort);
        await until(() => guest.ports.servers.length === 1, 'the guest forwards');
        const size = 48 * 1024 * 1024;
        const socket = net.connect({ host: '127.0.0.1', port: guest.ports.servers[0].localPort });
        await new Promise(resolve => socket.once('connect', resolve));
        socket.pause();
        socket.write(`GET /stream/${size} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
        // Without flow control everything would cross the session (12 MB/s) while nobody reads.
        await delay(2500);
        const whilePaused = guest.backend.written;
        assert.ok(whilePaused > 0, 'some data arrived');
        assert.ok(whilePaused < 16 * 1024 * 1024, `only socket buffers and one window crossed while paused (${whilePaused} bytes)`);
        await delay(500);
        assert.ok(guest.backend.written - whilePaused <= 2 * PortLimits.windowBytes, 'the transfer stalls while nobody reads');

        let received = 0;
        let head = '';
        let bodyOffset = -1;
        let intact = true;
        socket.on('data', (chunk: Buffer) => {
            let data = chunk;
            if (bodyOffset < 0) {
                head += chunk.toString('latin1');
                const end = head.indexOf('\r\n\r\n');
                if (end < 0) {
                    return;
                }
                bodyOffset = 0;
                data = Buffer.from(head.slice(end + 4), 'latin1');
            }
            for (let i = 0; i < data.byteLength; i += 4096) {
                const position = received + i;
                if (data[i] !== Math.floor(position / (64 * 1024)) % 251) {
                    intact = false;
                }
            }
            received += data.byteLength;
        });
        socket.resume();
        await new Promise(resolve => socket.once('end', resolve));
        socket.destroy();
        assert.strictEqual(received, size);
        assert.ok(intact, 'the streamed bytes arrive in order');
    });

    it('closes the guest\'s port and its connections when the host stops sharing', async () => {
        const guest = await join('Guest Gil', 'readonly');
        await hostPorts.share(httpPort);
        await until(() => guest.ports.servers.length === 1, 'the guest forwards');
        const localPort = guest.ports.servers[0].localPort;
        // An open connection with a request that is still being sent.
        const socket = net.connect({ host: '127.0.0.1', port: localPort });
        const closed = new Promise(resolve => socket.once('close', resolve));
        socket.on('error', () => undefined);
        socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\npartial');
        await until(() => hostPorts.tunnelCount === 1, 'the tunnel is open on the host');

        await hostPorts.unshare(httpPort);
        assert.deepStrictEqual(hostPorts.servers, []);
        await until(() => guest.ports.servers.length === 0, 'the guest stops forwarding');
        await guest.ports.settled();
        await closed;
        await until(() => hostPorts.tunnelCount === 0 && guest.backend.socketCount === 0, 'the tunnel is closed');
        assert.strictEqual(await tryConnect(localPort), 'ECONNREFUSED');
    });

    it('closes the guest\'s ports when the session ends', async () => {
        const guest = await join('Guest Gus', 'readwrite');
        await hostPorts.share(httpPort);
        await until(() => guest.ports.servers.length === 1, 'the guest forwards');
        const localPort = guest.ports.servers[0].localPort;
        assert.strictEqual((await request(localPort, '/x')).status, 200);
        const ended = new Promise(resolve => guest.session.onClose(resolve));
        await host.leave();
        await ended;
        // What the frontend contribution does when the session ends.
        guest.ports.dispose();
        await until(() => guest.backend.socketCount === 0, 'sockets closed');
        await delay(50);
        assert.strictEqual(await tryConnect(localPort), 'ECONNREFUSED');
    });

    it('refuses tunnels to ports the host does not share, in the session and in the backend', async () => {
        const guest = await join('Probing Pat', 'readwrite');
        await hostPorts.share(httpPort);
        await until(() => guest.ports.servers.length === 1, 'the guest forwards');

        const refused = await guest.session.sendRequest(PortMessages.Open, { tunnel: 'sneaky1', port: secretPort }).then(
            () => undefined, error => error as CollaborationError);
        assert.ok(refused instanceof CollaborationError, 'the request is refused');
        assert.strictEqual(refused.code, 'forbidden');
        assert.match(refused.message, /not shared/);

        // Malformed requests are refused by the params validator.
        const invalid = await guest.session.sendRequest(PortMessages.Open, { tunnel: '../x', port: 70000 }).then(
            () => undefined, error => error as CollaborationError);
        assert.strictEqual(invalid?.code, 'invalid-params');

        // The backend refuses unshared ports on its own, too.
        const direct = await hostBackend.connect('guest.direct', secretPort);
        assert.deepStrictEqual(direct.ok, false);
        assert.strictEqual(!direct.ok && direct.error.code, 'forbidden');

        // Once unshared, the formerly shared port is refused as well.
        await hostPorts.unshare(httpPort);
        const afterUnshare = await guest.session.sendRequest(PortMessages.Open, { tunnel: 'late1', port: httpPort }).then(
            () => undefined, error => error as CollaborationError);
        assert.strictEqual(afterUnshare?.code, 'forbidden');

        await delay(100);
        assert.strictEqual(secretConnections, 0);
        assert.strictEqual(hostPorts.tunnelCount, 0);
    });

    it('ignores tunnel traffic from anyone but the tunnel\'s guest, and shared-server news from anyone but the host', async () => {
        const owner = await join('Owner Olga', 'readwrite');
        const intruder = await join('Intruder Ivan', 'readwrite');
        await hostPorts.share(httpPort, 'app');
        await until(() => owner.ports.servers.length === 1 && intruder.ports.servers.length === 1, 'both forward');

        // A guest pretending to be the host: announcing servers to another guest is ignored.
        await intruder.session.sendBroadcast(PortMessages.DidChange, { servers: [] });
        // The intruder closes a tunnel id of the owner (same wire id): the host keys tunnels by sender.
        const socket = net.connect({ host: '127.0.0.1', port: owner.ports.servers[0].localPort });
        socket.on('error', () => undefined);
        socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n');
        await until(() => hostPorts.tunnelCount === 1, 'the owner\'s tunnel is open');
        const [wireId] = [...(owner.ports as unknown as { tunnels: Map<string, unknown> }).tunnels.keys()];
        await intruder.session.sendNotification(PortMessages.Close, { tunnel: wireId });
        await intruder.session.sendNotification(PortMessages.Data, { tunnel: wireId, data: Buffer.from('junk') });
        await delay(300);
        assert.strictEqual(hostPorts.tunnelCount, 1, 'the owner\'s tunnel survives');
        assert.strictEqual(owner.ports.servers.length, 1, 'the owner still forwards');
        const response = new Promise<string>(resolve => {
            let text = '';
            socket.on('data', chunk => { text += chunk.toString(); });
            socket.on('end', () => resolve(text));
        });
        socket.end('Connection: close\r\n\r\n');
        assert.match(await response, /hello from the host: \/slow$/);
        socket.destroy();
    });
});
