import * as assert from 'node:assert/strict';
import { HELD_MS, HeldEnvelopes, MAX_HELD } from './held-envelopes';

describe('held envelopes', () => {
    let clock = 0;
    const now = () => clock;
    beforeEach(() => clock = 1_000_000);

    it('gives back what it holds in arrival order, each with the time it first arrived, once', () => {
        const held = new HeldEnvelopes(now);
        assert.ok(held.hold('a', 'alice'));
        clock += 5;
        assert.ok(held.hold('b', 'bob'));
        // Held again after a retry: keeps its first arrival time.
        assert.ok(held.hold('c', 'carol', clock - 1000));
        assert.deepEqual(held.takeAll(), [
            { payload: 'a', sender: 'alice', at: 1_000_000 },
            { payload: 'b', sender: 'bob', at: 1_000_005 },
            { payload: 'c', sender: 'carol', at: 999_005 }
        ]);
        assert.deepEqual(held.takeAll(), []);
    });

    it('refuses an envelope that waited its time already, and drops those that expire while held', () => {
        const held = new HeldEnvelopes(now);
        assert.equal(held.hold('late', 'alice', clock - HELD_MS), false);
        assert.ok(held.hold('early', 'alice'));
        clock += HELD_MS / 2;
        assert.ok(held.hold('later', 'bob'));
        clock += HELD_MS / 2;
        assert.deepEqual(held.takeAll().map(item => item.payload), ['later']);
    });

    it('holds at most MAX_HELD envelopes: a sender nobody vouches for cannot make a peer keep its traffic', () => {
        const held = new HeldEnvelopes(now);
        for (let i = 0; i < MAX_HELD; i++) {
            assert.ok(held.hold(i, 'flooder'));
        }
        assert.equal(held.hold('one more', 'flooder'), false);
        assert.equal(held.size, MAX_HELD);
        // Room again once the old ones expire.
        clock += HELD_MS;
        assert.ok(held.hold('fresh', 'alice'));
        assert.equal(held.size, 1);
    });

    it('forgets what a departed peer sent, and everything on clear', () => {
        const held = new HeldEnvelopes(now);
        held.hold(1, 'alice');
        held.hold(2, 'bob');
        held.hold(3, 'alice');
        held.dropFrom('alice');
        assert.deepEqual(held.takeAll().map(item => item.payload), [2]);
        held.hold(4, 'bob');
        held.clear();
        assert.equal(held.size, 0);
    });
});
