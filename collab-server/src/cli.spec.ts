import * as assert from 'assert';
import { ChildProcess, spawn } from 'child_process';
import * as path from 'path';
import { verifySecret } from './auth';
import * as fs from 'fs';
import { loadOptions, parseArgs, parseDuration, resolveOptions } from './config';
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

    it('in production: no anonymous login unless allowed, and a warning about /metrics without a token', async () => {
        const secret = { COLLAB_MODE: 'production', COLLAB_PORT: '0', COLLAB_SECRET: 'x'.repeat(40) };
        const noLogin = run([], secret);
        running.push(noLogin.child);
        assert.strictEqual((await noLogin.exited).code, 1);
        assert.match(noLogin.output(), /production mode has no login provider/);
        assert.match(noLogin.output(), /COLLAB_ALLOW_ANONYMOUS=1/);

        const named = run([], { ...secret, COLLAB_PROVIDERS: 'anonymous' });
        running.push(named.child);
        assert.strictEqual((await named.exited).code, 1);
        assert.match(named.output(), /anonymous login is off in production mode/);

        const port = await freePort();
        const allowed = run(['--allow-anonymous', '--port', String(port)], { ...secret, COLLAB_LOG_LEVEL: 'info' });
        running.push(allowed.child);
        await waitForHealth(`http://127.0.0.1:${port}/health`, Date.now() + 10_000);
        const login = await fetch(`http://127.0.0.1:${port}/api/login/anonymous`, {
            method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Anyone' })
        });
        assert.strictEqual(login.status, 200);
        assert.match(allowed.output(), /Anonymous login is switched on in production mode/);
        assert.match(allowed.output(), /GET \/metrics is served without a credential: set COLLAB_METRICS_TOKEN/);
        allowed.child.kill('SIGTERM');
        assert.strictEqual((await allowed.exited).code, 0);

        // With a token: no warning, and /metrics wants it.
        const token = 'metrics-token-0123456789';
        const guarded = run(['--allow-anonymous', '--port', String(port)], { ...secret, COLLAB_LOG_LEVEL: 'info', COLLAB_METRICS_TOKEN: token });
        running.push(guarded.child);
        await waitForHealth(`http://127.0.0.1:${port}/health`, Date.now() + 10_000);
        assert.strictEqual((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 401);
        assert.strictEqual((await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
        assert.doesNotMatch(guarded.output(), /served without a credential/);
        assert.ok(!guarded.output().includes(token), 'metrics token leaked to the logs');
        guarded.child.kill('SIGTERM');
        assert.strictEqual((await guarded.exited).code, 0);
    });

    it('the Dockerfile does not switch anonymous login on', () => {
        const dockerfile = fs.readFileSync(path.join(__dirname, '..', 'Dockerfile'), 'utf8');
        // The runtime environment the image sets (ENV lines of the last stage).
        const stage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
        const env: Record<string, string> = {};
        for (const line of stage.split('\n').filter(candidate => candidate.startsWith('ENV '))) {
            for (const [, key, value] of line.slice(4).matchAll(/([A-Z_]+)=(\S+)/g)) {
                env[key] = value;
            }
        }
        assert.strictEqual(env.COLLAB_MODE, 'production');
        assert.strictEqual(env.COLLAB_ALLOW_ANONYMOUS, undefined);
        assert.doesNotMatch(stage, /--allow-anonymous|COLLAB_ALLOW_ANONYMOUS=(1|true|yes|on)/);
        // With the image's environment and a secret plus token users, as a deployment would add them: no anonymous login.
        const options = resolveOptions(loadOptions([], { ...env, COLLAB_SECRET: 'x'.repeat(40), COLLAB_TOKEN_USERS: path.join(__dirname, 'no-such-users.json') }).options);
        assert.deepStrictEqual(options.providers, ['token']);
        assert.strictEqual(options.allowAnonymous, false);
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
