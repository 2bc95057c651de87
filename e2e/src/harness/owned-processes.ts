import { ChildProcess, spawn, SpawnOptions } from 'child_process';
import { PARENT_PID_ENV } from './parent-watchdog';
import { withTimeout } from './wait';

/**
 * Node processes the harness starts that must not outlive the test process:
 * - each is a process group leader (`detached`, not on Windows), so stopping it also ends what it spawned;
 * - on exit, SIGINT and SIGTERM of the test process, every one still running gets SIGKILL (its whole group);
 * - for SIGKILL of the test process (no handler runs), each is started with the `parent-watchdog` preload.
 */
const running = new Set<ChildProcess>();
let hooked = false;

/** Starts `node <args>` (with the parent watchdog preloaded) as a process that ends with the test process. */
export function spawnOwnedNode(args: string[], options: SpawnOptions): ChildProcess {
    hookTestProcessEnd();
    const child = spawn(process.execPath, ['--require', require.resolve('./parent-watchdog'), ...args], {
        ...options,
        env: { ...(options.env ?? process.env), [PARENT_PID_ENV]: String(process.pid) },
        detached: process.platform !== 'win32'
    });
    if (child.pid !== undefined) {
        running.add(child);
        child.once('exit', () => running.delete(child));
    }
    return child;
}

/** SIGTERM to the process group of `child`, SIGKILL if it has not exited within 10 s, then SIGKILL to what is left of the group. */
export async function stopOwnedProcess(child: ChildProcess, exited: Promise<void>, what: string): Promise<void> {
    if (child.exitCode === null && child.signalCode === null) {
        signalGroup(child, 'SIGTERM');
        try {
            await withTimeout(exited, 10_000, `${what} to stop`);
        } catch {
            signalGroup(child, 'SIGKILL');
            await withTimeout(exited, 5_000, `${what} to be killed`).catch(() => undefined);
        }
    }
    // Whatever it left behind in its process group (terminal shells, helpers).
    signalGroup(child, 'SIGKILL');
    running.delete(child);
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
    try {
        if (child.pid !== undefined && process.platform !== 'win32') {
            process.kill(-child.pid, signal);
        } else {
            child.kill(signal);
        }
    } catch {
        // already gone
    }
}

function killAllNow(): void {
    for (const child of running) {
        signalGroup(child, 'SIGKILL');
    }
    running.clear();
}

function hookTestProcessEnd(): void {
    if (hooked) {
        return;
    }
    hooked = true;
    // Synchronous only: also runs on `process.exit()` (mocha --exit) and after an uncaught exception.
    process.on('exit', killAllNow);
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
        const onSignal = () => {
            killAllNow();
            if (process.listenerCount(signal) === 1) {
                // Ours is the only handler, and a handler replaces the default action: die of the signal as before.
                process.removeListener(signal, onSignal);
                process.kill(process.pid, signal);
            }
        };
        process.on(signal, onSignal);
    }
}
