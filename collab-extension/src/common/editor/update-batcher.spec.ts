import * as assert from 'node:assert/strict';
import { UpdateBatcher } from './update-batcher';

const INTERVAL_MS = 60;
const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));
const endOfTask = () => new Promise<void>(resolve => queueMicrotask(resolve));

describe('UpdateBatcher', () => {
    let sent: number;
    let batcher: UpdateBatcher;

    beforeEach(() => {
        sent = 0;
        batcher = new UpdateBatcher(() => sent++, INTERVAL_MS);
    });

    afterEach(() => batcher.cancel());

    it('sends the first change after a quiet spell before schedule() returns', () => {
        batcher.schedule();
        assert.equal(sent, 1);
    });

    it('sends further changes of the same task at its end, and those after it when the interval ends, merged', async () => {
        batcher.schedule();
        batcher.schedule();
        batcher.schedule();
        assert.equal(sent, 1, 'the rest of the task waits for its end');
        await endOfTask();
        assert.equal(sent, 2, 'the same task\'s changes leave together at its end');
        await sleep(5);
        batcher.schedule();
        batcher.schedule();
        assert.equal(sent, 2, 'held for the interval');
        await sleep(INTERVAL_MS * 2);
        assert.equal(sent, 3, 'the held changes leave as one when the interval ends');
        await sleep(INTERVAL_MS * 2);
        batcher.schedule();
        assert.equal(sent, 4, 'quiet again: at once');
    });

    it('cancel() drops what was waiting, flushNow() sends it at once and starts over', async () => {
        batcher.schedule();
        await endOfTask();
        batcher.schedule();
        batcher.cancel();
        await sleep(INTERVAL_MS * 2);
        assert.equal(sent, 1);
        batcher.schedule();
        assert.equal(sent, 2);
        await endOfTask();
        batcher.schedule();
        batcher.flushNow();
        assert.equal(sent, 3);
        await sleep(INTERVAL_MS * 2);
        assert.equal(sent, 3, 'nothing left over');
    });
});
