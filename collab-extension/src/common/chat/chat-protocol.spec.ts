import * as assert from 'assert';
import { ChatLimits, ChatMessage, ChatSendParams } from './chat-protocol';

describe('chat protocol', () => {

    it('accepts markup as plain text', () => {
        const text = '<img src=x onerror=alert(1)>';
        assert.deepStrictEqual(ChatSendParams.parse({ text }), { text });
    });

    it('refuses empty, oversized and malformed messages', () => {
        assert.ok(!ChatSendParams.safeParse({ text: '   ' }).success);
        assert.ok(!ChatSendParams.safeParse({ text: 'x'.repeat(ChatLimits.maxMessageBytes + 1) }).success);
        // 4 KB is counted in UTF-8 bytes: 1366 '€' take 4098 bytes.
        assert.ok(!ChatSendParams.safeParse({ text: '€'.repeat(1366) }).success);
        assert.ok(ChatSendParams.safeParse({ text: '€'.repeat(1365) }).success);
        assert.ok(!ChatSendParams.safeParse({ text: 5 }).success);
        assert.ok(!ChatSendParams.safeParse({ text: 'hi', author: 'someone else' }).success);
        assert.ok(!ChatMessage.safeParse({ id: 1, authorId: 'a', authorName: 'A', time: 1, text: 'x', html: '<b>' }).success);
    });
});
