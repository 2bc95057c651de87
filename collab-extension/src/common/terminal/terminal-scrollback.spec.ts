import * as assert from 'assert';
import { TerminalScrollback, utf8ByteLength, utf8Tail } from './terminal-scrollback';

describe('TerminalScrollback', () => {

    it('measures UTF-8 like TextEncoder', () => {
        for (const text of ['', 'abc', 'é', '€', '😀', 'a😀b€é\u001b[31mred', '\ud800x', 'x\udc00']) {
            assert.strictEqual(utf8ByteLength(text), new TextEncoder().encode(text).byteLength, JSON.stringify(text));
        }
    });

    it('takes UTF-8 tails without splitting surrogate pairs', () => {
        assert.strictEqual(utf8Tail('abc', 2), 'bc');
        assert.strictEqual(utf8Tail('a😀', 3), '');
        assert.strictEqual(utf8Tail('a😀', 4), '😀');
        assert.strictEqual(utf8Tail('a😀', 100), 'a😀');
        assert.strictEqual(utf8Tail('abc', 0), '');
    });

    it('keeps everything below the limit, in order', () => {
        const scrollback = new TerminalScrollback(1024);
        scrollback.append('$ echo hi\r\n');
        scrollback.append('\u001b[32mhi\u001b[0m\r\n');
        scrollback.append('');
        assert.strictEqual(scrollback.text, '$ echo hi\r\n\u001b[32mhi\u001b[0m\r\n');
        assert.strictEqual(scrollback.byteLength, utf8ByteLength(scrollback.text));
    });

    it('keeps only the last N bytes, cut at a line start', () => {
        const scrollback = new TerminalScrollback(100);
        for (let i = 0; i < 50; i++) {
            scrollback.append(`line ${String(i).padStart(3, '0')}\r\n`);
        }
        const text = scrollback.text;
        assert.ok(utf8ByteLength(text) <= 100, `kept ${utf8ByteLength(text)} bytes`);
        assert.ok(text.startsWith('line '), text);
        assert.ok(text.endsWith('line 049\r\n'), text);
        assert.strictEqual(scrollback.byteLength, utf8ByteLength(text));
        // 10 bytes a line: 100 bytes hold the last 10 lines exactly.
        assert.strictEqual(text.split('\r\n').length - 1, 10);
    });

    it('cuts a single huge chunk to its tail', () => {
        const scrollback = new TerminalScrollback(64);
        scrollback.append('x'.repeat(1000) + '\nend');
        assert.strictEqual(scrollback.text, 'end');
        scrollback.append('y'.repeat(1000));
        assert.strictEqual(scrollback.text.length, 64);
        assert.strictEqual(scrollback.byteLength, 64);
    });

    it('counts multi-byte characters as bytes', () => {
        const scrollback = new TerminalScrollback(10);
        scrollback.append('€€€€€');
        assert.strictEqual(scrollback.text, '€€€');
        assert.strictEqual(scrollback.byteLength, 9);
    });

    it('shrinks when the limit is lowered and can be cleared', () => {
        const scrollback = new TerminalScrollback(1000);
        scrollback.append('a\n'.repeat(400));
        scrollback.setLimit(10);
        assert.strictEqual(scrollback.text, 'a\n'.repeat(5));
        scrollback.clear();
        assert.strictEqual(scrollback.text, '');
        assert.strictEqual(scrollback.byteLength, 0);
        assert.throws(() => new TerminalScrollback(-1));
    });
});
