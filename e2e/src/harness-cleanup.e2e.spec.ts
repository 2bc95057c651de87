import * as assert from 'assert';
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { waitFor, withTimeout } from './harness';

/** True while `pid` runs (a zombie nobody reaps, e.g. under a container init that does not reap, counts as gone). */
function isRunning(pid: number): boolean {
    try {
        process.kill(pid, 0);
    } catch (error) {
        return (error as NodeJS.ErrnoException).code === 'EPERM';
    }
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
    } catch {
        return process.platform !== 'linux';
    }
}

/** Starts `harness/cleanup-test-child.js` and resolves with the pid and log file of the backend it started. */
async function startChild(name: string): Promise<{ child: ChildProcess, exited: Promise<void>, pid: number, logFile: string }> {
    const child = spawn(process.execPath, [path.join(__dirname, 'harness', 'cleanup-test-child.js'), name], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<void>(resolve => child.once('exit', () => resolve()));
    let stdout = '';
    const started = new Promise<{ pid: number, logFile: string }>((resolve, reject) => {
        child.stdout!.on('data', (chunk: Buffer) => {
            stdout += chunk.toString();
            const line = stdout.split('\n').find(candidate => candidate.startsWith('{'));
            if (line) {
                resolve(JSON.parse(line));
            }
        });
        child.once('exit', code => reject(new Error(`the child exited with ${code} before starting its backend: ${stdout}`)));
    });
    return { child, exited, ...await withTimeout(started, 150_000, 'the child to start its backend') };
}

describe('e2e harness: backends do not outlive the test process', function () {
    this.timeout(240_000);

    for (const signal of ['SIGKILL', 'SIGTERM', 'SIGINT'] as const) {
        it(`stops the backend when the process that started it gets ${signal}`, async () => {
            const started = await startChild(`cleanup-${signal.toLowerCase()}`);
            try {
                assert.ok(isRunning(started.pid), 'the backend runs before the kill');
                started.child.kill(signal);
                await withTimeout(started.exited, 10_000, 'the child to die');
                // SIGINT/SIGTERM: the harness stops its backends, then the child still dies of the signal.
                assert.strictEqual(started.child.signalCode, signal);
                // SIGKILL: the watchdog polls once a second.
                await waitFor(() => !isRunning(started.pid), 10_000, `backend ${started.pid} to be gone`);
                const log = fs.readFileSync(started.logFile, 'utf8');
                assert.match(log, /listening on http:\/\/127\.0\.0\.1:\d+/, 'the backend wrote its output to the log file');
            } finally {
                started.child.kill('SIGKILL');
                try {
                    process.kill(-started.pid, 'SIGKILL');
                } catch {
                    // gone, as it should be
                }
            }
        });
    }
});
