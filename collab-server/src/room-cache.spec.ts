import * as assert from 'assert';
import { RoomCache } from './room-cache';
import type { RoomRecord, RoomStore } from './rooms';

function record(id: string, version: number): RoomRecord {
    return { id, hostPeerId: 'host', createdAt: 0, expiresAt: 1e12, lastActivityAt: version, members: {}, pending: {} };
}

/** A store whose reads stay open until the test answers them. */
class SlowStore {
    readonly reads: { roomId: string; answer(room: RoomRecord | undefined): void; fail(error: Error): void }[] = [];

    get(roomId: string): Promise<RoomRecord | undefined> {
        return new Promise((resolve, reject) => this.reads.push({ roomId, answer: resolve, fail: reject }));
    }

    asStore(): RoomStore {
        return this as unknown as RoomStore;
    }
}

/** Whether `promise` settled by now (after pending callbacks ran). */
async function settled(promise: Promise<unknown>): Promise<boolean> {
    let done = false;
    promise.then(() => done = true, () => done = true);
    await new Promise(resolve => setImmediate(resolve));
    return done;
}

describe('room cache', () => {
    let store: SlowStore;
    let clock: number;
    let cache: RoomCache;

    beforeEach(() => {
        store = new SlowStore();
        clock = 1000;
        cache = new RoomCache(store.asStore(), 5000, 100, () => clock);
    });

    async function prime(version = 1): Promise<void> {
        const first = cache.get('r');
        store.reads.shift()!.answer(record('r', version));
        assert.strictEqual((await first)!.lastActivityAt, version);
    }

    it('serves a fresh entry without reading the store', async () => {
        await prime();
        clock += 2000;
        assert.strictEqual((await cache.get('r'))!.lastActivityAt, 1);
        assert.strictEqual(store.reads.length, 0);
    });

    it('serves an ageing entry at once while one background read refreshes it', async () => {
        await prime(1);
        clock += 3000;
        const served = cache.get('r');
        assert.ok(await settled(served), 'an entry past half its age limit must not wait for the store');
        assert.strictEqual((await served)!.lastActivityAt, 1);
        assert.strictEqual((await cache.get('r'))!.lastActivityAt, 1);
        assert.strictEqual(store.reads.length, 1, 'one refresh, not one per reader');
        store.reads.shift()!.answer(record('r', 2));
        await new Promise(resolve => setImmediate(resolve));
        clock += 1000;
        assert.strictEqual((await cache.get('r'))!.lastActivityAt, 2);
        assert.strictEqual(store.reads.length, 0);
    });

    it('waits for the store once an entry reached its age limit, one read for concurrent readers', async () => {
        await prime(1);
        clock += 5000;
        const readers = [cache.get('r'), cache.get('r'), cache.get('r')];
        assert.strictEqual(await settled(readers[0]), false);
        assert.strictEqual(store.reads.length, 1);
        store.reads.shift()!.answer(record('r', 2));
        assert.deepStrictEqual((await Promise.all(readers)).map(room => room!.lastActivityAt), [2, 2, 2]);
    });

    it('keeps serving an ageing entry when its refresh fails, and reports the failure once it is too old', async () => {
        await prime(1);
        clock += 3000;
        assert.strictEqual((await cache.get('r'))!.lastActivityAt, 1);
        store.reads.shift()!.fail(new Error('redis away'));
        await new Promise(resolve => setImmediate(resolve));
        clock += 2500;
        const late = cache.get('r');
        store.reads.shift()!.fail(new Error('redis away'));
        await assert.rejects(late, /redis away/);
    });

    it('serves an entry past its age limit while the store is away (Redis down), up to a bound', async () => {
        cache = new RoomCache(store.asStore(), 5000, 100, () => clock, 60_000);
        await prime(1);
        clock += 30_000;
        const during = cache.get('r');
        // node-redis refuses commands at once while its connection is down.
        store.reads.shift()!.fail(Object.assign(new Error('The client is offline'), { name: 'Error' }));
        assert.strictEqual((await during)!.lastActivityAt, 1, 'the last known record is served through an outage');
        // Back: the store's answer replaces it.
        const back = cache.get('r');
        store.reads.shift()!.answer(record('r', 2));
        assert.strictEqual((await back)!.lastActivityAt, 2);
        // Too old even for an outage: the failure is reported.
        clock += 61_000;
        const late = cache.get('r');
        store.reads.shift()!.fail(new Error('The client is offline'));
        await assert.rejects(late, /offline/);
        // Invalidated (a change this instance made or heard of): not served stale either.
        await prime(3);
        clock += 6000;
        cache.invalidate('r');
        const changed = cache.get('r');
        store.reads.shift()!.fail(new Error('The client is offline'));
        await assert.rejects(changed, /offline/);
    });

    it('does not hand a read started before an invalidation to readers after it, nor cache it', async () => {
        const before = cache.get('r');
        cache.invalidate('r');
        const after = cache.get('r');
        assert.strictEqual(store.reads.length, 2, 'a reader after the change starts its own read');
        store.reads[0].answer(record('r', 1));
        store.reads[1].answer(record('r', 2));
        assert.strictEqual((await before)!.lastActivityAt, 1);
        assert.strictEqual((await after)!.lastActivityAt, 2);
        store.reads.length = 0;
        assert.strictEqual((await cache.get('r'))!.lastActivityAt, 2);
        assert.strictEqual(store.reads.length, 0);
    });

    it('drops an entry on invalidation even while it is being refreshed', async () => {
        await prime(1);
        clock += 3000;
        await cache.get('r');
        cache.invalidate('r');
        store.reads.shift()!.answer(record('r', 2));
        const next = cache.get('r');
        assert.strictEqual(store.reads.length, 1);
        store.reads.shift()!.answer(record('r', 3));
        assert.strictEqual((await next)!.lastActivityAt, 3);
    });
});
