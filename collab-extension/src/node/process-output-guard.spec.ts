import * as assert from 'assert';
import * as path from 'path';
import { ChildProcess, spawn } from 'child_process';

/**
 * A real Node process with Theia's real `BackendApplication` (its `uncaughtException` handler logs with
 * `console.error`), whose stdout and stderr pipes the test closes, as a killed launcher would; then the
 * process logs one line, as the backend does when its frontend's socket closes.
 */
const CHILD = `
const { BackendApplication } = require('@theia/core/lib/node/backend-application');
const app = new BackendApplication({ getContributions: () => [] }, {});
// Theia's ILogger ends in console.error as well.
app.logger = { error: (...args) => console.error(...args) };
let uncaught = 0;
let report;
process.prependListener('uncaughtException', () => {
    // An unguarded loop may starve the timers: report from inside it.
    if (++uncaught === 200 && report) {
        report();
    }
});
let guards;
if (process.env.GUARD === '1') {
    guards = require(process.env.GUARD_MODULE).guardProcessOutput();
}
process.on('message', message => {
    if (message !== 'log') {
        return;
    }
    const cpuBefore = process.cpuUsage();
    const startedAt = Date.now();
    report = () => {
        report = undefined;
        const cpu = process.cpuUsage(cpuBefore);
        process.send({
            uncaught,
            swallowed: guards ? guards.reduce((sum, state) => sum + state.errors, 0) : 0,
            firstError: guards && guards[0].firstError,
            cpuMs: (cpu.user + cpu.system) / 1000,
            elapsedMs: Date.now() - startedAt
        });
    };
    console.info('socket closed');
    setTimeout(() => report && report(), 1000);
});
process.send('ready');
setInterval(() => undefined, 1 << 30);
`;

interface Report {
    uncaught: number;
    swallowed: number;
    firstError?: string;
    cpuMs: number;
    elapsedMs: number;
}

function nextMessage<T>(child: ChildProcess, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => done(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
        const onMessage = (message: T) => done(undefined, message);
        const onExit = (code: number | null) => done(new Error(`The child exited (${code}) before ${what}`));
        function done(error: Error | undefined, message?: T): void {
            clearTimeout(timer);
            child.off('message', onMessage);
            child.off('exit', onExit);
            if (error) {
                reject(error);
            } else {
                resolve(message!);
            }
        }
        child.once('message', onMessage);
        child.once('exit', onExit);
    });
}

async function logWithOutputGone(guard: boolean): Promise<Report> {
    const child = spawn(process.execPath, ['-e', CHILD], {
        cwd: __dirname,
        env: { ...process.env, GUARD: guard ? '1' : '0', GUARD_MODULE: path.join(__dirname, 'process-output-guard.js') },
        stdio: ['ignore', 'pipe', 'pipe', 'ipc']
    });
    const exited = new Promise(resolve => child.once('exit', resolve));
    try {
        assert.strictEqual(await nextMessage<string>(child, 15_000, 'the child to start'), 'ready');
        // The reader of the child's output goes away.
        child.stdout!.destroy();
        child.stderr!.destroy();
        await new Promise(resolve => setTimeout(resolve, 100));
        child.send('log');
        return await nextMessage<Report>(child, 15_000, 'the child\'s report');
    } finally {
        child.kill('SIGKILL');
        await exited;
    }
}

describe('process output guard', function () {
    this.timeout(40_000);

    it('without the guard, a backend whose output reader is gone loops on its own write errors (the symptom)', async () => {
        const report = await logWithOutputGone(false);
        assert.ok(report.uncaught > 100, `expected an EPIPE → uncaughtException → console.error loop, got ${JSON.stringify(report)}`);
    });

    it('with the guard, the write error is dropped once: no uncaught exception, no busy loop, the process keeps running', async () => {
        const report = await logWithOutputGone(true);
        assert.strictEqual(report.uncaught, 0, JSON.stringify(report));
        assert.ok(report.swallowed >= 1 && report.swallowed <= 5, JSON.stringify(report));
        assert.strictEqual(report.firstError, 'EPIPE');
        assert.ok(report.cpuMs < 300, `CPU over the idle second should be small: ${JSON.stringify(report)}`);
    });
});
