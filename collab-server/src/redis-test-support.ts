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
