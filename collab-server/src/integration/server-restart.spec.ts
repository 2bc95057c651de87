/**
 * The server goes away under a running session. With Redis (shared state) a restarted instance takes
 * everyone back and the session goes on; alone (in memory) the room is gone, and every client ends with
 * a clear "session ended", never a hang. Graceful stops and crashes (SIGKILL of a real server process).
 */
import * as assert from 'assert';
import { ChildProcess, spawn } from 'child_process';
import * as crypto from 'crypto';
import * as path from 'path';
import type { CollaborationClient } from '@theia-collab/protocol/lib/client';
import type { CollaborationSession, SessionClosed } from '@theia-collab/protocol/lib/session';
import type { ServerOptions } from '../config';
import { freePort, startRedis, TestRedis } from '../redis-test-support';
import { ServerHandle, startServer } from '../server';
import { connectClient, freshChars, GuestDoc, HostDoc, prng } from './reliability-fixture';
import { delay, next, RecordingLogger, until } from './session-fixture';

const BIN = path.join(__dirname, '..', '..', 'bin', 'collab-server.js');

/** A real server process (so that it can be killed without any chance to clean up). */
class ServerProcess {
    private output = '';
    private constructor(readonly child: ChildProcess) {
        child.stdout!.on('data', chunk => this.output = (this.output + chunk).slice(-20_000));
        child.stderr!.on('data', chunk => this.output = (this.output + chunk).slice(-20_000));
    }

    static async start(port: number, env: Record<string, string>): Promise<ServerProcess> {
        const child = spawn(process.execPath, [BIN, '--port', String(port), '--log-level', 'info',
            '--login-rate', '10000/1m', '--join-rate', '10000/1m', '--event-rate', '100000/1s'], {
            env: { PATH: process.env.PATH ?? '', ...env },
            stdio: ['ignore', 'pipe', 'pipe']
        });
        const server = new ServerProcess(child);
        const deadline = Date.now() + 30_000;
        while (!server.output.includes('collab-server listening')) {
            if (Date.now() > deadline || child.exitCode !== null) {
                child.kill('SIGKILL');
                throw new Error(`the server process did not start: ${server.output}`);
            }
            await delay(20);
        }
        return server;
    }

    get log(): string {
        return this.output;
    }

    async kill(): Promise<void> {
        if (this.child.exitCode === null && this.child.signalCode === null) {
            const exited = new Promise(resolve => this.child.once('exit', resolve));
            this.child.kill('SIGKILL');
            await exited;
        }
    }
}

