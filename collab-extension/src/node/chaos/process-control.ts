/**
 * Chaos test support (Node only): real processes under test and a way to break the network between them.
 * - `startRedisProcess`: Debian's redis-server on a given loopback port (empty, or with an append-only file that
 *   survives `kill -9`), stopped by PID.
 * - `startCollabServerProcess`: the collab-server CLI (`bin/collab-server.js`) as a child process, its output kept,
 *   its exit recorded (so a test can tell a crash from a kill it caused).
 * - `FailoverProxy`: one loopback port in front of a client that forwards each TCP connection to the first of its
 *   targets that accepts (A, else B), and can cut its client off (drop every connection, refuse new ones) for a while.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

export const REDIS_SERVER = process.env.COLLAB_TEST_REDIS_SERVER ?? '/usr/bin/redis-server';
export const COLLAB_SERVER_CLI = path.resolve(__dirname, '..', '..', '..', '..', 'collab-server', 'bin', 'collab-server.js');

export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
            const { port } = server.address() as net.AddressInfo;
            server.close(() => resolve(port));
        });
    });
}

export function sleep(ms: number): Promise<void> {
    return new Promise(resolve => setTimeout(resolve, ms));
}

function portOpen(port: number): Promise<boolean> {
    return new Promise(resolve => {
        const socket = net.connect(port, '127.0.0.1');
        socket.once('connect', () => { socket.destroy(); resolve(true); });
        socket.once('error', () => resolve(false));
    });
}

function hasExited(child: ChildProcess): boolean {
    return child.exitCode !== null || child.signalCode !== null;
}

function exited(child: ChildProcess, timeoutMs: number): Promise<boolean> {
    if (hasExited(child)) {
        return Promise.resolve(true);
    }
    return new Promise(resolve => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        child.once('exit', () => { clearTimeout(timer); resolve(true); });
    });
}

/** Sends `signal` to `pid` (no error when it is gone already). */
function signal(pid: number | undefined, name: NodeJS.Signals): void {
    if (pid === undefined) {
        return;
    }
    try {
        process.kill(pid, name);
    } catch {
        // gone already
    }
}

/** A child process under test: its recent output, how it ended, and stop/kill by PID. */
export class ManagedProcess {
    readonly output: string[] = [];
    /** Set when the process exited; `expected` when this side killed or stopped it. */
    exit?: { code: number | null; signal: NodeJS.Signals | null; expected: boolean; at: number };
    protected stopping = false;

    constructor(readonly name: string, readonly child: ChildProcess, protected readonly keepLines = 5000) {
        const collect = (chunk: Buffer) => {
            for (const line of chunk.toString('utf8').split('\n')) {
                if (line.trim()) {
                    this.output.push(line);
                }
            }
            if (this.output.length > this.keepLines) {
                this.output.splice(0, this.output.length - this.keepLines);
            }
        };
        child.stdout?.on('data', collect);
        child.stderr?.on('data', collect);
        child.on('exit', (code, sig) => {
            this.exit = { code, signal: sig, expected: this.stopping, at: Date.now() };
        });
    }

    get pid(): number | undefined {
        return this.child.pid;
    }

    get running(): boolean {
        return !hasExited(this.child);
    }

    /** kill -9, as a crash or an OOM kill would. Resolves once it is gone. */
    async kill9(): Promise<void> {
        this.stopping = true;
        signal(this.pid, 'SIGKILL');
        await exited(this.child, 10_000);
    }

    /** SIGTERM, then SIGKILL after `graceMs`. Idempotent; resolves once it is gone. */
    async stop(graceMs = 5000): Promise<void> {
        this.stopping = true;
        if (!this.running) {
            return;
        }
        signal(this.pid, 'SIGTERM');
        if (!await exited(this.child, graceMs)) {
            signal(this.pid, 'SIGKILL');
            await exited(this.child, 5000);
        }
    }

    /** Waits until `port` accepts connections (or the process ended: then throws with its output). */
    async waitForPort(port: number, timeoutMs = 15_000): Promise<void> {
        const deadline = Date.now() + timeoutMs;
        while (Date.now() < deadline) {
            if (!this.running) {
                throw new Error(`${this.name} exited (${this.child.exitCode ?? this.child.signalCode}) before listening on ${port}:\n${this.output.slice(-20).join('\n')}`);
            }
            if (await portOpen(port)) {
                return;
            }
            await sleep(50);
        }
        await this.stop();
        throw new Error(`${this.name} did not listen on port ${port} within ${timeoutMs} ms:\n${this.output.slice(-20).join('\n')}`);
    }
}

export interface RedisOptions {
    port: number;
    /** Folder of the append-only file; with it, what was written survives kill -9 (appendfsync always). Without: empty. */
    persistDir?: string;
}

