import * as assert from 'assert';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { startServer } from '@theia-collab/server';
import { CollaborationError } from '@theia-collab/protocol';
import {
    CollaborationEmbeddedServer, embeddedSecretFile, EmbeddedServerResult, isCoordinationServer, isOurCoordinationServer, parsePort, readOrCreateEmbeddedSecret,
    RunningCoordinationServer, startOrReuseServer
} from './collaboration-embedded-server';

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer().on('error', reject).listen(0, '127.0.0.1', () => {
            const { port } = server.address() as net.AddressInfo;
            server.close(() => resolve(port));
        });
    });
}

function randomSecret(): string {
    return crypto.randomBytes(32).toString('base64url');
}

const start = (options: { hostname: string; port: number; infoChallengeSecret: string }) => startServer({ ...options, logLevel: 'silent' });

/** A local HTTP server answering `/api/info` like a coordination server would, with `challengeResponse` from `answer`. */
async function fakeServer(answer: (nonce: string | null) => Promise<string | undefined> | string | undefined): Promise<http.Server & { port: number }> {
    const server = http.createServer((request, response) => {
        const url = new URL(request.url ?? '/', 'http://localhost');
        if (url.pathname !== '/api/info') {
            response.writeHead(404).end();
            return;
        }
        Promise.resolve(answer(url.searchParams.get('challenge'))).then(challengeResponse => {
            const body = JSON.stringify({
                protocol: 1, version: '0.1.0', providers: [{ id: 'anonymous', label: 'Anonymous' }], limits: { maxPayloadBytes: 1048576 },
                ...challengeResponse === undefined ? {} : { challengeResponse }
            });
            response.writeHead(200, { 'content-type': 'application/json' }).end(body);
        }, () => response.writeHead(500).end());
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    return Object.assign(server, { port: (server.address() as net.AddressInfo).port });
}

interface Logged { level: string; message: string }

/** The backend contribution with its environment and logger set as the container would. */
class TestEmbeddedServer extends CollaborationEmbeddedServer {
    readonly logged: Logged[] = [];

    constructor(env: NodeJS.ProcessEnv) {
        super();
        this.env = env;
        const log = (level: string) => async (message: string) => { this.logged.push({ level, message }); };
        (this as unknown as { logger: unknown }).logger = { info: log('info'), warn: log('warn'), error: log('error'), debug: log('debug') };
    }

    protected override startServer(options: { hostname: string; port: number; infoChallengeSecret: string }): Promise<RunningCoordinationServer> {
        return start(options);
    }
}

describe('embedded coordination server', () => {
    const toClose: (() => Promise<void>)[] = [];
    let dir: string;
    let secret: string;

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collab-embedded-'));
        secret = randomSecret();
    });

    afterEach(async () => {
        while (toClose.length) {
            await toClose.pop()!();
        }
        fs.rmSync(dir, { recursive: true, force: true });
    });

    function closeLater(result: EmbeddedServerResult): void {
        if (result.kind === 'started') {
            toClose.push(() => result.server.close());
        }
    }

    function closeServerLater(server: http.Server): void {
        toClose.push(() => new Promise(resolve => {
            server.close(() => resolve());
            server.closeAllConnections();
        }));
    }

    it('starts a server on a free port, which proves itself with the secret only', async () => {
        const port = await freePort();
        const result = await startOrReuseServer({ hostname: '127.0.0.1', port, secret, start });
        assert.strictEqual(result.kind, 'started');
        closeLater(result);
        assert.strictEqual(result.url, `http://127.0.0.1:${port}`);
        assert.ok(await isCoordinationServer(result.url));
        assert.strictEqual(await isOurCoordinationServer(result.url, secret), true);
        assert.strictEqual(await isOurCoordinationServer(result.url, randomSecret()), false);
    });

    it('reuses a coordination server of ours that already holds the port', async () => {
        const port = await freePort();
        const first = await startOrReuseServer({ hostname: '127.0.0.1', port, secret, start });
        closeLater(first);
        const second = await startOrReuseServer({ hostname: '127.0.0.1', port, secret, start });
        assert.deepStrictEqual(second, { kind: 'reused', url: `http://127.0.0.1:${port}` });
    });

    it('does not reuse a coordination server started with another secret (another user\'s)', async () => {
        const port = await freePort();
        const theirs = await startOrReuseServer({ hostname: '127.0.0.1', port, secret: randomSecret(), start });
        closeLater(theirs);
        await assert.rejects(startOrReuseServer({ hostname: '127.0.0.1', port, secret, start }), /did not prove to be a collaboration server of yours/);
        const moved = await startOrReuseServer({ hostname: '127.0.0.1', port, secret, start, fallbackToFreePort: true });
        closeLater(moved);
        assert.strictEqual(moved.kind, 'started');
        assert.strictEqual((moved as { movedFrom?: number }).movedFrom, port);
        assert.notStrictEqual(moved.url, `http://127.0.0.1:${port}`);
        assert.strictEqual(await isOurCoordinationServer(moved.url, secret), true);
    });

    it('does not reuse a program that answers /api/info without the right proof', async () => {
        const real = await startOrReuseServer({ hostname: '127.0.0.1', port: await freePort(), secret, start });
        closeLater(real);
        const impostors: [string, (nonce: string | null) => Promise<string | undefined> | string | undefined][] = [
            ['no proof', () => undefined],
            ['a made-up proof', () => crypto.randomBytes(32).toString('base64url')],
            ['the nonce echoed', nonce => nonce ?? undefined],
            ['a proof with another secret', nonce => crypto.createHmac('sha256', randomSecret()).update(String(nonce)).digest('base64url')],
            // Relays the challenge to our real server on its other port and passes its answer off as its own.
            ['a relay to our real server', async nonce => (await (await fetch(`${real.url}/api/info?challenge=${nonce}`)).json()).challengeResponse]
        ];
        for (const [what, answer] of impostors) {
            const impostor = await fakeServer(answer);
            closeServerLater(impostor);
            const url = `http://127.0.0.1:${impostor.port}`;
            // The old check (it answers /api/info like a coordination server) is fooled...
            assert.strictEqual(await isCoordinationServer(url), true, what);
            // ...the proof is not.
            assert.strictEqual(await isOurCoordinationServer(url, secret), false, what);
            await assert.rejects(startOrReuseServer({ hostname: '127.0.0.1', port: impostor.port, secret, start }), (error: unknown) =>
                error instanceof CollaborationError && /COLLAB_EMBEDDED_PORT/.test(error.message) && error.message.includes(String(impostor.port)));
            const moved = await startOrReuseServer({ hostname: '127.0.0.1', port: impostor.port, secret, start, fallbackToFreePort: true });
            closeLater(moved);
            assert.strictEqual(moved.kind, 'started', what);
            assert.strictEqual((moved as { movedFrom?: number }).movedFrom, impostor.port);
            assert.strictEqual(await isOurCoordinationServer(moved.url, secret), true);
        }
        // The relay did reach the real server, which answers for its own port only.
        assert.strictEqual(await isOurCoordinationServer(real.url, secret), true);
    });

    it('refuses a port held by another program, with a message that says what to do', async () => {
        const other = http.createServer((_, response) => response.writeHead(404).end('not ours'));
        await new Promise<void>(resolve => other.listen(0, '127.0.0.1', resolve));
        closeServerLater(other);
        const { port } = other.address() as net.AddressInfo;
        await assert.rejects(startOrReuseServer({ hostname: '127.0.0.1', port, secret, start }), (error: unknown) =>
            error instanceof CollaborationError && /COLLAB_EMBEDDED_PORT/.test(error.message) && error.message.includes(String(port)));
        assert.strictEqual(await isCoordinationServer(`http://127.0.0.1:${port}`), false);
    });

    it('passes other start errors through', async () => {
        const failure = new Error('boom');
        await assert.rejects(startOrReuseServer({ hostname: '127.0.0.1', port: 1, secret, start: () => Promise.reject(failure), probe: async () => true }), failure);
    });

    it('parses ports', () => {
        assert.strictEqual(parsePort(undefined, 8100), 8100);
        assert.strictEqual(parsePort(' ', 8100), 8100);
        assert.strictEqual(parsePort('9000', 8100), 9000);
        assert.throws(() => parsePort('http', 8100));
        assert.throws(() => parsePort('70000', 8100));
    });

    describe('the secret file', () => {
        it('is created private the first time and read afterwards; apps starting at once share one', async () => {
            const file = path.join(dir, 'nested', 'config', 'collaboration-embedded-server.secret');
            const secrets = await Promise.all(Array.from({ length: 8 }, () => readOrCreateEmbeddedSecret(file)));
            assert.strictEqual(new Set(secrets).size, 1);
            assert.match(secrets[0], /^[A-Za-z0-9_-]{43}$/);
            assert.strictEqual(fs.readFileSync(file, 'utf8').trim(), secrets[0]);
            if (process.platform !== 'win32') {
                assert.strictEqual(fs.statSync(file).mode & 0o777, 0o600);
                assert.strictEqual(fs.statSync(path.dirname(file)).mode & 0o077, 0);
            }
            assert.strictEqual(await readOrCreateEmbeddedSecret(file), secrets[0]);
            assert.deepStrictEqual(fs.readdirSync(path.dirname(file)), ['collaboration-embedded-server.secret'], 'no temporary files left');
        });

        it('is replaced when others could read it or it is malformed, and refused when it is a link', async function () {
            if (process.platform === 'win32') {
                this.skip();
            }
            const file = path.join(dir, 'collaboration-embedded-server.secret');
            const exposed = randomSecret();
            fs.writeFileSync(file, exposed, { mode: 0o644 });
            fs.chmodSync(file, 0o644);
            const replaced = await readOrCreateEmbeddedSecret(file);
            assert.notStrictEqual(replaced, exposed);
            assert.strictEqual(fs.statSync(file).mode & 0o777, 0o600);
            fs.writeFileSync(file, 'short', { mode: 0o600 });
            assert.notStrictEqual(await readOrCreateEmbeddedSecret(file), 'short');

            const target = path.join(dir, 'elsewhere');
            fs.writeFileSync(target, randomSecret(), { mode: 0o600 });
            const link = path.join(dir, 'linked.secret');
            fs.symlinkSync(target, link);
            await assert.rejects(readOrCreateEmbeddedSecret(link), /not a regular file/);
        });

        it('lives in THEIA_CONFIG_DIR or ~/.theia unless COLLAB_EMBEDDED_SECRET_FILE says otherwise', () => {
            assert.strictEqual(embeddedSecretFile({ COLLAB_EMBEDDED_SECRET_FILE: '/x/y.secret' }), '/x/y.secret');
            assert.strictEqual(embeddedSecretFile({ THEIA_CONFIG_DIR: '/cfg' }), path.join('/cfg', 'collaboration-embedded-server.secret'));
            assert.strictEqual(embeddedSecretFile({}), path.join(os.homedir(), '.theia', 'collaboration-embedded-server.secret'));
        });
    });

    describe('in the backend', () => {
        function stopLater(embedded: CollaborationEmbeddedServer): void {
            toClose.push(() => embedded.onStop());
        }

        it('a second app window of the same user reuses the first one\'s server; another user\'s app does not', async () => {
            const port = await freePort();
            const env = { COLLAB_EMBEDDED_PORT: String(port), COLLAB_EMBEDDED_SECRET_FILE: path.join(dir, 'me', 'collaboration-embedded-server.secret') };
            const first = new TestEmbeddedServer(env);
            stopLater(first);
            assert.strictEqual(await first.getUrl(), `http://127.0.0.1:${port}`);
            const second = new TestEmbeddedServer({ ...env });
            stopLater(second);
            assert.strictEqual(await second.getUrl(), `http://127.0.0.1:${port}`);
            assert.ok(second.logged.some(entry => /using the coordination server already running .* \(it proved to be ours\)/.test(entry.message)), JSON.stringify(second.logged));

            const stranger = new TestEmbeddedServer({ ...env, COLLAB_EMBEDDED_SECRET_FILE: path.join(dir, 'stranger', 'collaboration-embedded-server.secret') });
            stopLater(stranger);
            const strangerUrl = await stranger.getUrl();
            assert.notStrictEqual(strangerUrl, `http://127.0.0.1:${port}`);
            assert.ok(stranger.logged.some(entry => entry.level === 'warn' && /could not prove to be a collaboration server of this user/.test(entry.message)));
        });

        it('does not use an impostor on the port: starts on a free port and says so', async () => {
            const impostor = await fakeServer(nonce => nonce ?? undefined);
            closeServerLater(impostor);
            const embedded = new TestEmbeddedServer({
                COLLAB_EMBEDDED_PORT: String(impostor.port), COLLAB_EMBEDDED_SECRET_FILE: path.join(dir, 'collaboration-embedded-server.secret')
            });
            stopLater(embedded);
            const url = await embedded.getUrl();
            assert.notStrictEqual(url, `http://127.0.0.1:${impostor.port}`);
            const secretOfApp = fs.readFileSync(path.join(dir, 'collaboration-embedded-server.secret'), 'utf8').trim();
            assert.strictEqual(await isOurCoordinationServer(url, secretOfApp), true);
            const warning = embedded.logged.find(entry => entry.level === 'warn');
            assert.ok(warning, JSON.stringify(embedded.logged));
            assert.match(warning.message, new RegExp(`127\\.0\\.0\\.1:${impostor.port} and could not prove`));
            assert.ok(warning.message.includes(url));
        });
    });
});
