import * as assert from 'assert';
import { spawn } from 'child_process';
import { EventEmitter } from 'events';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Writable } from 'stream';
import { createLogger } from './logger';
import { LogLimiter } from './log-limiter';
import { installProcessGuards } from './process-guards';
import { freePort } from './redis-test-support';
import type { ServerHandle } from './server';
import { connect, settle, startTestServer, TestClient } from './test-support';

const BIN = path.join(__dirname, '..', 'bin', 'collab-server.js');

/** A real pino logger writing JSON lines into memory. */
function recordingLogger(level: 'info' | 'debug' = 'info'): { logger: ReturnType<typeof createLogger>; lines: () => any[] } {
    const chunks: string[] = [];
    const sink = new Writable({ write(chunk, _encoding, done) { chunks.push(String(chunk)); done(); } });
    return {
        logger: createLogger(level, sink),
        lines: () => chunks.join('').split('\n').filter(Boolean).map(line => JSON.parse(line))
    };
}

describe('log limiter', () => {
    it('writes the first lines per key in an interval, then one summary line with the counts', () => {
        const { logger, lines } = recordingLogger();
        const limiter = new LogLimiter(logger, { max: 3, windowMs: 60_000 });
        try {
            for (let i = 0; i < 10; i++) {
                limiter.log('warn', ['socket:a', 'address:1'], { i }, 'event refused');
            }
            // Another socket of the same address: the address is over its share too.
            limiter.log('warn', ['socket:b', 'address:1'], {}, 'event refused');
            // Another address is not affected.
            limiter.log('warn', ['socket:c', 'address:2'], {}, 'disconnecting flooding socket');
            // Levels the logger does not write are neither written nor counted.
            limiter.log('debug', ['socket:a', 'address:1'], {}, 'quiet');
            assert.deepStrictEqual(lines().map(line => [line.msg, line.i]), [
                ['event refused', 0], ['event refused', 1], ['event refused', 2], ['disconnecting flooding socket', undefined]
            ]);
            assert.strictEqual(limiter.pending, 8);
            limiter.flush();
            const summary = lines().at(-1);
            assert.strictEqual(summary.msg, 'log lines suppressed');
            assert.strictEqual(summary.level, 40);
            assert.strictEqual(summary.suppressed, 8);
            assert.deepStrictEqual(summary.messages, { 'event refused': 8 });
            assert.deepStrictEqual(summary.keys, { 'address:1': 8, 'socket:a': 7, 'socket:b': 1 });
            // A new interval: lines are written again; nothing suppressed, no summary.
            limiter.log('warn', ['socket:a', 'address:1'], {}, 'event refused');
            limiter.flush();
            assert.deepStrictEqual(lines().slice(-2).map(line => line.msg), ['log lines suppressed', 'event refused']);
        } finally {
            limiter.dispose();
        }
    });

    it('bounds the keys it tracks: lines of keys beyond the bound are suppressed and counted', () => {
        const { logger, lines } = recordingLogger();
        const limiter = new LogLimiter(logger, { max: 1, windowMs: 60_000 }, 5);
        for (let i = 0; i < 20; i++) {
            limiter.log('info', [`address:${i}`], {}, 'connection refused');
        }
        assert.strictEqual(lines().length, 5);
        limiter.dispose();
        assert.strictEqual(lines().at(-1).suppressed, 15);
    });

    it('writes the summary by itself at the end of the interval', async () => {
        const { logger, lines } = recordingLogger();
        const limiter = new LogLimiter(logger, { max: 1, windowMs: 100 });
        try {
            limiter.log('warn', ['k'], {}, 'a');
            limiter.log('warn', ['k'], {}, 'a');
            for (let i = 0; i < 50 && !lines().some(line => line.msg === 'log lines suppressed'); i++) {
                await settle(20);
            }
            assert.deepStrictEqual(lines().map(line => line.msg), ['a', 'log lines suppressed']);
        } finally {
            limiter.dispose();
        }
    });

    describe('a flood through a real server', () => {
        let server: ServerHandle | undefined;
        const clients: TestClient[] = [];

        afterEach(async () => {
            clients.splice(0).forEach(client => client.close());
            await server?.close();
            server = undefined;
        });

        it('costs a bounded number of lines and one summary per interval, however many sockets flood', async () => {
            const { logger, lines } = recordingLogger();
            server = await startTestServer({
                logger, logRateLimit: { max: 5, windowMs: 400 }, rateLimitStrikes: 3, socketEventRateLimit: { max: 5, windowMs: 60_000 },
                loginRateLimit: { max: 1000, windowMs: 60_000 }
            });
            const flooders: TestClient[] = [];
            for (let i = 0; i < 20; i++) {
                flooders.push(await connect(server, { name: `Flooder ${i}` }));
            }
            clients.push(...flooders);
            const started = Date.now();
            for (const flooder of flooders) {
                for (let i = 0; i < 200; i++) {
                    flooder.socket.emit('room:leave', { roomId: 'R'.repeat(22) });
                }
            }
            for (const flooder of flooders) {
                await flooder.waitFor('disconnect', undefined, 10_000);
            }
            const elapsed = Date.now() - started;
            // Let the last interval end: its summary comes by itself.
            await settle(900);
            const all = lines();
            const refused = all.filter(line => line.msg === 'event refused').length;
            const disconnecting = all.filter(line => line.msg === 'disconnecting flooding socket').length;
            const summaries = all.filter(line => line.msg === 'log lines suppressed');
            // All from one address: at most 5 lines of that address per interval of 400 ms.
            const intervals = Math.ceil((elapsed + 900) / 400) + 1;
            assert.ok(refused + disconnecting <= 5 * intervals, `${refused} refused and ${disconnecting} disconnect lines in ${elapsed} ms`);
            assert.ok(summaries.length >= 1 && summaries.length <= intervals, `${summaries.length} summaries`);
            const suppressed = summaries.reduce((sum, line) => sum + line.suppressed, 0);
            // 20 sockets, each refused at least 4 times (3 strikes, then disconnected) and disconnected once.
            assert.ok(refused + disconnecting + suppressed >= 20 * 5, `only ${refused + disconnecting + suppressed} lines counted`);
            const messages = summaries.reduce((sum, line) => ({ ...sum, ...Object.fromEntries(Object.entries(line.messages).map(([key, count]) => [key, (sum[key] ?? 0) + (count as number)])) }), {} as Record<string, number>);
            assert.ok(messages['event refused'] > 0, JSON.stringify(messages));
            assert.strictEqual(disconnecting + (messages['disconnecting flooding socket'] ?? 0), 20, 'one disconnect line (written or counted) per flooding socket');
            assert.ok(summaries.every(line => line.keys['address:127.0.0.1'] > 0));
            // Still serving.
            const healthy = await connect(server, { name: 'Fine' });
            clients.push(healthy);
            assert.strictEqual((await healthy.request('room:leave', { roomId: 'R'.repeat(22) })).error.code, 'not-member');
        });
    });
});

