import * as assert from 'node:assert/strict';
import { CollaborationError } from './errors';
import { MissedMessages, MissedMessagesSource, QUIET_DUPLICATES_MS, REPLAY_TIMEOUT_MS } from './missed-messages';

const ROOM = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

describe('missed messages', () => {
    let clock = 0;
    const now = () => clock;
    beforeEach(() => clock = 1_000_000);

    /** A source whose server answers 'room:replay' with `answer` (or fails when it is an Error). */
    function source(answer: unknown, closeAfter = Infinity) {
        const asked: { event: string; payload: unknown; timeout?: number }[] = [];
        const opened: unknown[] = [];
        const warnings: string[] = [];
        const replaySource: MissedMessagesSource = {
            roomId: ROOM,
            connection: {
                logger: { warn: (message: string) => warnings.push(message), error: () => undefined, info: () => undefined },
                request: async <T>(event: string, payload: object, timeout?: number): Promise<T> => {
                    asked.push({ event, payload, timeout });
                    if (answer instanceof Error) {
                        throw answer;
                    }
                    return answer as T;
                }
            },
            openedUpTo: () => ({ alice: 7, bob: 3 }),
            open: async envelope => {
                clock += 1;
                opened.push(envelope);
            },
            isClosed: () => opened.length >= closeAfter
        };
        return { replaySource, asked, opened, warnings };
    }

    it('asks for everything after what was opened from each sender, opens the answer in order, and says whether it was all', async () => {
        const { replaySource, asked, opened } = source({ envelopes: ['a', 'b', 'c'], complete: true });
        assert.equal(await new MissedMessages(replaySource, now).catchUp(), true);
        assert.deepEqual(asked, [{ event: 'room:replay', payload: { roomId: ROOM, after: { alice: 7, bob: 3 } }, timeout: REPLAY_TIMEOUT_MS }]);
        assert.deepEqual(opened, ['a', 'b', 'c']);
        const partial = source({ envelopes: ['d'], complete: false });
        assert.equal(await new MissedMessages(partial.replaySource, now).catchUp(), false);
    });

    it('reports messages lost when the server does not answer, answers something malformed, or the session closes meanwhile', async () => {
        const failed = source(new CollaborationError('timeout', 'No answer.'));
        assert.equal(await new MissedMessages(failed.replaySource, now).catchUp(), false);
        assert.match(failed.warnings[0], /No answer/);
        const malformed = source({ envelopes: 'not a list', complete: true });
        assert.equal(await new MissedMessages(malformed.replaySource, now).catchUp(), false);
        assert.deepEqual(malformed.opened, []);
        const closing = source({ envelopes: ['a', 'b', 'c'], complete: true }, 2);
        assert.equal(await new MissedMessages(closing.replaySource, now).catchUp(), false);
        assert.deepEqual(closing.opened, ['a', 'b']);
    });

    it('expects duplicates only for a while after a replay', async () => {
        const missed = new MissedMessages(source({ envelopes: ['a'], complete: true }).replaySource, now);
        assert.equal(missed.expectsDuplicates(), false, 'nothing replayed yet');
        await missed.catchUp();
        assert.ok(missed.expectsDuplicates());
        clock += QUIET_DUPLICATES_MS - 1;
        assert.ok(missed.expectsDuplicates());
        clock += 1;
        assert.equal(missed.expectsDuplicates(), false);
    });
});
