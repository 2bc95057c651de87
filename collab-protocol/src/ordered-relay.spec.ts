import * as assert from 'node:assert/strict';
import { Deferred } from './concurrency';
import { OrderedRelay } from './ordered-relay';

describe('ordered relay', () => {
    it('emits an envelope sealed at once before send() returns when nothing waits', async () => {
        const emitted: string[] = [];
        const relay = new OrderedRelay<string>(async envelope => { emitted.push(envelope); });
        const sent = relay.send('a');
        assert.deepEqual(emitted, ['a']);
        await sent;
    });

    it('emits in send order although sealing finishes in another order, and nothing overtakes what waits', async () => {
        const emitted: string[] = [];
        const relay = new OrderedRelay<string>(async envelope => { emitted.push(envelope); });
        const first = new Deferred<string>();
        const second = new Deferred<string>();
        const sends = [relay.send(first.promise), relay.send(second.promise), relay.send('sealed at once')];
        assert.ok(relay.waiting);
        second.resolve('second');
        await new Promise(resolve => setTimeout(resolve, 5));
        assert.deepEqual(emitted, [], 'the second waits for the first');
        first.resolve('first');
        await Promise.all(sends);
        assert.deepEqual(emitted, ['first', 'second', 'sealed at once']);
        assert.equal(relay.waiting, false);
    });

    it('rejects only the send whose sealing failed or that may not go any more; the rest still go', async () => {
        const emitted: string[] = [];
        let allowed = true;
        const relay = new OrderedRelay<string>(async envelope => { emitted.push(envelope); }, () => {
            if (!allowed) {
                throw new Error('disconnected');
            }
        });
        const failing = relay.send(Promise.reject(new Error('sealing failed')));
        const next = relay.send(Promise.resolve('next'));
        await assert.rejects(failing, /sealing failed/);
        await next;
        allowed = false;
        await assert.rejects(relay.send(Promise.resolve('refused')), /disconnected/);
        allowed = true;
        await relay.send(Promise.resolve('after'));
        assert.deepEqual(emitted, ['next', 'after']);
    });

    it('lets the queue move on once an envelope is emitted, without waiting for the server to accept it', async () => {
        const acknowledgements: Deferred[] = [];
        const emitted: string[] = [];
        const relay = new OrderedRelay<string>(envelope => {
            emitted.push(envelope);
            const acknowledged = new Deferred();
            acknowledgements.push(acknowledged);
            return acknowledged.promise;
        });
        const first = relay.send(Promise.resolve('1'));
        const second = relay.send(Promise.resolve('2'));
        await new Promise(resolve => setTimeout(resolve, 5));
        assert.deepEqual(emitted, ['1', '2']);
        acknowledgements[1].resolve();
        await second;
        acknowledgements[0].reject(new Error('refused by the server'));
        await assert.rejects(first, /refused by the server/);
    });
});
