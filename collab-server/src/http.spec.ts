import * as assert from 'assert';
import { io as connectClient } from 'socket.io-client';
import type { ServerHandle } from './server';
import { connect, connectRefused, createRoom, login, startTestServer, TestClient } from './test-support';

describe('http', () => {
    let server: ServerHandle;
    let clients: TestClient[];

    beforeEach(async () => {
        server = await startTestServer();
        clients = [];
    });

    afterEach(async () => {
        clients.forEach(client => client.close());
        await server.close();
    });

    it('reports health with room and socket counts', async () => {
        let health = await (await fetch(`${server.url}/health`)).json();
        assert.deepStrictEqual(health, { status: 'ok', rooms: 0, sockets: 0 });
        await createRoom(server, 1, clients);
        health = await (await fetch(`${server.url}/health`)).json();
        assert.deepStrictEqual(health, { status: 'ok', rooms: 1, sockets: 2 });
    });

    it('describes the server', async () => {
        const response = await fetch(`${server.url}/api/info`);
        assert.strictEqual(response.status, 200);
        const info = await response.json();
        assert.strictEqual(info.limits.maxPayloadBytes, 1024 * 1024);
        assert.match(info.version, /^\d+\.\d+\.\d+/);
    });

    it('serves an escaped join page', async () => {
        const roomId = 'A'.repeat(22);
        const page = await fetch(`${server.url}/join/${roomId}`);
        assert.strictEqual(page.status, 200);
        assert.match(page.headers.get('content-type') ?? '', /text\/html/);
        assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
        const html = await page.text();
        assert.ok(html.includes(roomId));
        assert.ok(html.includes('Join Session'));

        const evil = await fetch(`${server.url}/join/${encodeURIComponent('<script>alert(1)</script>')}`);
        assert.strictEqual(evil.status, 404);
        const evilHtml = await evil.text();
        assert.ok(!evilHtml.includes('<script>'));
        assert.ok(evilHtml.includes('&#60;script&#62;'));
    });

    it('answers unknown paths, wrong methods and bad bodies with errors', async () => {
        assert.strictEqual((await fetch(`${server.url}/nope`)).status, 404);
        assert.strictEqual((await fetch(`${server.url}/api/login/anonymous`)).status, 405);
        const form = await fetch(`${server.url}/api/login/anonymous`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=x' });
        assert.strictEqual(form.status, 415);
        const broken = await fetch(`${server.url}/api/login/anonymous`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
        assert.strictEqual(broken.status, 400);
        const huge = await fetch(`${server.url}/api/login/anonymous`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x'.repeat(20_000) }) });
        assert.strictEqual(huge.status, 413);
    });

    it('allows loopback origins and refuses others', async () => {
        const allowed = await fetch(`${server.url}/api/info`, { headers: { origin: 'http://localhost:3000' } });
        assert.strictEqual(allowed.status, 200);
        assert.strictEqual(allowed.headers.get('access-control-allow-origin'), 'http://localhost:3000');
        const refused = await fetch(`${server.url}/api/login/anonymous`, {
            method: 'POST', headers: { origin: 'https://evil.example', 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x' })
        });
        assert.strictEqual(refused.status, 403);
        const { token } = await login(server);
        await connectRefused(server, { token }, { origin: 'https://evil.example' });
        clients.push(await connect(server, { token, extraHeaders: { origin: 'http://127.0.0.1:3000' } }));
    });

    it('allows configured origins only', async () => {
        await server.close();
        server = await startTestServer({ allowedOrigins: ['https://theia.example.com'] });
        assert.strictEqual((await fetch(`${server.url}/api/info`, { headers: { origin: 'https://theia.example.com' } })).status, 200);
        assert.strictEqual((await fetch(`${server.url}/api/info`, { headers: { origin: 'http://localhost:3000' } })).status, 403);
    });

    it('serves socket.io over HTTP long-polling too', async () => {
        const { token } = await login(server);
        const socket = connectClient(server.url, { auth: { token }, transports: ['polling'], reconnection: false, forceNew: true });
        try {
            await new Promise<void>((resolve, reject) => {
                socket.once('connect', resolve);
                socket.once('connect_error', reject);
            });
            const created = await socket.timeout(5000).emitWithAck('room:create', { publicKey: 'abc' });
            assert.strictEqual(created.ok, true);
        } finally {
            socket.close();
        }
    });
});
