import * as assert from 'assert';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Limits } from '@theia-collab/protocol/lib/wire';
import { loadConfigFile, loadConfigFromEnv, parseArgs, resolveOptions, ServerOptions } from './config';
import { CONTENT_OVERHEAD_BYTES, ContentStore } from './content-store';
import { startRedis, TestRedis } from './redis-test-support';
import { MemoryRoomStore } from './rooms';
import type { ServerHandle } from './server';
import { admitGuest, bytes, connect, createRoom, publicKey, settle, startTestServer, TestClient, TestRoom } from './test-support';

/** What a content of these part sizes counts against the limits. */
function cost(...parts: number[]): number {
    return CONTENT_OVERHEAD_BYTES + parts.reduce((sum, part) => sum + part + CONTENT_OVERHEAD_BYTES, 0);
}

function contentId(): string {
    return crypto.randomBytes(18).toString('base64url');
}

async function metric(server: ServerHandle, name: string): Promise<number> {
    const line = (await server.metrics.text()).split('\n').find(candidate => candidate.startsWith(`${name} `));
    assert.ok(line, `no metric ${name}`);
    return Number(line.slice(name.length + 1));
}

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
        if (Date.now() > deadline) {
            throw new Error(`timed out waiting until ${what}`);
        }
        await settle(20);
    }
}

