import * as assert from 'assert';
import { splitText, TerminalInputParams, TerminalLimits, TerminalOutputParams, SharedTerminalInfo } from './terminal-protocol';

describe('terminal protocol', () => {

    it('splits text into bounded pieces without breaking surrogate pairs', () => {
        assert.deepStrictEqual(splitText('', 3), []);
        assert.deepStrictEqual(splitText('abcdefg', 3), ['abc', 'def', 'g']);
        assert.deepStrictEqual(splitText('ab😀cd', 3), ['ab', '😀c', 'd']);
        const long = 'x'.repeat(10_000);
        assert.strictEqual(splitText(long, TerminalLimits.maxInputChunk).join(''), long);
    });

    it('bounds and checks payloads', () => {
        assert.ok(TerminalInputParams.safeParse({ id: 'abc', data: 'ls\r' }).success);
        assert.ok(!TerminalInputParams.safeParse({ id: 'abc', data: 'x'.repeat(TerminalLimits.maxInputChunk + 1) }).success);
        assert.ok(!TerminalInputParams.safeParse({ id: '../x', data: 'ls' }).success);
        assert.ok(!TerminalInputParams.safeParse({ id: 'abc', data: 'ls', extra: 1 }).success);
        assert.ok(!TerminalOutputParams.safeParse({ id: 'abc', offset: -1, data: 'x' }).success);
        assert.ok(!TerminalOutputParams.safeParse({ id: 'abc', offset: 0, data: 5 }).success);
        assert.ok(!SharedTerminalInfo.safeParse({ id: 'a', title: 't', writable: true, cols: 0, rows: 10 }).success);
        assert.ok(SharedTerminalInfo.safeParse({ id: 'a', title: 't', writable: true, cols: 80, rows: 24 }).success);
    });
});
