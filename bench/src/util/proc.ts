/**
 * Child processes a benchmark starts (servers, load generators): started here, tracked, and always
 * stopped again (also when the benchmark fails or is interrupted). Plus /proc readings of a pid.
 */
import { ChildProcess, fork, ForkOptions, spawn, SpawnOptions } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { sleep, withTimeout } from './time';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const BENCH_LIB = path.resolve(__dirname, '..');

const children = new Set<ChildProcess>();
let hooked = false;

function hookExit(): void {
    if (hooked) {
        return;
    }
    hooked = true;
    const killAll = () => {
        for (const child of children) {
            if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
                try {
                    process.kill(child.pid, 'SIGKILL');
                } catch {
                    // gone
                }
            }
        }
    };
    process.on('exit', killAll);
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
        process.once(signal, () => {
            killAll();
            process.exit(130);
        });
    }
}

export interface Child {
    readonly process: ChildProcess;
    readonly pid: number;
    readonly name: string;
    output(): string;
    readonly exited: Promise<void>;
    stop(timeoutMs?: number): Promise<void>;
}

function track(name: string, child: ChildProcess): Child {
    hookExit();
    children.add(child);
    let output = '';
    const collect = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.length > 200_000) {
            output = output.slice(-100_000);
        }
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const exited = new Promise<void>(resolve => child.once('exit', () => {
        children.delete(child);
        resolve();
    }));
    return {
        process: child,
        pid: child.pid!,
        name,
        output: () => output,
        exited,
        async stop(timeoutMs = 5000) {
            if (child.exitCode !== null || child.signalCode !== null) {
                return;
            }
            child.kill('SIGTERM');
            try {
                await withTimeout(exited, timeoutMs, `${name} to stop`);
            } catch {
                child.kill('SIGKILL');
                await withTimeout(exited, 5000, `${name} to be killed`).catch(() => undefined);
            }
        }
    };
}

/** A node script as a child process (stdout/stderr collected). `nodeArgs` go before the script. */
export function spawnNode(name: string, script: string, args: string[] = [], options: SpawnOptions & { nodeArgs?: string[] } = {}): Child {
    const { nodeArgs = [], ...rest } = options;
    const child = spawn(process.execPath, [...nodeArgs, script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...rest });
    return track(name, child);
}

/** A node script with an IPC channel. */
export function forkNode(name: string, script: string, args: string[] = [], options: ForkOptions = {}): Child {
    const child = fork(script, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], ...options });
    return track(name, child);
}

export function spawnProgram(name: string, command: string, args: string[], options: SpawnOptions = {}): Child {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    return track(name, child);
}

/** Resident set size of a process, in KiB (VmRSS of /proc/<pid>/status). */
export function rssKiB(pid: number): number {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    if (!match) {
        throw new Error(`no VmRSS for ${pid}`);
    }
    return Number(match[1]);
}

const CLOCK_TICKS = 100;

/** User + system CPU time of a process so far, in milliseconds. */
export function cpuMs(pid: number): number {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command: state(0) ppid(1) ... utime(11) stime(12)
    return (Number(fields[11]) + Number(fields[12])) * 1000 / CLOCK_TICKS;
}

/** Time the main thread of a process spent runnable but waiting for a CPU, so far, in ms (/proc/<pid>/schedstat). */
export function runDelayMs(pid: number): number {
    const fields = fs.readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(/\s+/);
    return Number(fields[1]) / 1e6;
}

/** The nice value of this process's autogroup (scheduling priority of its session), or 0. */
export function autogroupNice(pid: number | 'self' = 'self'): number {
    try {
        const match = /nice\s+(-?\d+)/.exec(fs.readFileSync(`/proc/${pid}/autogroup`, 'utf8'));
        return match ? Number(match[1]) : 0;
    } catch {
        return 0;
    }
}

/** Every process below `root` (children, grandchildren, ...), by walking /proc. */
export function descendants(root = process.pid): number[] {
    const children = new Map<number, number[]>();
    for (const entry of fs.readdirSync('/proc')) {
        if (!/^\d+$/.test(entry)) {
            continue;
        }
        try {
            const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
            const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
            const list = children.get(ppid) ?? [];
            list.push(Number(entry));
            children.set(ppid, list);
        } catch {
            // exited meanwhile
        }
    }
    const result: number[] = [];
    const stack = [...(children.get(root) ?? [])];
    while (stack.length) {
        const pid = stack.pop()!;
        result.push(pid);
        stack.push(...(children.get(pid) ?? []));
    }
    return result;
}

/** CPU time all processes of the machine used so far (busy, not idle/iowait), in milliseconds. */
export function machineBusyMs(): number {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const [user, nice, system, _idle, _iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
    return (user + nice + system + irq + softirq + steal) * 1000 / CLOCK_TICKS;
}

export function loadAverage(): number[] {
    return fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
}

/** Measures a process's CPU use over an interval: call start(), later stop() -> percent of one core. */
export class CpuMeter {
    protected startCpu = 0;
    protected startAt = 0;
    constructor(readonly pid: number) { }
    start(): void {
        this.startCpu = cpuMs(this.pid);
        this.startAt = Date.now();
    }
    /** [cpu ms used, percent of one core] */
    stop(): { cpuMs: number; percent: number } {
        const used = cpuMs(this.pid) - this.startCpu;
        const elapsed = Date.now() - this.startAt;
        return { cpuMs: used, percent: elapsed > 0 ? Math.round(used / elapsed * 1000) / 10 : NaN };
    }
}

/** A TCP port that was free on 127.0.0.1 a moment ago (the e2e harness's). */
export { freePort } from '../../../e2e/lib/harness/wait';

/** Waits until something accepts TCP connections on 127.0.0.1:port. */
export async function waitForPort(port: number, child: Child, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
        if (child.process.exitCode !== null) {
            throw new Error(`${child.name} exited with ${child.process.exitCode}:\n${child.output().slice(-3000)}`);
        }
        const open = await new Promise<boolean>(resolve => {
            const socket = net.connect(port, '127.0.0.1');
            socket.once('connect', () => { socket.destroy(); resolve(true); });
            socket.once('error', () => resolve(false));
        });
        if (open) {
            return;
        }
        await sleep(50);
    }
    throw new Error(`${child.name} did not listen on ${port} within ${ms} ms:\n${child.output().slice(-3000)}`);
}

/** Asks a server started with the gc hook to collect garbage, then waits for it to settle. */
export async function collectGarbage(pid: number, settleMs = 1000): Promise<void> {
    process.kill(pid, 'SIGUSR2');
    await sleep(settleMs);
}
