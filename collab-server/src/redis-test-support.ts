/**
 * Test helper (used by *.spec.ts only): a real, throwaway `redis-server` on a free loopback port,
 * without persistence. CI installs Debian's `redis-server` package (scripts/setup.sh), which puts
 * the binary at /usr/bin/redis-server; COLLAB_TEST_REDIS_SERVER overrides the path.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

export const REDIS_SERVER = process.env.COLLAB_TEST_REDIS_SERVER ?? '/usr/bin/redis-server';

export interface TestRedis {
    readonly url: string;
    readonly port: number;
    /** The running redis-server's process id (it changes with `restart`). */
    readonly pid: number | undefined;
    /** Stops the server (SIGTERM, then SIGKILL after 5 s) and removes its folder. Idempotent. */
    stop(): Promise<void>;
    /** Kills the server at once (SIGKILL, no chance to save anything), as a crash would. */
    kill(): Promise<void>;
    /** Starts it again on the same port (and folder: with `persistent`, it reloads what it had written). */
    restart(): Promise<void>;
}

export interface TestRedisOptions {
    /** Append-only file, fsync'ed on every write: a restart after `kill` keeps every write. Default: no persistence. */
    persistent?: boolean;
}

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

function exited(child: ChildProcess): Promise<void> {
    return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise(resolve => child.once('exit', () => resolve()));
}

async function startOnce(port: number, dir: string, persistent = false): Promise<ChildProcess> {
    const child = spawn(REDIS_SERVER, [
        '--port', String(port), '--bind', '127.0.0.1', '--save', '',
        ...persistent ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'],
        '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning'
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', chunk => stderr = (stderr + chunk).slice(-2000));
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
        if (child.exitCode !== null || child.signalCode !== null) {
            throw new Error(`redis-server exited (${child.exitCode ?? child.signalCode}): ${stderr.trim()}`);
        }
        const up = await new Promise<boolean>(resolve => {
            const socket = net.connect(port, '127.0.0.1');
            socket.once('connect', () => { socket.destroy(); resolve(true); });
            socket.once('error', () => resolve(false));
        });
        if (up) {
            return child;
        }
        await new Promise(resolve => setTimeout(resolve, 50));
    }
    child.kill('SIGKILL');
    throw new Error(`redis-server did not listen on port ${port} within 10 s: ${stderr.trim()}`);
}

export async function startRedis(options: TestRedisOptions = {}): Promise<TestRedis> {
    if (!fs.existsSync(REDIS_SERVER)) {
        throw new Error(`redis-server not found at ${REDIS_SERVER}: install the Debian package redis-server (CI: scripts/setup.sh with SETUP_TEST_PACKAGES=1) or set COLLAB_TEST_REDIS_SERVER`);
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collab-redis-'));
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
        const port = await freePort();
        let child: ChildProcess;
        try {
            child = await startOnce(port, dir, options.persistent);
        } catch (error) {
            lastError = error;
            continue;
        }
        let stopping: Promise<void> | undefined;
        return {
            url: `redis://127.0.0.1:${port}`,
            port,
            get pid() {
                return child.exitCode === null && child.signalCode === null ? child.pid : undefined;
            },
            stop: () => stopping ??= (async () => {
                child.kill('SIGTERM');
                const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
                await exited(child);
                clearTimeout(timer);
                fs.rmSync(dir, { recursive: true, force: true });
            })(),
            kill: async () => {
                child.kill('SIGKILL');
                await exited(child);
            },
            restart: async () => {
                if (stopping) {
                    throw new Error('redis-server was stopped');
                }
                if (child.exitCode === null && child.signalCode === null) {
                    throw new Error('redis-server is still running');
                }
                // The port was just ours: another process taking it meanwhile is unlikely; retry briefly if it lingers.
                let error: unknown;
                for (let attempt = 0; attempt < 20; attempt++) {
                    try {
                        child = await startOnce(port, dir, options.persistent);
                        return;
                    } catch (failure) {
                        error = failure;
                        await new Promise(resolve => setTimeout(resolve, 100));
                    }
                }
                throw error;
            }
        };
    }
    fs.rmSync(dir, { recursive: true, force: true });
    throw lastError;
}

export const REDIS_CLI = process.env.COLLAB_TEST_REDIS_CLI ?? path.join(path.dirname(REDIS_SERVER), 'redis-cli');

export interface TestRedisCluster {
    /** One URL per primary (`redisCluster` option). */
    readonly urls: string[];
    readonly ports: number[];
    /** The redis-server processes' ids, in `ports` order. */
    readonly pids: (number | undefined)[];
    /** Stops every node (SIGTERM, then SIGKILL after 5 s, by process id) and removes the folder. Idempotent. */
    stop(): Promise<void>;
}

function run(command: string, args: string[], timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
        const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        let output = '';
        child.stdout!.on('data', chunk => output = (output + chunk).slice(-4000));
        child.stderr!.on('data', chunk => output = (output + chunk).slice(-4000));
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        child.once('error', error => { clearTimeout(timer); reject(error); });
        child.once('exit', (code, signal) => {
            clearTimeout(timer);
            code === 0 ? resolve(output) : reject(new Error(`${path.basename(command)} ${args.join(' ')} failed (${code ?? signal}): ${output.trim()}`));
        });
    });
}

