/**
 * A malicious coordination server, for tests that attack the clients: a real socket.io server that clients
 * connect to instead of the real one, which relays everything to and from a real collab-server, except
 * what a test tells it to rewrite, drop, replay or inject. It is what a compromised server can do: it
 * sees every event and envelope in the clear (the envelopes' data stays sealed), and can send anything.
 *
 * Each client connects through its own upstream connection, so the double knows who is who: the login
 * token a client presents names it (see `MaliciousServerFixture.connect`).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, Socket } from 'socket.io';
import { io as connectUpstream, Socket as UpstreamSocket } from 'socket.io-client';
import { CollaborationClient } from '@theia-collab/protocol/lib/client';
import { login } from '@theia-collab/protocol/lib/client';
import { CLIENT_MAX_ATTACHMENTS, parserWithAttachments, SERVER_MAX_ATTACHMENTS } from '@theia-collab/protocol/lib/socket-parser';
import type { ServerOptions } from '../config';
import { ServerHandle, startServer } from '../server';
import { RecordingLogger, until } from './session-fixture';

/** What a rewrite hook returns: the payload to pass on (changed or not), or `undefined` to drop the event. */
export type Rewrite = (event: string, payload: unknown, from: string) => unknown;

interface Link {
    name: string;
    client: Socket;
    upstream: UpstreamSocket;
}

export class MaliciousServer {
    private readonly links = new Set<Link>();
    private readonly names = new Map<string, string>();
    /** Rewrites what goes from the real server to a client (`from` is the client's name). */
    toClient: Rewrite = (_event, payload) => payload;
    /** Rewrites what goes from a client to the real server (`from` is the client's name). */
    toServer: Rewrite = (_event, payload) => payload;
    /** Every event passed to a client, in order: what the double has seen (and may replay). */
    readonly seen: { to: string; event: string; payload: unknown }[] = [];
    /** Every event a client sent, in order. */
    readonly received: { from: string; event: string; payload: unknown }[] = [];

    private constructor(private readonly httpServer: http.Server, private readonly io: Server, readonly url: string, private readonly upstreamUrl: string) {
        io.on('connection', socket => this.link(socket));
    }

    static async start(upstreamUrl: string): Promise<MaliciousServer> {
        const httpServer = http.createServer();
        const io = new Server(httpServer, { transports: ['websocket'], maxHttpBufferSize: 4 * 1024 * 1024, parser: parserWithAttachments(SERVER_MAX_ATTACHMENTS) });
        await new Promise<void>(resolve => httpServer.listen(0, '127.0.0.1', resolve));
        const { port } = httpServer.address() as AddressInfo;
        return new MaliciousServer(httpServer, io, `http://127.0.0.1:${port}`, upstreamUrl);
    }

    /** Names the client that will present `token`. */
    name(token: string, name: string): void {
        this.names.set(token, name);
    }

    private link(client: Socket): void {
        const auth = client.handshake.auth as { token?: string };
        const name = (auth.token && this.names.get(auth.token)) ?? 'unknown';
        const upstream = connectUpstream(this.upstreamUrl, {
            auth, transports: ['websocket'], forceNew: true, reconnection: false, parser: parserWithAttachments(CLIENT_MAX_ATTACHMENTS)
        });
        const link: Link = { name, client, upstream };
        this.links.add(link);
        upstream.onAny((event: string, payload: unknown) => {
            const rewritten = this.toClient(event, payload, name);
            if (rewritten !== undefined) {
                this.seen.push({ to: name, event, payload: rewritten });
                client.emit(event, rewritten);
            }
        });
        client.onAny((event: string, payload: unknown, ack?: (answer: unknown) => void) => {
            this.received.push({ from: name, event, payload });
            const rewritten = this.toServer(event, payload, name);
            if (rewritten === undefined) {
                return;
            }
            if (typeof ack === 'function') {
                upstream.emit(event, rewritten, (answer: unknown) => ack(answer));
            } else {
                upstream.emit(event, rewritten);
            }
        });
        upstream.on('disconnect', () => client.disconnect(true));
        client.on('disconnect', () => {
            upstream.close();
            this.links.delete(link);
        });
    }

    /** Sends `event` to the named client as if the real server had sent it. */
    inject(to: string, event: string, payload: unknown): void {
        const link = [...this.links].find(candidate => candidate.name === to);
        if (!link) {
            throw new Error(`no client named '${to}'`);
        }
        this.seen.push({ to, event, payload });
        link.client.emit(event, payload);
    }

    /** The events of one kind a client was sent. */
    sent(to: string, event: string): unknown[] {
        return this.seen.filter(item => item.to === to && item.event === event).map(item => item.payload);
    }

    async close(): Promise<void> {
        for (const link of this.links) {
            link.upstream.close();
        }
        this.links.clear();
        await new Promise<void>(resolve => this.io.close(() => resolve()));
        this.httpServer.closeAllConnections?.();
    }
}

/** A real collab-server behind a malicious double, and clients that connect through the double. */
export class MaliciousServerFixture {
    readonly clients: CollaborationClient[] = [];
    readonly logger = new RecordingLogger();

    private constructor(readonly server: ServerHandle, readonly double: MaliciousServer) { }

    static async start(options: Partial<ServerOptions> = {}): Promise<MaliciousServerFixture> {
        const server = await startServer({
            hostname: '127.0.0.1',
            port: 0,
            logLevel: 'silent',
            loginRateLimit: { max: 10_000, windowMs: 60_000 },
            joinRateLimit: { max: 10_000, windowMs: 60_000 },
            ...options
        });
        return new MaliciousServerFixture(server, await MaliciousServer.start(server.url));
    }

    /** A client named `name` whose every event goes through the double. */
    async connect(name: string): Promise<CollaborationClient> {
        const { token } = await login(this.server.url, name);
        this.double.name(token, name);
        const client = await CollaborationClient.connect({ serverUrl: this.double.url, name, token, logger: this.logger, requestTimeout: 5000 });
        this.clients.push(client);
        return client;
    }

    /** What the clients logged that matches `pattern`. */
    logged(pattern: RegExp): string[] {
        return this.logger.records.filter(record => pattern.test(record.text)).map(record => record.text);
    }

    async waitLogged(pattern: RegExp, what: string): Promise<void> {
        await until(() => this.logged(pattern).length > 0, what);
    }

    async close(): Promise<void> {
        this.clients.splice(0).forEach(client => client.dispose());
        await this.double.close();
        await this.server.close();
    }
}
