import * as assert from 'node:assert/strict';
import { estimateEventBytes, SendPacer } from './send-pacer';

describe('SendPacer', () => {
    const limits = (events: number, bytes: number) => ({ maxPayloadBytes: 1 << 20, events: { max: events, windowMs: 1000 }, bytes: { max: bytes, windowMs: 1000 }, replayWindowMs: 0 });

    it('sends at once, in the calling task, while within budget and nothing waits', () => {
        const pacer = new SendPacer();
        pacer.setLimits(limits(100, 1_000_000));
        const sent: number[] = [];
        for (let i = 0; i < 10; i++) {
            pacer.schedule(100, () => sent.push(i));
        }
        assert.deepEqual(sent, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert.equal(pacer.waiting, 0);
    });

    it('spreads a burst over the server\'s event budget, in order, never above it', async () => {
        let now = 0;
        const pacer = new SendPacer(() => now);
        pacer.setLimits(limits(20, 1_000_000));
        const sentAt: number[] = [];
        for (let i = 0; i < 40; i++) {
            pacer.schedule(10, () => sentAt.push(now));
        }
        // 85 % of 20 at once, the rest as the bucket refills (17 per second).
        assert.equal(sentAt.length, 17);
        for (let step = 0; step < 200 && sentAt.length < 40; step++) {
            now += 20;
            await new Promise(resolve => setTimeout(resolve, 2));
        }
        assert.equal(sentAt.length, 40);
        // Any one-second window holds no more than the server's 20 + the refill of that second.
        for (const start of sentAt) {
            assert.ok(sentAt.filter(at => at >= start && at < start + 1000).length <= 20 + 17);
        }
        assert.ok(sentAt[39] >= 1000, 'the burst took over a second');
    });

    it('paces bytes: 10 parts of 8 MiB under 32 MiB/s take about 2.5 s, the first at once', async function () {
        this.timeout(10_000);
        const pacer = new SendPacer();
        pacer.setLimits(limits(500, 32 * 1024 * 1024));
        const start = Date.now();
        const sentAt: number[] = [];
        await new Promise<void>(resolve => {
            for (let i = 0; i < 10; i++) {
                pacer.schedule(8 * 1024 * 1024, () => {
                    sentAt.push(Date.now() - start);
                    if (sentAt.length === 10) {
                        resolve();
                    }
                });
            }
            assert.equal(sentAt.length, 3, '85 % of a full bucket leaves at once');
        });
        // The rest at 85 % of 32 MiB/s: (56 MiB - the 3.2 MiB left in the bucket) / 27.2 MiB/s = 1.94 s.
        assert.ok(sentAt[9] >= 1800 && sentAt[9] <= 4000, `last part after ${sentAt[9]} ms`);
    });

    it('without limits (a server that does not say) sends everything at once', () => {
        const pacer = new SendPacer();
        let sent = 0;
        for (let i = 0; i < 1000; i++) {
            pacer.schedule(1 << 20, () => sent++);
        }
        assert.equal(sent, 1000);
    });

    it('flush runs what waits (each send then fails by itself on a closed connection)', () => {
        const pacer = new SendPacer(() => 0);
        pacer.setLimits(limits(1, 1_000_000));
        let sent = 0;
        pacer.schedule(1, () => sent++);
        pacer.schedule(1, () => sent++);
        pacer.schedule(1, () => sent++);
        assert.equal(sent, 1);
        pacer.flush();
        assert.equal(sent, 3);
        assert.equal(pacer.waiting, 0);
    });

    it('estimates an event\'s size as the server does', () => {
        assert.equal(estimateEventBytes({ roomId: 'abc', data: new Uint8Array(1000) }), 64 + 3 + 1000);
    });
});
