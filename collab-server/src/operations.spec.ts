import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Writable } from 'stream';
import { loadConfigFile, loadConfigFromEnv, parseArgs, parseRate, resolveOptions } from './config';
import { createLogger } from './logger';
import type { ServerHandle } from './server';
import { admitGuest, bytes, connect, createRoom, publicKey, settle, startTestServer, TestClient } from './test-support';

async function scrape(server: ServerHandle): Promise<{ status: number; text: string }> {
    const response = await fetch(`${server.url}/metrics`);
    return { status: response.status, text: await response.text() };
}

describe('operations', () => {
    let server: ServerHandle | undefined;
    let clients: TestClient[];

    beforeEach(() => {
        clients = [];
    });

    afterEach(async () => {
        clients.forEach(client => client.close());
        await server?.close();
        server = undefined;
    });

    it('serves liveness, readiness and Prometheus metrics on one instance', async () => {
        server = await startTestServer({ processMetrics: false });
        assert.deepStrictEqual(await (await fetch(`${server.url}/health/live`)).json(), { status: 'ok' });
        const room = await createRoom(server, 2, clients);
        await room.guests[0].request('relay', { room: room.roomId, kind: 'broadcast', seq: 1, key: 1, data: bytes(64) });
        await room.guests[0].request('relay', { room: room.roomId, kind: 'broadcast', seq: 1, key: 1 });
        await room.guests[1].request('no-such-event', {});
        await room.host.waitFor('relay');
        const { status, text } = await scrape(server);
        assert.strictEqual(status, 200);
        for (const line of [
            'collab_connected_sockets 3',
            'collab_rooms 1',
            'collab_room_members_bucket{le="3"} 1',
            'collab_relayed_messages_total{kind="broadcast"} 1',
            'collab_relayed_bytes_total{kind="broadcast"} 64',
            'collab_relay_duration_seconds_count{kind="broadcast"} 1',
            'collab_rejected_events_total{event="relay",reason="bad-request"} 1',
            'collab_rejected_events_total{event="unknown",reason="bad-request"} 1',
            'collab_connections_total 3'
        ]) {
            assert.ok(text.split('\n').includes(line), `missing '${line}' in:\n${text}`);
        }
        assert.match(text, /collab_instance_info\{instance="[^"]+",version="[^"]+",shared="false"\} 1/);
        assert.doesNotMatch(text, /process_cpu/);
        // Scrapes count rooms as they are now.
        room.host.close();
        await room.guests[0].waitFor('room:closed');
        await settle(1100);
        assert.ok((await scrape(server)).text.split('\n').includes('collab_rooms 0'));
    });

    it('can switch /metrics off', async () => {
        server = await startTestServer({ metrics: false });
        assert.strictEqual((await scrape(server)).status, 404);
    });

    it('says draining while it stops', async () => {
        server = await startTestServer();
        const client = await connect(server, { name: 'Waiting' });
        clients.push(client);
        const stopping = server.close();
        // The HTTP server may already be gone; if it answers, it says it is not ready.
        const health = await fetch(`${server.url}/health`).then(async response => ({ status: response.status, body: await response.json() })).catch(() => undefined);
        if (health) {
            assert.deepStrictEqual([health.status, health.body.status], [503, 'draining']);
        }
        const notice = await client.waitFor('server:shutdown');
        assert.deepStrictEqual(notice, { resume: false, message: 'The collaboration server is shutting down.' });
        await stopping;
    });

    it('never logs envelope data, key material or tokens', async () => {
        const lines: string[] = [];
        const sink = new Writable({ write(chunk, _encoding, done) { lines.push(String(chunk)); done(); } });
        server = await startTestServer({ logger: createLogger('trace', sink), requestTimeoutMs: 200 });
        const marker = Buffer.from('PAYLOAD-MARKER-a1b2c3d4e5f6');
        const keyMarker = Buffer.from('KEYMATERIAL-MARKER-f6e5d4c3b2a1');
        const room = await createRoom(server, 1, clients);
        const late = await connect(server, { name: 'Late' });
        clients.push(late);
        const joined = await late.request('room:join', { roomId: room.roomId, publicKey: publicKey() });
        await room.host.waitFor('room:join-request');
        await room.host.request('room:admit', { roomId: room.roomId, requestId: joined.requestId, permission: 'readonly', keyMaterial: keyMarker, keyId: 2 });
        await late.waitFor('room:admitted');
        await room.host.request('room:rekey', { roomId: room.roomId, keyId: 3, keys: [{ peerId: room.guestPeerIds[0], keyMaterial: keyMarker }] });
        for (const kind of ['broadcast', 'request', 'notification']) {
            await room.guests[0].request('relay', { room: room.roomId, kind, seq: 2, key: 1, data: marker, ...kind === 'request' ? { id: 1 } : {} });
        }
        await room.guests[0].request('relay', { room: room.roomId, kind: 'bogus', seq: 2, key: 1, data: marker });
        await room.guests[0].request('relay', { room: room.roomId, kind: 'broadcast', seq: 2, key: 1, data: Buffer.alloc(1024 * 1024 + 1, marker) });
        await room.guests[0].waitFor('relay', event => event.error?.code === 'timeout', 3000);
        await admitGuest(room, await connect(server, { name: 'Third' }).then(client => (clients.push(client), client)));
        await server.close();
        const log = lines.join('');
        assert.ok(lines.length > 20, 'expected trace logs');
        for (const secret of [marker, keyMarker]) {
            for (const encoding of ['utf8', 'base64', 'base64url', 'hex'] as const) {
                assert.ok(!log.includes(secret.toString(encoding).slice(0, 16)), `${encoding} of a secret in the logs`);
            }
        }
        assert.ok(!log.includes(room.hostRoomToken), 'room token in the logs');
        assert.doesNotMatch(log, /eyJ[A-Za-z0-9_-]{20,}\./, 'a JWT in the logs');
    });

    it('reads the operational options from flags, environment and config file', () => {
        assert.deepStrictEqual(parseArgs([
            '--redis', 'redis://cache:6379/2', '--redis-prefix', 'prod:', '--resume-grace', '2m', '--shutdown-timeout', '5s',
            '--empty-room', '10m', '--token-ttl', '8h', '--max-payload', '655360', '--login-rate', '5/1m', '--join-rate', '10/30s',
            '--event-rate', '100/1s', '--byte-rate', '1048576/1s', '--no-metrics', '--log-level', 'debug'
        ]).options, {
            redisUrl: 'redis://cache:6379/2', redisPrefix: 'prod:', resumeGraceMs: 120_000, shutdownTimeoutMs: 5000,
            emptyRoomMs: 600_000, tokenTtlMs: 8 * 3600_000, maxPayloadBytes: 655360, loginRateLimit: { max: 5, windowMs: 60_000 },
            joinRateLimit: { max: 10, windowMs: 30_000 }, socketEventRateLimit: { max: 100, windowMs: 1000 },
            socketByteRateLimit: { max: 1048576, windowMs: 1000 }, metrics: false, logLevel: 'debug'
        });
        assert.deepStrictEqual(loadConfigFromEnv({
            COLLAB_REDIS_URL: 'rediss://:pw@cache:6380', COLLAB_REDIS_PREFIX: 'x:', COLLAB_RESUME_GRACE: '30s', COLLAB_REQUEST_TIMEOUT: '10s',
            COLLAB_EVENT_RATE: '50/1s', COLLAB_METRICS: 'false', COLLAB_LOG_LEVEL: 'warn'
        }), {
            redisUrl: 'rediss://:pw@cache:6380', redisPrefix: 'x:', resumeGraceMs: 30_000, requestTimeoutMs: 10_000,
            socketEventRateLimit: { max: 50, windowMs: 1000 }, metrics: false, logLevel: 'warn'
        });
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collab-config-'));
        try {
            const file = path.join(dir, 'config.json');
            fs.writeFileSync(file, JSON.stringify({ redisUrl: 'redis://r:6379', resumeGraceMs: '90s', joinRateLimit: '3/1m', processMetrics: false }));
            assert.deepStrictEqual(loadConfigFile(file), { redisUrl: 'redis://r:6379', resumeGraceMs: 90_000, joinRateLimit: { max: 3, windowMs: 60_000 }, processMetrics: false });
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
        assert.throws(() => parseRate('lots'), /Invalid rate/);
        assert.throws(() => loadConfigFromEnv({ COLLAB_METRICS: 'perhaps' }), /COLLAB_METRICS/);
        assert.throws(() => resolveOptions({ redisUrl: 'http://cache' }), /redisUrl/);
        assert.throws(() => resolveOptions({ redisPrefix: 'bad prefix' }), /redisPrefix/);
        assert.throws(() => resolveOptions({ maxPayloadBytes: 64 * 1024 * 1024 }), /maxPayloadBytes/);
        assert.throws(() => resolveOptions({ maxPayloadBytes: 64 * 1024 }), /maxPayloadBytes must be at least/);
    });

    it('reads the replay window and log rate options from flags, environment and config file', () => {
        assert.deepStrictEqual(resolveOptions({}).replayWindowMs, 120_000);
        assert.deepStrictEqual([resolveOptions({}).replayWindowBytesPerRoom, resolveOptions({}).replayWindowBytes, resolveOptions({}).logRateLimit],
            [8 * 1024 * 1024, 256 * 1024 * 1024, { max: 20, windowMs: 10_000 }]);
        assert.deepStrictEqual(parseArgs(['--replay-window', '90s', '--replay-window-bytes-per-room', '1048576', '--replay-window-bytes', '67108864', '--log-rate', '5/1m']).options, {
            replayWindowMs: 90_000, replayWindowBytesPerRoom: 1048576, replayWindowBytes: 67108864, logRateLimit: { max: 5, windowMs: 60_000 }
        });
        assert.deepStrictEqual(loadConfigFromEnv({
            COLLAB_REPLAY_WINDOW: '0', COLLAB_REPLAY_WINDOW_BYTES_PER_ROOM: '2048', COLLAB_REPLAY_WINDOW_BYTES: '4096', COLLAB_LOG_RATE: '100/10s'
        }), { replayWindowMs: 0, replayWindowBytesPerRoom: 2048, replayWindowBytes: 4096, logRateLimit: { max: 100, windowMs: 10_000 } });
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collab-config-'));
        try {
            const file = path.join(dir, 'config.json');
            fs.writeFileSync(file, JSON.stringify({ replayWindowMs: '3m', replayWindowBytesPerRoom: 1000, logRateLimit: '1/1s', storeCheckIntervalMs: '500ms' }));
            assert.deepStrictEqual(loadConfigFile(file), {
                replayWindowMs: 180_000, replayWindowBytesPerRoom: 1000, logRateLimit: { max: 1, windowMs: 1000 }, storeCheckIntervalMs: 500
            });
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
        assert.throws(() => resolveOptions({ replayWindowMs: -1 }), /replayWindowMs/);
        assert.throws(() => resolveOptions({ replayWindowBytesPerRoom: 0 }), /replayWindowBytesPerRoom/);
        assert.throws(() => resolveOptions({ replayWindowBytes: 1.5 }), /replayWindowBytes must/);
        assert.throws(() => resolveOptions({ logRateLimit: { max: 0, windowMs: 1000 } }), /logRateLimit/);
    });
});
