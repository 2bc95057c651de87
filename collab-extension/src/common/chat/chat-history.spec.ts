import * as assert from 'assert';
import { ChatHistory } from './chat-history';
import { ChatMessage } from './chat-protocol';

function message(id: number, text = `m${id}`): ChatMessage {
    return { id, authorId: 'p', authorName: 'P', time: 1000 + id, text };
}

describe('ChatHistory', () => {

    it('stamps posts with increasing ids, the author and the time', () => {
        const history = new ChatHistory(10);
        const first = history.post({ id: 'a', name: 'Alice' }, 'hello', 5000);
        const second = history.post({ id: 'b', name: 'Bob' }, 'hi', 6000);
        assert.deepStrictEqual(first, { id: 1, authorId: 'a', authorName: 'Alice', time: 5000, text: 'hello' });
        assert.strictEqual(second.id, 2);
        assert.deepStrictEqual(history.messages.map(m => m.text), ['hello', 'hi']);
    });

    it('keeps only the newest messages', () => {
        const history = new ChatHistory(500);
        for (let i = 0; i < 600; i++) {
            history.post({ id: 'a', name: 'A' }, `message ${i}`);
        }
        assert.strictEqual(history.size, 500);
        assert.strictEqual(history.messages[0].text, 'message 100');
        assert.strictEqual(history.messages[499].text, 'message 599');
    });

    it('merges out-of-order and duplicate messages by id', () => {
        const history = new ChatHistory(10);
        assert.ok(history.add(message(3)));
        assert.ok(history.add(message(1)));
        assert.ok(history.add(message(2)));
        assert.ok(!history.add(message(2, 'other')));
        assert.deepStrictEqual(history.messages.map(m => m.id), [1, 2, 3]);
        assert.strictEqual(history.messages[1].text, 'm2');
        // New posts continue after the highest id seen.
        assert.strictEqual(history.post({ id: 'a', name: 'A' }, 'next').id, 4);
    });

    it('drops messages older than a full history', () => {
        const history = new ChatHistory(2);
        history.add(message(5));
        history.add(message(6));
        assert.ok(!history.add(message(1)));
        history.add(message(7));
        assert.deepStrictEqual(history.messages.map(m => m.id), [6, 7]);
        assert.throws(() => new ChatHistory(0));
    });
});
