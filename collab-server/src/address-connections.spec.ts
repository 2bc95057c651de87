import * as assert from 'assert';
import { AddressConnections } from './address-connections';
import type { ServerOptions } from './config';
import { loadConfigFile, loadConfigFromEnv, parseArgs, resolveOptions } from './config';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { ServerHandle } from './server';
import { connect, connectRefused, login, settle, startTestServer, TestClient } from './test-support';

describe('connections per address', () => {
    let server: ServerHandle | undefined;
    let clients: TestClient[];

    async function start(options: Partial<ServerOptions>): Promise<ServerHandle> {
        server = await startTestServer(options);
        return server;
    }

    beforeEach(() => {
        clients = [];
    });

    afterEach(async () => {
        clients.forEach(client => client.close());
        await server?.close();
        server = undefined;
    });

    async function health(handle: ServerHandle): Promise<any> {
        const response = await fetch(`${handle.url}/health`);
        assert.strictEqual(response.status, 200);
        return response.json();
    }

    it('refuses connections beyond the cap from one address, and accepts again when some close', async () => {
        const cap = 6;
        const handle = await start({ maxConnectionsPerAddress: cap });
        const { token } = await login(handle);
        for (let i = 0; i < cap; i++) {
            clients.push(await connect(handle, { token, name: `Client ${i}` }));
        }
        // The extras, at once and one after another: all refused, with a clear error.
        const extras = await Promise.all(Array.from({ length: 5 }, () => connectRefused(handle, { token })));
        for (const error of extras) {
            assert.strictEqual(error.data?.code, 'rate-limited', JSON.stringify(error.data));
            assert.strictEqual(error.data?.reason, 'too-many-connections');
            assert.match(error.message, /Too many connections from your address \(at most 6\)/);
        }
        assert.strictEqual((await health(handle)).sockets, cap);
        assert.ok(clients.every(client => client.socket.connected));

        // Closing two frees two places (and the refusals did not take any).
        clients.splice(0, 2).forEach(client => client.close());
        await settle();
        clients.push(await connect(handle, { token, name: 'Again 1' }));
        clients.push(await connect(handle, { token, name: 'Again 2' }));
        assert.strictEqual((await connectRefused(handle, { token })).data?.code, 'rate-limited');

        // Alive and serving.
        assert.strictEqual((await health(handle)).sockets, cap);
        const created = await clients[clients.length - 1].request('room:create', { publicKey: 'A'.repeat(87) });
        assert.strictEqual(created.ok, true);
        const text = await handle.metrics.text();
        assert.match(text, /collab_rejected_events_total\{event="connect",reason="rate-limited"\} 6/);
    });

    it('accepts exactly the cap out of a burst of simultaneous connections (twice as many)', async () => {
        const cap = 20;
        const handle = await start({ maxConnectionsPerAddress: cap });
        const { token } = await login(handle);
        const outcomes = await Promise.allSettled(Array.from({ length: cap * 2 }, (_, i) => connect(handle, { token, name: `Burst ${i}` })));
        const accepted = outcomes.filter(outcome => outcome.status === 'fulfilled').map(outcome => (outcome as PromiseFulfilledResult<TestClient>).value);
        clients.push(...accepted);
        const refused = outcomes.filter(outcome => outcome.status === 'rejected').map(outcome => (outcome as PromiseRejectedResult).reason);
        assert.strictEqual(accepted.length, cap);
        assert.ok(refused.every(error => error.data?.code === 'rate-limited'), JSON.stringify(refused.map(error => error.data ?? error.message)));
        assert.strictEqual((await health(handle)).sockets, cap);
    });

    it('does not count connections that were refused for other reasons', async () => {
        const cap = 2;
        const handle = await start({ maxConnectionsPerAddress: cap });
        for (let i = 0; i < 5; i++) {
            assert.strictEqual((await connectRefused(handle, { token: 'not a token' })).data?.code, 'unauthorized');
        }
        const { token } = await login(handle);
        clients.push(await connect(handle, { token }));
        clients.push(await connect(handle, { token }));
        assert.strictEqual((await connectRefused(handle, { token })).data?.code, 'rate-limited');
    });

    it('counts the client address behind a trusted proxy', async () => {
        const cap = 2;
        const handle = await start({ maxConnectionsPerAddress: cap, trustProxy: true });
        const { token } = await login(handle);
        const from = (address: string) => ({ 'x-forwarded-for': `${address}, 10.9.9.9` });
        clients.push(await connect(handle, { token, extraHeaders: from('203.0.113.1') }));
        clients.push(await connect(handle, { token, extraHeaders: from('203.0.113.1') }));
        assert.strictEqual((await connectRefused(handle, { token }, from('203.0.113.1'))).data?.code, 'rate-limited');
        // Another client behind the same proxy is not affected.
        clients.push(await connect(handle, { token, extraHeaders: from('203.0.113.2') }));
        clients.push(await connect(handle, { token, extraHeaders: from('203.0.113.2') }));
        assert.strictEqual((await health(handle)).sockets, 4);
    });

    it('bounds transport connections that never connect a socket', async () => {
        const cap = 3;
        const handle = await start({ maxConnectionsPerAddress: cap });
        const handshake = () => fetch(`${handle.url}/socket.io/?EIO=4&transport=polling`);
        // Engine.io handshakes only (no socket.io CONNECT): up to twice the cap.
        for (let i = 0; i < 2 * cap; i++) {
            const response = await handshake();
            assert.strictEqual(response.status, 200, `handshake ${i}`);
            assert.match(await response.text(), /^0\{"sid"/);
        }
        const refused = await handshake();
        assert.strictEqual(refused.status, 403);
        await refused.text();
        assert.strictEqual((await health(handle)).status, 'ok');
    });

    it('reads the cap from flags, environment and config file, and checks it', () => {
        assert.strictEqual(resolveOptions({}).maxConnectionsPerAddress, 200);
        assert.deepStrictEqual(parseArgs(['--max-connections-per-address', '50']).options, { maxConnectionsPerAddress: 50 });
        assert.deepStrictEqual(loadConfigFromEnv({ COLLAB_MAX_CONNECTIONS_PER_ADDRESS: '7' }), { maxConnectionsPerAddress: 7 });
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collab-cap-config-'));
        try {
            const file = path.join(dir, 'config.json');
            fs.writeFileSync(file, JSON.stringify({ maxConnectionsPerAddress: 9 }));
            assert.deepStrictEqual(loadConfigFile(file), { maxConnectionsPerAddress: 9 });
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
        assert.throws(() => resolveOptions({ maxConnectionsPerAddress: 0 }), /maxConnectionsPerAddress/);
        assert.throws(() => resolveOptions({ maxConnectionsPerAddress: 2.5 }), /maxConnectionsPerAddress/);
        assert.throws(() => parseArgs(['--max-connections-per-address', 'many']), /--max-connections-per-address/);
    });

    it('counts per key and gives back each place once', () => {
        const counter = new AddressConnections(2);
        const first = counter.add('a');
        counter.add('a');
        assert.strictEqual(counter.admits('a'), false);
        assert.strictEqual(counter.admits('b'), true);
        first();
        first();
        assert.strictEqual(counter.count('a'), 1);
        assert.strictEqual(counter.admits('a'), true);
        assert.strictEqual(counter.size, 1);
    });
});