export async function startRedisProcess(options: RedisOptions): Promise<ManagedProcess> {
    if (!fs.existsSync(REDIS_SERVER)) {
        throw new Error(`redis-server not found at ${REDIS_SERVER}: install the Debian package redis-server (scripts/setup.sh with SETUP_TEST_PACKAGES=1) or set COLLAB_TEST_REDIS_SERVER`);
    }
    const dir = options.persistDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'collab-chaos-redis-'));
    const persistence = options.persistDir
        ? ['--appendonly', 'yes', '--appendfsync', 'always']
        : ['--appendonly', 'no'];
    const child = spawn(REDIS_SERVER, [
        '--port', String(options.port), '--bind', '127.0.0.1', '--save', '', ...persistence,
        '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning', '--protected-mode', 'yes'
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    const managed = new ManagedProcess(`redis-server:${options.port}`, child, 100);
    await managed.waitForPort(options.port);
    return managed;
}

export interface CollabServerOptions {
    name: string;
    port: number;
    redisUrl: string;
    configFile: string;
    secret: string;
}

/** The environment without COLLAB_* settings of the caller: the config file decides. */
function cleanEnv(): NodeJS.ProcessEnv {
    return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('COLLAB_')));
}

/** The real CLI: `node collab-server/bin/collab-server.js --port P --hostname 127.0.0.1 --redis URL --config FILE`. */
export async function startCollabServerProcess(options: CollabServerOptions): Promise<ManagedProcess> {
    const child = spawn(process.execPath, [
        COLLAB_SERVER_CLI, '--port', String(options.port), '--hostname', '127.0.0.1', '--redis', options.redisUrl, '--config', options.configFile
    ], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...cleanEnv(), COLLAB_SECRET: options.secret }
    });
    const managed = new ManagedProcess(options.name, child);
    await managed.waitForPort(options.port);
    return managed;
}

/** GET /health of a server: its status code, or 0 when it does not answer within 3 s. */
export async function health(port: number): Promise<number> {
    try {
        const response = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(3000) });
        await response.text();
        return response.status;
    } catch {
        return 0;
    }
}

/**
 * A TCP proxy on a loopback port for one client. Every new connection goes to the first target port that accepts
 * (so the client reaches A while A is up, and B when A is down); `cut(ms)` drops the client's connections and refuses
 * new ones for `ms`, as a network outage on the client's side would.
 */
export class FailoverProxy {
    protected readonly server = net.createServer(socket => this.accept(socket));
    protected readonly pairs = new Set<{ client: net.Socket; upstream?: net.Socket }>();
    protected cutUntil = 0;
    /** Where each accepted connection went (a target port, or 0 when refused). */
    readonly routed: number[] = [];
    port = 0;

    constructor(readonly name: string, protected readonly targets: () => number[]) { }

    async listen(): Promise<void> {
        await new Promise<void>((resolve, reject) => {
            this.server.once('error', reject);
            this.server.listen(0, '127.0.0.1', () => resolve());
        });
        this.port = (this.server.address() as net.AddressInfo).port;
    }

    get url(): string {
        return `http://127.0.0.1:${this.port}`;
    }

    get cut(): boolean {
        return Date.now() < this.cutUntil;
    }

    /** Drops every connection now and refuses new ones for `ms`. */
    cutFor(ms: number): void {
        this.cutUntil = Date.now() + ms;
        this.dropAll();
    }

    dropAll(): void {
        for (const pair of this.pairs) {
            pair.client.destroy();
            pair.upstream?.destroy();
        }
        this.pairs.clear();
    }

    async close(): Promise<void> {
        this.dropAll();
        await new Promise<void>(resolve => this.server.close(() => resolve()));
    }

    protected accept(client: net.Socket): void {
        if (this.cut) {
            this.routed.push(0);
            client.destroy();
            return;
        }
        const pair: { client: net.Socket; upstream?: net.Socket } = { client };
        this.pairs.add(pair);
        client.pause();
        const drop = () => {
            client.destroy();
            pair.upstream?.destroy();
            this.pairs.delete(pair);
        };
        client.on('error', drop);
        client.on('close', drop);
        const targets = this.targets();
        const tryTarget = (index: number) => {
            if (client.destroyed) {
                return;
            }
            if (index >= targets.length) {
                this.routed.push(0);
                drop();
                return;
            }
            const upstream = net.connect(targets[index], '127.0.0.1');
            const failed = () => { upstream.destroy(); tryTarget(index + 1); };
            upstream.once('error', failed);
            upstream.once('connect', () => {
                upstream.removeListener('error', failed);
                if (client.destroyed) {
                    upstream.destroy();
                    return;
                }
                this.routed.push(targets[index]);
                pair.upstream = upstream;
                upstream.on('error', drop);
                upstream.on('close', drop);
                client.pipe(upstream);
                upstream.pipe(client);
                client.resume();
            });
        };
        tryTarget(0);
    }
}