/**
 * A throwaway Redis Cluster of `nodes` primaries without replicas (`--cluster-enabled yes`, created with
 * `redis-cli --cluster create`), on free loopback ports, without persistence. Resolves once every slot is served.
 */
export async function startRedisCluster(nodes = 3): Promise<TestRedisCluster> {
    for (const binary of [REDIS_SERVER, REDIS_CLI]) {
        if (!fs.existsSync(binary)) {
            throw new Error(`${binary} not found: install the Debian packages redis-server and redis-tools (CI: scripts/setup.sh with SETUP_TEST_PACKAGES=1)`);
        }
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collab-redis-cluster-'));
    const children: ChildProcess[] = [];
    const ports: number[] = [];
    let stopping: Promise<void> | undefined;
    const stop = () => stopping ??= (async () => {
        await Promise.all(children.map(async child => {
            if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
                process.kill(child.pid, 'SIGTERM');
            }
            const timer = setTimeout(() => child.pid !== undefined && child.exitCode === null && child.signalCode === null && process.kill(child.pid, 'SIGKILL'), 5000);
            await exited(child);
            clearTimeout(timer);
        }));
        fs.rmSync(dir, { recursive: true, force: true });
    })();
    try {
        for (let i = 0; i < nodes; i++) {
            let started: ChildProcess | undefined;
            let lastError: unknown;
            for (let attempt = 0; attempt < 3 && !started; attempt++) {
                const port = await freePort();
                // The cluster bus listens on port + 10000: it must be free too.
                if (port + 10000 > 65535) {
                    continue;
                }
                try {
                    const child = spawn(REDIS_SERVER, [
                        '--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes',
                        '--cluster-config-file', path.join(dir, `nodes-${port}.conf`), '--save', '', '--appendonly', 'no',
                        '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning'
                    ], { stdio: ['ignore', 'ignore', 'pipe'] });
                    children.push(child);
                    await waitListening(child, port);
                    started = child;
                    ports.push(port);
                } catch (error) {
                    lastError = error;
                }
            }
            if (!started) {
                throw lastError ?? new Error('no free port for a cluster node');
            }
        }
        await run(REDIS_CLI, ['--cluster', 'create', ...ports.map(port => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes'], 30_000);
        // `create` returns once the slots are assigned; wait until every node knows every other and serves the cluster
        // (a node with an older view would answer MOVED to a node that does not hold the slot yet).
        const deadline = Date.now() + 15_000;
        const agreed = (info: string) => info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${nodes}`)
            && info.includes('cluster_slots_ok:16384');
        for (const port of ports) {
            while (!agreed(await run(REDIS_CLI, ['-p', String(port), 'cluster', 'info'], 5000))) {
                if (Date.now() > deadline) {
                    throw new Error(`Redis Cluster node ${port} did not report cluster_state:ok with every node and slot within 15 s`);
                }
                await new Promise(resolve => setTimeout(resolve, 100));
            }
        }
        // And every node maps every slot to the same primaries.
        while (new Set(await Promise.all(ports.map(async port => (await run(REDIS_CLI, ['-p', String(port), 'cluster', 'slots'], 5000)).split('\n').sort().join('\n')))).size > 1) {
            if (Date.now() > deadline) {
                throw new Error('the Redis Cluster nodes did not agree on the slots within 15 s');
            }
            await new Promise(resolve => setTimeout(resolve, 100));
        }
    } catch (error) {
        await stop();
        throw error;
    }
    return {
        urls: ports.map(port => `redis://127.0.0.1:${port}`),
        ports,
        get pids() {
            return children.map(child => child.exitCode === null && child.signalCode === null ? child.pid : undefined);
        },
        stop
    };
}

async function waitListening(child: ChildProcess, port: number): Promise<void> {
    let stderr = '';
    child.stderr!.on('data', chunk => stderr = (stderr + chunk).slice(-2000));
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
        if (child.exitCode !== null || child.signalCode !== null) {
            throw new Error(`redis-server exited (${child.exitCode ?? child.signalCode}): ${stderr.trim()}`);
        }
        const up = await new Promise<boolean>(resolve => {
            const socket = net.connect(port, '127.0.0.1');
            socket.once('connect', () => { socket.destroy(); resolve(true); });
            socket.once('error', () => resolve(false));
        });
        if (up) {
            return;
        }
        await new Promise(resolve => setTimeout(resolve, 50));
    }
    if (child.pid !== undefined) {
        process.kill(child.pid, 'SIGKILL');
    }
    throw new Error(`redis-server did not listen on port ${port} within 10 s: ${stderr.trim()}`);
}
