/**
 * Starting the servers under test as child processes: the collab-server (its real CLI), the bare
 * socket.io baseline, the y-websocket baseline, and redis-server. Every server process is started with
 * the gc hook, so `collectGarbage(pid)` works on it.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BENCH_LIB, Child, freePort, REPO_ROOT, spawnNode, spawnProgram, waitForPort } from './proc';

export interface RunningServer {
    readonly name: string;
    readonly url: string;
    readonly port: number;
    readonly pid: number;
    readonly child: Child;
    stop(): Promise<void>;
}

const GC_ARGS = ['--expose-gc', '-r', path.join(BENCH_LIB, 'servers', 'gc-hook.js')];
/** BENCH_COLLAB_ROOT: another checkout (with built collab-server/lib) whose server to measure, e.g. a snapshot of a commit. */
export const COLLAB_ROOT = process.env.BENCH_COLLAB_ROOT ?? REPO_ROOT;
const COLLAB_CLI = path.join(COLLAB_ROOT, 'collab-server', 'bin', 'collab-server.js');

/** Limits a benchmark must lift: per-address login/join limits (all clients share 127.0.0.1) and per-socket rates. */
export const BENCH_SERVER_CONFIG = {
    loginRateLimit: { max: 1_000_000, windowMs: 1000 },
    joinRateLimit: { max: 1_000_000, windowMs: 1000 },
    socketEventRateLimit: { max: 1_000_000, windowMs: 1000 },
    socketByteRateLimit: { max: 10_000_000_000, windowMs: 1000 },
    /** Every load client connects from 127.0.0.1. */
    maxConnectionsPerAddress: 1_000_000,
    logLevel: 'warn'
};

export async function startCollabServer(options: { name?: string; config?: Record<string, unknown>; env?: Record<string, string> } = {}): Promise<RunningServer> {
    const port = await freePort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collab-bench-'));
    const configFile = path.join(dir, 'config.json');
    fs.writeFileSync(configFile, JSON.stringify({ ...BENCH_SERVER_CONFIG, ...options.config }));
    const name = options.name ?? 'collab-server';
    const child = spawnNode(name, COLLAB_CLI, ['--port', String(port), '--config', configFile], {
        nodeArgs: GC_ARGS,
        cwd: REPO_ROOT,
        env: { ...process.env, COLLAB_SECRET: 'bench-secret-bench-secret-bench-secret-0123', ...options.env }
    });
    try {
        await waitForPort(port, child);
    } catch (error) {
        await child.stop();
        throw error;
    }
    return serverHandle(name, port, child, () => fs.rmSync(dir, { recursive: true, force: true }));
}

export async function startBareServer(name = 'bare socket.io'): Promise<RunningServer> {
    const port = await freePort();
    const child = spawnNode(name, path.join(BENCH_LIB, 'servers', 'bare-socketio.js'), [String(port)], { nodeArgs: GC_ARGS, cwd: REPO_ROOT });
    await waitForPort(port, child);
    return serverHandle(name, port, child);
}

export async function startYWebsocketServer(name = 'y-websocket'): Promise<RunningServer> {
    const port = await freePort();
    const child = spawnNode(name, path.join(BENCH_LIB, 'servers', 'y-websocket.js'), [String(port)], { nodeArgs: GC_ARGS, cwd: REPO_ROOT });
    await waitForPort(port, child);
    return serverHandle(name, port, child);
}

export const REDIS_SERVER = '/usr/bin/redis-server';

export async function startRedis(): Promise<RunningServer> {
    const port = await freePort();
    const child = spawnProgram('redis-server', REDIS_SERVER, [
        '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes', '--loglevel', 'warning'
    ]);
    await waitForPort(port, child);
    const handle = serverHandle('redis-server', port, child);
    return { ...handle, url: `redis://127.0.0.1:${port}` };
}

function serverHandle(name: string, port: number, child: Child, cleanup?: () => void): RunningServer {
    return {
        name,
        url: `http://127.0.0.1:${port}`,
        port,
        pid: child.pid,
        child,
        async stop() {
            await child.stop();
            cleanup?.();
        }
    };
}
