import * as assert from 'assert';
import { ChildProcess, spawn } from 'child_process';
import * as path from 'path';
import { verifySecret } from './auth';
import { parseArgs, parseDuration } from './config';
import { freePort } from './redis-test-support';

const BIN = path.join(__dirname, '..', 'bin', 'collab-server.js');

interface Run {
    child: ChildProcess;
    output: () => string;
    exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function run(args: string[], env: Record<string, string> = {}, input?: string): Run {
    const child = spawn(process.execPath, [BIN, ...args], {
        env: { PATH: process.env.PATH ?? '', ...env },
        stdio: ['pipe', 'pipe', 'pipe']
    });
    let output = '';
    child.stdout!.on('data', chunk => output += chunk);
    child.stderr!.on('data', chunk => output += chunk);
    if (input !== undefined) {
        child.stdin!.end(input);
    }
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(resolve => child.once('exit', (code, signal) => resolve({ code, signal })));
    return { child, output: () => output, exited };
}

async function waitForHealth(url: string, deadline: number): Promise<any> {
    while (Date.now() < deadline) {
        try {
            const response = await fetch(url);
            if (response.ok) {
                return response.json();
            }
        } catch {
            // not up yet
        }
        await new Promise(resolve => setTimeout(resolve, 100));
    }
    throw new Error(`${url} did not answer`);
}

describe('cli', () => {
    const running: ChildProcess[] = [];

    afterEach(() => {
        running.splice(0).forEach(child => {
            if (child.exitCode === null && child.signalCode === null) {
                child.kill('SIGKILL');
            }
        });
    });

    it('serves on the given port and stops on SIGTERM', async () => {
        const port = await freePort();
        const server = run(['--port', String(port), '--hostname', '127.0.0.1'], { COLLAB_LOG_LEVEL: 'info' });
        running.push(server.child);
        const health = await waitForHealth(`http://127.0.0.1:${port}/health`, Date.now() + 10_000);
        assert.deepStrictEqual(health, { status: 'ok', rooms: 0, sockets: 0 });
        assert.match(server.output(), /"msg":"collab-server listening"/);
        assert.match(server.output(), /random one for this process/);
        server.child.kill('SIGTERM');
        const { code } = await server.exited;
        assert.strictEqual(code, 0);
        assert.match(server.output(), /collab-server stopped/);
    });

    it('takes options from the environment and refuses production without a secret', async () => {
        const refused = run([], { COLLAB_MODE: 'production', COLLAB_PORT: '0' });
        running.push(refused.child);
        assert.strictEqual((await refused.exited).code, 1);
        assert.match(refused.output(), /production mode needs a secret/);

        const port = await freePort();
        const server = run([], { COLLAB_MODE: 'production', COLLAB_PORT: String(port), COLLAB_SECRET: 'x'.repeat(40), COLLAB_LOG_LEVEL: 'warn', COLLAB_ALLOW_ANONYMOUS: '1' });
        running.push(server.child);
        await waitForHealth(`http://127.0.0.1:${port}/health`, Date.now() + 10_000);
        server.child.kill('SIGINT');
        assert.strictEqual((await server.exited).code, 0);
        assert.ok(!server.output().includes('x'.repeat(40)), 'secret leaked to the logs');
    });

    it('rejects unknown flags', async () => {
        const bad = run(['--no-such-flag']);
        running.push(bad.child);
        assert.strictEqual((await bad.exited).code, 2);
        assert.match(bad.output(), /Unknown argument/);
    });

    it('hashes secrets for the token users file', async () => {
        const hashing = run(['hash-secret', '--user', 'alice', '--name', 'Alice'], {}, 'a long enough secret\n');
        running.push(hashing.child);
        assert.strictEqual((await hashing.exited).code, 0);
        const entry = JSON.parse(hashing.output().trim());
        assert.strictEqual(entry.user, 'alice');
        assert.strictEqual(entry.name, 'Alice');
        assert.strictEqual(await verifySecret('a long enough secret', entry.secret), true);
    });

    it('parses flags and durations', () => {
        assert.deepStrictEqual(parseArgs(['--port=0', '--host', '::1', '--room-ttl', '2h', '--allowed-origins', 'https://a, https://b']).options, {
            port: 0, hostname: '::1', roomTtlMs: 2 * 3600 * 1000, allowedOrigins: ['https://a', 'https://b']
        });
        assert.deepStrictEqual(['1500', '90s', '30m', '1.5h', '7d'].map(parseDuration), [1500, 90_000, 1_800_000, 5_400_000, 604_800_000]);
        assert.throws(() => parseDuration('soon'));
        assert.throws(() => parseArgs(['--port', 'eighty']));
    });
});