describe('server restarts under a running session', function () {
    this.timeout(90_000);
    const secret = crypto.randomBytes(32).toString('base64url');
    const logger = new RecordingLogger();
    const clients: CollaborationClient[] = [];
    const servers: ServerHandle[] = [];
    const processes: ServerProcess[] = [];
    const toDispose: { dispose(): void }[] = [];

    afterEach(async function () {
        if (this.currentTest?.state === 'failed') {
            console.log(logger.records.slice(-30).map(record => `      ${record.level}: ${record.text}`).join('\n'));
            processes.forEach(server => console.log(server.log.slice(-3000)));
        }
        toDispose.splice(0).forEach(d => d.dispose());
        clients.splice(0).forEach(client => client.dispose());
        await Promise.all(processes.splice(0).map(server => server.kill()));
        await Promise.all(servers.splice(0).map(server => server.close()));
    });

    async function inProcess(port: number, options: Partial<ServerOptions> = {}): Promise<ServerHandle> {
        const server = await startServer({
            hostname: '127.0.0.1', port, logLevel: 'silent', secret,
            loginRateLimit: { max: 10_000, windowMs: 60_000 }, joinRateLimit: { max: 10_000, windowMs: 60_000 },
            socketEventRateLimit: { max: 100_000, windowMs: 1000 }, ...options
        });
        servers.push(server);
        return server;
    }

    async function session(url: string, guestCount: number): Promise<{ host: CollaborationSession; guests: CollaborationSession[] }> {
        const hostClient = await connectClient(url, 'Host', logger);
        clients.push(hostClient);
        const host = await hostClient.createSession();
        const admitting = host.onJoinRequest(request => request.admit('readwrite').catch(() => undefined));
        const guests: CollaborationSession[] = [];
        for (let i = 0; i < guestCount; i++) {
            const client = await connectClient(url, `Guest ${i + 1}`, logger);
            clients.push(client);
            guests.push(await client.joinSession(host.invite!.code));
        }
        admitting.dispose();
        await until(() => [host, ...guests].every(s => s.peers.length === guestCount + 1), 'everyone sees everyone');
        return { host, guests };
    }

    /** Everyone types for `ms` while `during` runs; then the documents must converge with nothing lost. */
    async function typeAndConverge(host: CollaborationSession, guests: CollaborationSession[], ms: number, during: () => Promise<void>): Promise<void> {
        const hostDoc = new HostDoc(host);
        const guestDocs = guests.map(guest => new GuestDoc(guest));
        toDispose.push(hostDoc, ...guestDocs);
        await Promise.all(guestDocs.map(doc => doc.sync()));
        const docs = [hostDoc, ...guestDocs];
        const random = prng(4242);
        const fresh = freshChars();
        let typing = true;
        const typists = docs.map(async doc => {
            while (typing) {
                doc.type(random, fresh);
                await delay(3 + Math.floor(random() * 8));
            }
        });
        const stop = delay(ms).then(() => { typing = false; });
        await during();
        await stop;
        await Promise.all(typists);
        await until(() => docs.every(doc => doc.value === hostDoc.value), 'the documents converge', 30_000);
        const inserted = new Set<string>();
        const deleted = new Set<string>();
        docs.forEach(doc => {
            doc.inserted.forEach(char => inserted.add(char));
            doc.deleted.forEach(char => deleted.add(char));
        });
        assert.deepStrictEqual([...hostDoc.value].sort(), [...inserted].filter(char => !deleted.has(char)).sort(), 'nothing typed is lost');
    }

    function closedEvents(sessions: CollaborationSession[], timeoutMs: number): Promise<SessionClosed[]> {
        return Promise.all(sessions.map(s => next(s.onClose, () => true, timeoutMs)));
    }

    describe('without Redis', () => {
        it('a graceful stop tells every client: sessions end with "shutdown" and a message', async () => {
            const server = await inProcess(0);
            const { host, guests } = await session(server.url, 2);
            const closed = closedEvents([host, ...guests], 10_000);
            const started = Date.now();
            await server.close();
            for (const event of await closed) {
                assert.strictEqual(event.reason, 'shutdown');
                assert.match(event.message, /shutting down/);
            }
            assert.ok(Date.now() - started < 10_000, 'no hang');
        });

        it('after a crash and a restart the room is gone: clients end with room-closed and a human message', async () => {
            const port = await freePort();
            const first = await ServerProcess.start(port, { COLLAB_SECRET: secret });
            processes.push(first);
            const { host, guests } = await session(`http://127.0.0.1:${port}`, 2);
            const reconnecting = Promise.all([host, ...guests].map(s => next(s.onDidChangeConnection, state => state === 'reconnecting', 5000)));
            const closed = closedEvents([host, ...guests], 20_000);
            await first.kill();
            await reconnecting;
            processes.push(await ServerProcess.start(port, { COLLAB_SECRET: secret }));
            for (const event of await closed) {
                assert.strictEqual(event.reason, 'shutdown');
                assert.match(event.message, /no longer exists on the collaboration server/);
            }
        });

        it('after a crash and a restart with another secret: clients end with a message, not a hang', async () => {
            const port = await freePort();
            const first = await ServerProcess.start(port, { COLLAB_SECRET: secret });
            processes.push(first);
            const { host, guests } = await session(`http://127.0.0.1:${port}`, 1);
            const closed = closedEvents([host, ...guests], 20_000);
            await first.kill();
            processes.push(await ServerProcess.start(port, { COLLAB_SECRET: crypto.randomBytes(32).toString('base64url') }));
            for (const event of await closed) {
                assert.strictEqual(event.reason, 'disconnected');
                assert.match(event.message, /could not be resumed/);
            }
        });
    });

    describe('with Redis', () => {
        let redis: TestRedis;
        let prefixes = 0;

        before(async () => {
            redis = await startRedis();
        });

        after(async () => {
            await redis?.stop();
        });

        it('a graceful restart: everyone reconnects and the session goes on, nothing typed is lost', async () => {
            const port = await freePort();
            const prefix = `restart${++prefixes}:`;
            const first = await inProcess(port, { redisUrl: redis.url, redisPrefix: prefix });
            const { host, guests } = await session(first.url, 2);
            const closed: SessionClosed[] = [];
            [host, ...guests].forEach(s => s.onClose(event => closed.push(event)));
            await typeAndConverge(host, guests, 3000, async () => {
                await delay(500);
                const back = Promise.all([host, ...guests].map(s => next(s.onDidChangeConnection, state => state === 'connected', 20_000)));
                await first.close();
                servers.splice(servers.indexOf(first), 1);
                await inProcess(port, { redisUrl: redis.url, redisPrefix: prefix });
                await back;
            });
            assert.deepStrictEqual(closed, []);
            assert.deepStrictEqual(guests.map(guest => guest.peers.length), [3, 3]);
        });

        it('a crash (SIGKILL) and a restart: everyone reconnects and the session goes on, nothing typed is lost', async () => {
            const port = await freePort();
            const env = { COLLAB_SECRET: secret, COLLAB_REDIS_URL: redis.url, COLLAB_REDIS_PREFIX: `crash${++prefixes}:` };
            const first = await ServerProcess.start(port, env);
            processes.push(first);
            const { host, guests } = await session(`http://127.0.0.1:${port}`, 2);
            const closed: SessionClosed[] = [];
            [host, ...guests].forEach(s => s.onClose(event => closed.push(event)));
            await typeAndConverge(host, guests, 3000, async () => {
                await delay(500);
                const back = Promise.all([host, ...guests].map(s => next(s.onDidChangeConnection, state => state === 'connected', 20_000)));
                await first.kill();
                processes.push(await ServerProcess.start(port, env));
                await back;
            });
            assert.deepStrictEqual(closed, []);
        });
    });
});