describe('process guards', () => {
    it('log unhandled rejections and uncaught exceptions, and can be removed', () => {
        const { logger, lines } = recordingLogger();
        const target = new EventEmitter();
        const remove = installProcessGuards(logger, target as unknown as NodeJS.Process);
        target.emit('unhandledRejection', new Error('lost promise'));
        target.emit('uncaughtException', new Error('thrown in a timer'));
        target.emit('unhandledRejection', 'not an error');
        assert.deepStrictEqual(lines().map(line => [line.level, line.msg, line.err?.message]), [
            [50, 'unhandled rejection (the server keeps serving)', 'lost promise'],
            [50, 'uncaught exception (the server keeps serving)', 'thrown in a timer'],
            [50, 'unhandled rejection (the server keeps serving)', 'not an error']
        ]);
        remove();
        assert.strictEqual(target.listenerCount('unhandledRejection') + target.listenerCount('uncaughtException'), 0);
    });

    it('keep the real server process serving after an unhandled rejection and an uncaught exception', async function () {
        this.timeout(30_000);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collab-guards-'));
        // Loaded before the server: once it serves (its guards are in), a rejection nobody handles, and an exception
        // nobody catches.
        const preload = path.join(dir, 'faults.js');
        fs.writeFileSync(preload, `const timer = setInterval(() => {
  if (process.listenerCount('unhandledRejection') > 0 && process.listenerCount('uncaughtException') > 0) {
    clearInterval(timer);
    Promise.reject(new Error('fault-injected rejection'));
    setTimeout(() => { throw new Error('fault-injected exception'); }, 100);
  }
}, 50);
timer.unref();
`);
        const port = await freePort();
        const child = spawn(process.execPath, ['--require', preload, BIN, '--port', String(port)], {
            env: { PATH: process.env.PATH ?? '', COLLAB_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe']
        });
        let output = '';
        child.stdout!.on('data', chunk => output += chunk);
        child.stderr!.on('data', chunk => output += chunk);
        try {
            const deadline = Date.now() + 15_000;
            while (Date.now() < deadline && !output.includes('fault-injected exception')) {
                await settle(100);
            }
            await settle(300);
            assert.strictEqual(child.exitCode, null, `the process exited: ${output}`);
            const response = await fetch(`http://127.0.0.1:${port}/health`);
            assert.strictEqual(response.status, 200);
            assert.match(output, /"msg":"unhandled rejection \(the server keeps serving\)"/);
            assert.match(output, /fault-injected rejection/);
            assert.match(output, /"msg":"uncaught exception \(the server keeps serving\)"/);
        } finally {
            if (child.exitCode === null && child.signalCode === null) {
                child.kill('SIGKILL');
                await new Promise(resolve => child.once('exit', resolve));
            }
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