describe('stored content', () => {
    let server: ServerHandle;
    let clients: TestClient[];

    async function start(options: Partial<ServerOptions> = {}): Promise<void> {
        server = await startTestServer(options);
    }

    beforeEach(() => {
        clients = [];
    });

    afterEach(async () => {
        clients.forEach(client => client.close());
        await server?.close();
        server = undefined!;
    });

    function put(room: TestRoom, id: string, index: number, count: number, data: Uint8Array, client = room.host): Promise<any> {
        return client.request('content:put', { roomId: room.roomId, contentId: id, index, count, data });
    }

    function get(room: TestRoom, id: string, index: number, client = room.guests[0]): Promise<any> {
        return client.request('content:get', { roomId: room.roomId, contentId: id, index });
    }

    /** Stores a content of one part; asserts it was accepted. */
    async function store(room: TestRoom, size: number): Promise<{ id: string; data: Uint8Array }> {
        const id = contentId();
        const data = bytes(size);
        assert.deepStrictEqual(await put(room, id, 0, 1, data), { ok: true });
        return { id, data };
    }

    async function fetched(room: TestRoom, id: string, index = 0): Promise<Uint8Array | string> {
        const result = await get(room, id, index);
        return result.ok ? new Uint8Array(result.data) : result.error.code;
    }

    describe('with a server', () => {
        it('gives back every part of a content put out of order, byte for byte', async () => {
            await start();
            const room = await createRoom(server, 2, clients);
            const id = contentId();
            const parts = [bytes(70_000), bytes(1), bytes(300_000)];
            for (const index of [2, 0, 1]) {
                assert.deepStrictEqual(await put(room, id, index, 3, parts[index]), { ok: true });
            }
            for (const guest of room.guests) {
                for (const index of [1, 2, 0]) {
                    const result = await get(room, id, index, guest);
                    assert.strictEqual(result.ok, true, JSON.stringify(result.error));
                    assert.deepStrictEqual(new Uint8Array(result.data), parts[index]);
                }
            }
            // The host may read it back too; a part outside the content is not found.
            assert.deepStrictEqual(new Uint8Array((await get(room, id, 1, room.host)).data), parts[1]);
            assert.strictEqual((await get(room, id, 3)).error.code, 'not-found');
            assert.strictEqual(await metric(server, 'collab_content_gets_total'), 7);
            assert.strictEqual(await metric(server, 'collab_content_get_bytes_total'), 2 * (70_000 + 1 + 300_000) + 1);
            assert.strictEqual(await metric(server, 'collab_content_stored_bytes'), cost(70_000, 1, 300_000));
        });

        it('answers not-found until the last part is in', async () => {
            await start();
            const room = await createRoom(server, 1, clients);
            const id = contentId();
            const parts = [bytes(100), bytes(200), bytes(300)];
            await put(room, id, 1, 3, parts[1]);
            await put(room, id, 0, 3, parts[0]);
            for (const index of [0, 1, 2]) {
                assert.strictEqual(await fetched(room, id, index), 'not-found');
            }
            assert.strictEqual(await fetched(room, contentId()), 'not-found', 'unknown id');
            assert.deepStrictEqual(await put(room, id, 2, 3, parts[2]), { ok: true });
            assert.deepStrictEqual(await fetched(room, id, 2), parts[2]);
            // Putting a part again replaces it.
            const replaced = bytes(50);
            assert.deepStrictEqual(await put(room, id, 0, 3, replaced), { ok: true });
            assert.deepStrictEqual(await fetched(room, id, 0), replaced);
            assert.strictEqual(server.contentStore.bytes, cost(50, 200, 300));
        });

        it('lets only the host put and delete', async () => {
            await start();
            const room = await createRoom(server, 1, clients);
            const { id, data } = await store(room, 1000);
            const guest = room.guests[0];
            assert.strictEqual((await put(room, contentId(), 0, 1, bytes(10), guest)).error.code, 'forbidden');
            assert.strictEqual((await put(room, id, 0, 1, bytes(10), guest)).error.code, 'forbidden');
            assert.strictEqual((await guest.request('content:delete', { roomId: room.roomId, contentId: id })).error.code, 'forbidden');
            assert.deepStrictEqual(await fetched(room, id), data);
            assert.strictEqual(server.contentStore.size, 1);
        });

        it('serves only members of the room, and keeps rooms apart', async () => {
            await start();
            const room = await createRoom(server, 1, clients);
            const other = await createRoom(server, 1, clients);
            const { id } = await store(room, 100);
            const outsider = await connect(server, { name: 'Outsider' });
            clients.push(outsider);
            assert.strictEqual((await get(room, id, 0, outsider)).error.code, 'not-member');
            assert.strictEqual((await get(room, id, 0, other.guests[0])).error.code, 'not-member');
            assert.strictEqual((await get(room, id, 0, other.host)).error.code, 'not-member');
            // The same id in another room is another content.
            assert.strictEqual((await get(other, id, 0)).error.code, 'not-found');
            assert.strictEqual((await put(room, contentId(), 0, 1, bytes(10), other.host)).error.code, 'not-member');
            assert.strictEqual((await other.host.request('content:delete', { roomId: room.roomId, contentId: id })).error.code, 'not-member');
            // A guest who is waiting to be admitted is not a member yet.
            const waiting = await connect(server, { name: 'Waiting' });
            clients.push(waiting);
            assert.strictEqual((await waiting.request('room:join', { roomId: room.roomId, publicKey: publicKey() })).ok, true);
            assert.strictEqual((await get(room, id, 0, waiting)).error.code, 'not-member');
            assert.strictEqual(server.contentStore.size, 1);
            assert.strictEqual(await metric(server, 'collab_content_gets_total'), 0);
        });

        it('refuses a part count that differs from the content, and parts beyond it', async () => {
            await start();
            const room = await createRoom(server, 1, clients);
            const id = contentId();
            await put(room, id, 0, 2, bytes(10));
            assert.strictEqual((await put(room, id, 1, 3, bytes(10))).error.code, 'bad-request');
            assert.strictEqual((await put(room, contentId(), 2, 2, bytes(10))).error.code, 'bad-request');
            assert.deepStrictEqual(await put(room, id, 1, 2, bytes(10)), { ok: true });
            assert.strictEqual((await fetched(room, id, 1) as Uint8Array).byteLength, 10);
        });

        it('deletes on request, also what is already gone', async () => {
            await start();
            const room = await createRoom(server, 1, clients);
            const { id, data } = await store(room, 500);
            const kept = await store(room, 600);
            assert.deepStrictEqual(await fetched(room, id), data);
            assert.deepStrictEqual(await room.host.request('content:delete', { roomId: room.roomId, contentId: id }), { ok: true });
            assert.strictEqual(await fetched(room, id), 'not-found');
            assert.deepStrictEqual(await room.host.request('content:delete', { roomId: room.roomId, contentId: id }), { ok: true });
            assert.deepStrictEqual(await room.host.request('content:delete', { roomId: room.roomId, contentId: contentId() }), { ok: true });
            assert.deepStrictEqual(await fetched(room, kept.id), kept.data);
            assert.strictEqual(server.contentStore.bytes, cost(600));
        });

        it('keeps a room\'s content across a rekey (every content is sealed with a key of its own)', async () => {
            await start();
            const room = await createRoom(server, 1, clients);
            const { id, data } = await store(room, 1000);
            const rekeyed = await room.host.request('room:rekey', { roomId: room.roomId, keyId: 2, keys: [{ peerId: room.guestPeerIds[0], keyMaterial: bytes(48) }] });
            assert.deepStrictEqual(rekeyed, { ok: true });
            assert.deepStrictEqual(await fetched(room, id), data);
        });

        it('drops the content of a room that closes', async () => {
            await start();
            const room = await createRoom(server, 1, clients);
            await store(room, 2000);
            await put(room, contentId(), 0, 2, bytes(100));
            assert.strictEqual(server.contentStore.size, 2);
            assert.ok(await metric(server, 'collab_content_stored_bytes') > 2000);
            assert.deepStrictEqual(await room.host.request('room:leave', { roomId: room.roomId }), { ok: true });
            assert.strictEqual(server.contentStore.size, 0);
            assert.strictEqual(await metric(server, 'collab_content_stored_bytes'), 0);
        });

        it('drops the content of a room another instance closed, in the periodic sweep', async () => {
            const rooms = new MemoryRoomStore();
            await start({ store: rooms, sweepIntervalMs: 50 });
            const room = await createRoom(server, 1, clients);
            const kept = await createRoom(server, 1, clients);
            await store(room, 100);
            await store(kept, 100);
            await settle(200);
            assert.strictEqual(server.contentStore.size, 2, 'the sweep keeps content of open rooms');
            // Removed from the (shared) store without this instance closing it.
            assert.ok(await rooms.remove(room.roomId, { reason: 'host-left', message: 'gone' }));
            // Its members here still think they are in it; the server knows better.
            assert.strictEqual((await put(room, contentId(), 0, 1, bytes(10))).error.code, 'room-closed');
            assert.strictEqual((await get(room, contentId(), 0)).error.code, 'room-closed');
            await until(() => server.contentStore.size === 1, 'the sweep drops the closed room\'s content');
            assert.deepStrictEqual(server.contentStore.roomIds(), [kept.roomId]);
        });

        it('evicts the least recently used content of the room to stay under the room limit, never uploads in progress', async () => {
            const limit = 3 * cost(3000) + 100;
            await start({ contentBytesPerRoom: limit });
            const room = await createRoom(server, 1, clients);
            const other = await createRoom(server, 1, clients);
            const elsewhere = await store(other, 3000);
            const held = (id: string) => server.contentStore.partsOf(room.roomId, id).length;
            const a = await store(room, 3000);
            const b = await store(room, 3000);
            const c = await store(room, 3000);
            assert.ok(await fetched(room, a.id) instanceof Uint8Array);
            // Full: the next one evicts b (a was fetched after b was put).
            const d = await store(room, 3000);
            assert.strictEqual(await fetched(room, b.id), 'not-found');
            for (const kept of [c, a, d]) {
                assert.deepStrictEqual(await fetched(room, kept.id), kept.data);
            }
            // Least recently used first: c, a, d. Uploads in progress take their places one by one...
            const uploads = [contentId(), contentId(), contentId()];
            const evicted = [c, a, d];
            for (const [index, upload] of uploads.entries()) {
                assert.deepStrictEqual(await put(room, upload, 0, 2, bytes(3000)), { ok: true });
                assert.strictEqual(held(evicted[index].id), 0, `upload ${index} evicts the least recently used`);
                evicted.slice(index + 1).forEach(later => assert.strictEqual(held(later.id), 1));
            }
            // ...and are not evicted themselves: nothing left to make room with.
            const refused = await put(room, contentId(), 0, 1, bytes(3000));
            assert.strictEqual(refused.error.code, 'too-large');
            assert.match(refused.error.message, /uploads in progress/);
            uploads.forEach(upload => assert.strictEqual(held(upload), 1));
            // Another room is not touched by this room's limit.
            assert.deepStrictEqual(await fetched(other, elsewhere.id), elsewhere.data);
            assert.ok(server.contentStore.roomBytes(room.roomId) <= limit);
        });

        it('refuses a content larger than the room limit without evicting anything', async () => {
            const limit = 10_000;
            await start({ contentBytesPerRoom: limit });
            const room = await createRoom(server, 1, clients);
            const small = await store(room, 4000);
            const tooLarge = await put(room, contentId(), 0, 1, bytes(limit));
            assert.strictEqual(tooLarge.error.code, 'too-large');
            assert.match(tooLarge.error.message, /exceeds the limit of 10000 bytes/);
            assert.deepStrictEqual(await fetched(room, small.id), small.data);
            assert.strictEqual(server.contentStore.bytes, cost(4000));
            // Part by part: the part that makes it too large is refused, and the content is dropped.
            const growing = contentId();
            assert.deepStrictEqual(await put(room, growing, 0, 3, bytes(4000)), { ok: true });
            assert.deepStrictEqual(await put(room, growing, 1, 3, bytes(4000)), { ok: true });
            assert.strictEqual((await put(room, growing, 2, 3, bytes(4000))).error.code, 'too-large');
            assert.deepStrictEqual(server.contentStore.partsOf(room.roomId, growing), []);
            assert.strictEqual(await fetched(room, growing), 'not-found');
        });

        it('evicts content of any room to stay under the process limit', async () => {
            await start({ contentBytes: 2 * cost(3000) + 100 });
            const first = await createRoom(server, 1, clients);
            const second = await createRoom(server, 1, clients);
            const a = await store(first, 3000);
            const b = await store(second, 3000);
            const c = await store(first, 3000);
            assert.strictEqual(await fetched(first, a.id), 'not-found');
            assert.deepStrictEqual(await fetched(second, b.id), b.data);
            assert.deepStrictEqual(await fetched(first, c.id), c.data);
            assert.strictEqual((await put(second, contentId(), 0, 1, bytes(3 * 3000))).error.code, 'too-large');
            assert.strictEqual(server.contentStore.size, 2);
        });

        it('keeps a room\'s content within its guaranteed share while another room floods the store', async () => {
            const share = 3 * cost(3000);
            await start({ contentBytes: 6 * cost(3000), contentReservedBytesPerRoom: share });
            const quiet = await createRoom(server, 1, clients);
            const flooder = await createRoom(server, 1, clients);
            // Two contents, one of them in two parts: within the share.
            const kept = await store(quiet, 3000);
            const twoParts = contentId();
            const parts = [bytes(1400), bytes(1400)];
            assert.deepStrictEqual(await put(quiet, twoParts, 1, 2, parts[1]), { ok: true });
            assert.deepStrictEqual(await put(quiet, twoParts, 0, 2, parts[0]), { ok: true });
            assert.ok(server.contentStore.roomBytes(quiet.roomId) <= share);
            // The flooder fills the store over and over, with contents large and small.
            let accepted = 0;
            for (let i = 0; i < 40; i++) {
                const size = [3000, 9000, 500, 12_000][i % 4];
                const result = await put(flooder, contentId(), 0, 1, bytes(size));
                accepted += result.ok ? 1 : 0;
                assert.ok(result.ok || result.error.code === 'too-large', JSON.stringify(result));
            }
            assert.ok(accepted >= 30, `${accepted} of the flooder's puts went through, evicting its own content`);
            assert.ok(server.contentStore.bytes <= 6 * cost(3000));
            // The quiet room's content is all there, byte for byte.
            assert.deepStrictEqual(await fetched(quiet, kept.id), kept.data);
            assert.deepStrictEqual(await fetched(quiet, twoParts, 0), parts[0]);
            assert.deepStrictEqual(await fetched(quiet, twoParts, 1), parts[1]);
        });

        it('refuses a put that could only fit by evicting other rooms within their share', async () => {
            const share = 2 * cost(3000);
            await start({ contentBytes: 4 * cost(3000), contentReservedBytesPerRoom: share });
            const first = await createRoom(server, 1, clients);
            const second = await createRoom(server, 1, clients);
            const third = await createRoom(server, 1, clients);
            const held = [await store(first, 3000), await store(first, 3000), await store(second, 3000), await store(second, 3000)];
            const refused = await put(third, contentId(), 0, 1, bytes(3000));
            assert.strictEqual(refused.error.code, 'too-large');
            assert.match(refused.error.message, /guaranteed shares/);
            for (const [index, content] of held.entries()) {
                assert.deepStrictEqual(await fetched(index < 2 ? first : second, content.id), content.data);
            }
            // Once a room gives something back, the newcomer fits.
            assert.deepStrictEqual(await second.host.request('content:delete', { roomId: second.roomId, contentId: held[3].id }), { ok: true });
            const late = await store(third, 3000);
            assert.deepStrictEqual(await fetched(third, late.id), late.data);
        });

        it('refuses every put when contentBytes is 0', async () => {
            await start({ contentBytes: 0 });
            const room = await createRoom(server, 1, clients);
            const refused = await put(room, contentId(), 0, 1, bytes(1));
            assert.strictEqual(refused.error.code, 'too-large');
            assert.match(refused.error.message, /does not store content/);
            assert.strictEqual((await put(room, contentId(), 0, 1, bytes(0))).error.code, 'too-large');
            assert.strictEqual(server.contentStore.size, 0);
            // Members still get their answer: nothing is stored.
            assert.strictEqual(await fetched(room, contentId()), 'not-found');
        });

        it('refuses malformed payloads and keeps serving', async () => {
            await start();
            const room = await createRoom(server, 1, clients);
            const roomId = room.roomId;
            const id = contentId();
            const oversized = await put(room, id, 0, 1, bytes(Limits.maxPayloadBytes + 1));
            assert.strictEqual(oversized.error.code, 'too-large');
            const cases: [string, unknown][] = [
                ['content:put', { roomId, contentId: 'short', index: 0, count: 1, data: bytes(1) }],
                ['content:put', { roomId, contentId: 'not an id, has spaces', index: 0, count: 1, data: bytes(1) }],
                ['content:put', { roomId, contentId: 'x'.repeat(Limits.maxIdLength + 1), index: 0, count: 1, data: bytes(1) }],
                ['content:put', { roomId, contentId: id, index: -1, count: 1, data: bytes(1) }],
                ['content:put', { roomId, contentId: id, index: 0.5, count: 1, data: bytes(1) }],
                ['content:put', { roomId, contentId: id, index: Limits.maxContentParts, count: Limits.maxContentParts, data: bytes(1) }],
                ['content:put', { roomId, contentId: id, index: 0, count: Limits.maxContentParts + 1, data: bytes(1) }],
                ['content:put', { roomId, contentId: id, index: 0, count: 0, data: bytes(1) }],
                ['content:put', { roomId, contentId: id, index: 0, count: 1, data: 'text' }],
                ['content:put', { roomId, contentId: id, index: 0, count: 1 }],
                ['content:put', { roomId, contentId: id, index: 0, count: 1, data: bytes(1), extra: true }],
                ['content:put', { roomId: 'short', contentId: id, index: 0, count: 1, data: bytes(1) }],
                ['content:put', [roomId, id, 0, 1]],
                ['content:put', null],
                ['content:get', { roomId, contentId: id, index: -1 }],
                ['content:get', { roomId, contentId: id, index: Limits.maxContentParts }],
                ['content:get', { roomId, contentId: id, index: '0' }],
                ['content:get', { roomId, contentId: 'short', index: 0 }],
                ['content:delete', { roomId, contentId: id, index: 0 }],
                ['content:delete', { roomId }]
            ];
            for (const [event, payload] of cases) {
                const response = await room.host.request(event, payload);
                assert.strictEqual(response.ok, false, `${event} ${JSON.stringify(payload)} was accepted`);
                assert.strictEqual(response.error.code, 'bad-request', `${event} ${JSON.stringify(payload)}: ${response.error.code}`);
            }
            room.host.socket.emit('content:put', { roomId, contentId: 'bad' });
            assert.strictEqual((await room.host.waitFor('server:error')).code, 'bad-request');
            assert.strictEqual(server.contentStore.size, 0);
            assert.ok(room.host.socket.connected && room.guests[0].socket.connected);
            // Still serving: the largest part the protocol allows goes through.
            const largest = bytes(Limits.maxPayloadBytes);
            assert.deepStrictEqual(await put(room, id, Limits.maxContentParts - 1, Limits.maxContentParts, largest), { ok: true });
            const late = await connect(server, { name: 'Late' });
            clients.push(late);
            await admitGuest(room, late);
            assert.strictEqual((await get(room, id, Limits.maxContentParts - 1, late)).error.code, 'not-found');
        });

        it('refuses parts above a lower payload limit of the server', async () => {
            await start({ maxPayloadBytes: Limits.minPayloadBytes });
            const room = await createRoom(server, 1, clients);
            assert.strictEqual((await put(room, contentId(), 0, 1, bytes(Limits.minPayloadBytes + 1))).error.code, 'too-large');
            const { id, data } = await store(room, Limits.minPayloadBytes);
            assert.deepStrictEqual(await fetched(room, id), data);
        });
    });

    describe('the store', () => {
        it('drops incomplete content nobody added to for a while, and lets it be evicted', () => {
            const store = new ContentStore({ bytesPerRoom: 2 * cost(1000) + 10, bytes: 1_000_000, staleMs: 1000 });
            store.put('room', 'incomplete', 0, 2, bytes(1000), 0);
            store.put('room', 'complete', 0, 1, bytes(1000), 0);
            assert.strictEqual(store.sweep(999), 0);
            assert.strictEqual(store.size, 2);
            // Not stale yet: not evicted, the complete one is.
            store.put('room', 'third', 0, 1, bytes(1000), 500);
            assert.strictEqual(store.get('room', 'complete', 0), undefined);
            assert.ok(store.get('room', 'third', 0));
            assert.deepStrictEqual(store.partsOf('room', 'incomplete').length, 1);
            // Stale: evicted before the more recently used complete one.
            store.put('room', 'fourth', 0, 1, bytes(1000), 1000);
            assert.deepStrictEqual(store.partsOf('room', 'incomplete'), []);
            assert.ok(store.get('room', 'third', 0));
            // Full again: the least recently used complete one goes (third was just fetched).
            store.put('room', 'fifth', 0, 3, bytes(10), 1000);
            assert.strictEqual(store.get('room', 'fourth', 0), undefined);
            assert.strictEqual(store.sweep(1999), 0);
            assert.strictEqual(store.sweep(2000), 1);
            assert.deepStrictEqual(store.partsOf('room', 'fifth'), []);
            assert.ok(store.get('room', 'third', 0));
            assert.strictEqual(store.bytes, cost(1000));
        });

        it('evicts other rooms only above their guaranteed share, least recently used first', () => {
            const store = new ContentStore({ bytesPerRoom: 100_000, bytes: 5 * cost(1000), reservedBytesPerRoom: 2 * cost(1000) });
            for (const id of ['x1', 'x2', 'x3', 'x4']) {
                store.put('big', id, 0, 1, bytes(1000));
            }
            store.put('small', 's1', 0, 1, bytes(1000));
            assert.strictEqual(store.bytes, 5 * cost(1000));
            // 'big' is above its share: its least recently used contents make room, down to its share.
            store.put('other', 'o1', 0, 1, bytes(1000));
            assert.deepStrictEqual(store.contentIds('big'), ['x2', 'x3', 'x4']);
            assert.ok(store.get('big', 'x2', 0));
            store.put('other', 'o2', 0, 1, bytes(1000));
            assert.deepStrictEqual(store.contentIds('big'), ['x4', 'x2']);
            // Now every other room is within its share: 'other' evicts its own.
            store.put('other', 'o3', 0, 1, bytes(1000));
            assert.deepStrictEqual(store.contentIds('other'), ['o2', 'o3']);
            assert.deepStrictEqual(store.contentIds('big'), ['x4', 'x2']);
            assert.deepStrictEqual(store.contentIds('small'), ['s1']);
            // A newcomer with nothing of its own to give is refused; nobody within the share loses anything.
            assert.throws(() => store.put('newcomer', 'n1', 0, 1, bytes(1000)), (error: any) => error.code === 'too-large');
            assert.deepStrictEqual([store.contentIds('big'), store.contentIds('small'), store.contentIds('other')], [['x4', 'x2'], ['s1'], ['o2', 'o3']]);
            assert.strictEqual(store.roomBytes('newcomer'), 0);
            // Without a share (0), the least recently used content of any room goes.
            const plain = new ContentStore({ bytesPerRoom: 100_000, bytes: 2 * cost(1000), reservedBytesPerRoom: 0 });
            plain.put('a', 'a1', 0, 1, bytes(1000));
            plain.put('b', 'b1', 0, 1, bytes(1000));
            plain.put('c', 'c1', 0, 1, bytes(1000));
            assert.deepStrictEqual(plain.roomIds().sort(), ['b', 'c']);
        });

        it('keeps its own copy of data that is a view into a larger buffer', () => {
            const store = new ContentStore({ bytesPerRoom: 100_000, bytes: 100_000 });
            const backing = new Uint8Array(64 * 1024).fill(7);
            store.put('room', 'view', 0, 1, backing.subarray(100, 200));
            const part = store.get('room', 'view', 0)!;
            assert.strictEqual(part.byteLength, 100);
            assert.strictEqual(part.buffer.byteLength, 100);
            backing.fill(1);
            assert.ok(part.every(value => value === 7));
        });

        it('drops the content of rooms that are gone', async () => {
            const store = new ContentStore({ bytesPerRoom: 100_000, bytes: 100_000 });
            store.put('open', 'a', 0, 1, bytes(10));
            store.put('gone', 'b', 0, 1, bytes(10));
            store.put('gone', 'c', 0, 2, bytes(10));
            await store.dropClosedRooms(async roomId => roomId === 'open');
            assert.deepStrictEqual(store.roomIds(), ['open']);
            assert.strictEqual(store.bytes, cost(10));
            await assert.rejects(store.dropClosedRooms(async () => { throw new Error('store down'); }), /store down/);
            assert.strictEqual(store.size, 1);
        });
    });

    describe('options', () => {
        it('reads contentBytesPerRoom and contentBytes from flags, environment and config file, and checks them', () => {
            assert.deepStrictEqual(parseArgs(['--content-bytes-per-room', '1048576', '--content-bytes=0']).options, { contentBytesPerRoom: 1048576, contentBytes: 0 });
            assert.deepStrictEqual(loadConfigFromEnv({ COLLAB_CONTENT_BYTES_PER_ROOM: '2048', COLLAB_CONTENT_BYTES: '4096' }), { contentBytesPerRoom: 2048, contentBytes: 4096 });
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collab-content-config-'));
            try {
                const file = path.join(dir, 'config.json');
                fs.writeFileSync(file, JSON.stringify({ contentBytesPerRoom: 1000, contentBytes: 5000 }));
                assert.deepStrictEqual(loadConfigFile(file), { contentBytesPerRoom: 1000, contentBytes: 5000 });
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
            const defaults = resolveOptions({});
            assert.strictEqual(defaults.contentBytesPerRoom, 64 * 1024 * 1024);
            assert.strictEqual(defaults.contentBytes, 512 * 1024 * 1024);
            assert.strictEqual(resolveOptions({ contentBytes: 0 }).contentBytes, 0);
            assert.throws(() => parseArgs(['--content-bytes', 'lots']), /--content-bytes/);
            assert.throws(() => loadConfigFromEnv({ COLLAB_CONTENT_BYTES_PER_ROOM: '-1' }), /COLLAB_CONTENT_BYTES_PER_ROOM/);
            assert.throws(() => resolveOptions({ contentBytes: -1 }), /contentBytes must be/);
            assert.throws(() => resolveOptions({ contentBytes: 1.5 }), /contentBytes must be/);
            assert.throws(() => resolveOptions({ contentBytesPerRoom: 0 }), /contentBytesPerRoom must be/);
            assert.throws(() => resolveOptions({ contentBytesPerRoom: '64MiB' as unknown as number }), /contentBytesPerRoom must be/);
        });

        it('reads contentReservedBytesPerRoom from flags, environment and config file, derives its default, and checks it', () => {
            assert.deepStrictEqual(parseArgs(['--content-reserved-bytes-per-room', '4096']).options, { contentReservedBytesPerRoom: 4096 });
            assert.deepStrictEqual(loadConfigFromEnv({ COLLAB_CONTENT_RESERVED_BYTES_PER_ROOM: '0' }), { contentReservedBytesPerRoom: 0 });
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collab-content-config-'));
            try {
                const file = path.join(dir, 'config.json');
                fs.writeFileSync(file, JSON.stringify({ contentReservedBytesPerRoom: 1000 }));
                assert.deepStrictEqual(loadConfigFile(file), { contentReservedBytesPerRoom: 1000 });
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
            // Default: the instance bound split 64 ways (8 MiB of 512 MiB), at most the room bound.
            assert.strictEqual(resolveOptions({}).contentReservedBytesPerRoom, 8 * 1024 * 1024);
            assert.strictEqual(resolveOptions({ contentBytesPerRoom: 1000 }).contentReservedBytesPerRoom, 1000);
            assert.strictEqual(resolveOptions({ contentBytes: 0 }).contentReservedBytesPerRoom, 0);
            assert.strictEqual(resolveOptions({ contentReservedBytesPerRoom: 0 }).contentReservedBytesPerRoom, 0);
            assert.throws(() => resolveOptions({ contentReservedBytesPerRoom: -1 }), /contentReservedBytesPerRoom must be/);
            assert.throws(() => resolveOptions({ contentBytesPerRoom: 1000, contentReservedBytesPerRoom: 1001 }), /may not exceed/);
            assert.throws(() => parseArgs(['--content-reserved-bytes-per-room', 'half']), /--content-reserved-bytes-per-room/);
        });
    });

    describe('with several instances (Redis)', function () {
        this.timeout(30_000);
        let redis: TestRedis;
        const servers: ServerHandle[] = [];

        before(async () => {
            redis = await startRedis();
        });

        after(async () => {
            await redis?.stop();
        });

        afterEach(async () => {
            clients.forEach(client => client.close());
            clients = [];
            await Promise.all(servers.splice(0).map(instance => instance.close()));
        });

        it('serves content from the instance it was put on; members on another instance get not-found', async () => {
            const secret = crypto.randomBytes(32).toString('base64url');
            const options = { redisUrl: redis.url, redisPrefix: `content${Date.now()}:`, secret };
            const a = await startTestServer(options);
            servers.push(a);
            const b = await startTestServer(options);
            servers.push(b);
            const room = await createRoom(a, 1, clients);
            const onB = await connect(b, { name: 'On B' });
            clients.push(onB);
            await admitGuest(room, onB);
            const { id, data } = await store(room, 5000);
            assert.deepStrictEqual(await fetched(room, id), data);
            assert.strictEqual((await get(room, id, 0, onB)).error.code, 'not-found');
            assert.strictEqual(b.contentStore.size, 0);
            assert.strictEqual(a.contentStore.size, 1);
        });
    });
});
