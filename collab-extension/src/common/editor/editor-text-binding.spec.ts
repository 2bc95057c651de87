import * as assert from 'assert';
import * as Y from 'yjs';
import { RemoteOrigin, SharedDocument } from './editor-document';
import { StringTextBuffer } from './editor-string-buffer';
import { applyEditsToString, deltaToEdits, diffEdit, TextBinding, toAbsoluteIndex, toRelativePosition, transformOffset } from './editor-text-binding';

/** Two windows whose documents exchange updates directly (what host and guest do through the session). */
function pair(initial = ''): { a: SharedDocument; b: SharedDocument; flush: () => void } {
    const a = new SharedDocument('root/file.txt');
    const b = new SharedDocument('root/file.txt');
    if (initial) {
        a.doc.transact(() => a.text.insert(0, initial), 'seed');
    }
    const queue: { to: SharedDocument; update: Uint8Array }[] = [];
    a.doc.on('update', (update: Uint8Array, origin: unknown) => { if (!(origin instanceof RemoteOrigin)) { queue.push({ to: b, update }); } });
    b.doc.on('update', (update: Uint8Array, origin: unknown) => { if (!(origin instanceof RemoteOrigin)) { queue.push({ to: a, update }); } });
    Y.applyUpdate(b.doc, Y.encodeStateAsUpdate(a.doc), new RemoteOrigin('a'));
    queue.length = 0;
    return {
        a, b, flush: () => {
            while (queue.length) {
                const { to, update } = queue.shift()!;
                Y.applyUpdate(to.doc, update, new RemoteOrigin(to === a ? 'b' : 'a'));
            }
        }
    };
}

describe('editor text binding', () => {

    describe('deltaToEdits', () => {
        it('converts retains, deletes and inserts into edits in original coordinates', () => {
            const edits = deltaToEdits([{ retain: 2 }, { delete: 3 }, { insert: 'XY' }, { retain: 4 }, { insert: 'Z' }, { delete: 1 }]);
            assert.deepStrictEqual(edits, [{ offset: 2, length: 3, text: 'XY' }, { offset: 9, length: 1, text: 'Z' }]);
            assert.strictEqual(applyEditsToString('0123456789ab', edits), '01XY5678Zab');
        });

        it('matches what Yjs does for random transactions', () => {
            let seed = 7;
            const random = (n: number) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
            const doc = new Y.Doc();
            const text = doc.getText('content');
            text.insert(0, 'the quick brown fox jumps over the lazy dog');
            let mirror = text.toString();
            text.observe(event => { mirror = applyEditsToString(mirror, deltaToEdits(event.delta as any)); });
            for (let round = 0; round < 300; round++) {
                doc.transact(() => {
                    for (let i = 0; i < 1 + random(4); i++) {
                        const at = random(text.length + 1);
                        if (random(2) && text.length > 0) {
                            text.delete(Math.min(at, text.length - 1), 1 + random(Math.max(1, text.length - at)));
                        } else {
                            text.insert(at, 'abc'.substring(random(3)));
                        }
                    }
                });
                assert.strictEqual(mirror, text.toString());
            }
        });
    });

    describe('diffEdit', () => {
        it('keeps the common prefix and suffix', () => {
            assert.deepStrictEqual(diffEdit('hello world', 'hello brave world'), { offset: 6, length: 0, text: 'brave ' });
            assert.deepStrictEqual(diffEdit('aaa', 'aa'), { offset: 2, length: 1, text: '' });
            assert.strictEqual(diffEdit('same', 'same'), undefined);
            assert.strictEqual(applyEditsToString('abcdef', [diffEdit('abcdef', 'abXYef')!]), 'abXYef');
        });

        it('never splits a surrogate pair', () => {
            const edit = diffEdit('a\u{1F600}b', 'a\u{1F601}b')!;
            assert.strictEqual(edit.text, '\u{1F601}');
            assert.strictEqual(edit.length, 2);
        });
    });

    describe('TextBinding', () => {
        it('replaces the buffer content with the shared text on bind (never inserts on top)', () => {
            const { b } = pair('shared content\n');
            const buffer = new StringTextBuffer('shared content\n');
            new TextBinding(b, buffer);
            assert.strictEqual(buffer.getValue(), 'shared content\n');
            const stale = new StringTextBuffer('old content on disk\n');
            new TextBinding(b, stale);
            assert.strictEqual(stale.getValue(), 'shared content\n');
        });

        it('propagates edits both ways without echo, concurrent edits in the same line converge', () => {
            const { a, b, flush } = pair('let x = 1;\n');
            const bufferA = new StringTextBuffer();
            const bufferB = new StringTextBuffer();
            new TextBinding(a, bufferA);
            new TextBinding(b, bufferB);
            let updatesFromB = 0;
            b.doc.on('update', (_: Uint8Array, origin: unknown) => { if (!(origin instanceof RemoteOrigin)) { updatesFromB++; } });
            bufferA.replace(4, 1, 'alpha');
            bufferB.replace(8, 1, '42');
            bufferB.replace(0, 0, '// b\n');
            flush();
            assert.strictEqual(bufferA.getValue(), bufferB.getValue());
            assert.strictEqual(bufferA.getValue(), '// b\nlet alpha = 42;\n');
            assert.strictEqual(a.text.toString(), bufferA.getValue());
            assert.strictEqual(updatesFromB, 2, 'remote edits applied to the buffer are not sent back');
        });

        it('normalises line endings to \\n on the Yjs side', () => {
            const { a, b, flush } = pair();
            const bufferA = new StringTextBuffer();
            const bufferB = new StringTextBuffer();
            new TextBinding(a, bufferA);
            new TextBinding(b, bufferB);
            bufferA.replace(0, 0, 'one\r\ntwo\rthree\n');
            flush();
            assert.strictEqual(a.text.toString(), 'one\ntwo\nthree\n');
            assert.strictEqual(bufferB.getValue(), 'one\ntwo\nthree\n');
        });

        it('applies multi-cursor changes given in pre-change coordinates', () => {
            const { a, b, flush } = pair('a1\na2\na3\n');
            const bufferA = new StringTextBuffer();
            const bufferB = new StringTextBuffer();
            new TextBinding(a, bufferA);
            new TextBinding(b, bufferB);
            bufferA.replaceAll([{ offset: 0, length: 1, text: 'XX' }, { offset: 3, length: 1, text: '' }, { offset: 6, length: 1, text: 'YYY' }]);
            flush();
            assert.strictEqual(bufferA.getValue(), 'XX1\n2\nYYY3\n');
            assert.strictEqual(bufferB.getValue(), bufferA.getValue());
        });

        it('undoes and redoes only its own edits', () => {
            const { a, b, flush } = pair('base\n');
            const bufferA = new StringTextBuffer();
            const bufferB = new StringTextBuffer();
            const bindingA = new TextBinding(a, bufferA, { captureTimeout: 0 });
            new TextBinding(b, bufferB, { captureTimeout: 0 });
            bufferA.replace(4, 0, ' from A');
            flush();
            bufferB.replace(0, 0, 'B says: ');
            flush();
            assert.strictEqual(bufferA.getValue(), 'B says: base from A\n');
            const undone = bindingA.undo();
            flush();
            assert.strictEqual(bufferA.getValue(), 'B says: base\n');
            assert.strictEqual(bufferB.getValue(), 'B says: base\n');
            assert.deepStrictEqual(undone, [{ offset: 12, length: 0, text: '' }]);
            bindingA.redo();
            flush();
            assert.strictEqual(bufferB.getValue(), 'B says: base from A\n');
            assert.strictEqual(bindingA.undo().length, 1);
            assert.strictEqual(bindingA.undo().length, 0, 'nothing of B is undone');
            flush();
            assert.strictEqual(bufferB.getValue(), 'B says: base\n');
        });

        it('re-attaches when the document is replaced (a guest re-synchronising)', () => {
            const { b } = pair('first\n');
            const buffer = new StringTextBuffer();
            new TextBinding(b, buffer);
            const fresh = new Y.Doc();
            fresh.getText('content').insert(0, 'host state\n');
            b.replaceDoc(fresh);
            assert.strictEqual(buffer.getValue(), 'host state\n');
            buffer.replace(0, 4, 'HOST');
            assert.strictEqual(b.text.toString(), 'HOST state\n');
        });
    });

    describe('transformOffset', () => {
        it('keeps a caret before text inserted exactly at it, and moves it with edits before it', () => {
            const edits = [{ offset: 2, length: 0, text: 'ab' }, { offset: 5, length: 0, text: 'XYZ' }, { offset: 8, length: 3, text: '' }];
            assert.strictEqual(transformOffset(0, edits), 0);
            assert.strictEqual(transformOffset(2, edits), 2, 'insertion at the caret goes after it');
            assert.strictEqual(transformOffset(3, edits), 5);
            assert.strictEqual(transformOffset(5, edits), 7);
            assert.strictEqual(transformOffset(6, edits), 11);
            assert.strictEqual(transformOffset(9, edits), 13, 'inside deleted text: where the deletion was');
            assert.strictEqual(transformOffset(11, edits), 13);
            assert.strictEqual(transformOffset(12, edits), 14);
        });

        it('with the caret kept before remote insertions, two people typing at one spot do not interleave', () => {
            const { a, b, flush } = pair('start: end');
            const bufferA = new StringTextBuffer();
            const bufferB = new StringTextBuffer();
            new TextBinding(a, bufferA);
            new TextBinding(b, bufferB);
            let caretA = 7;
            let caretB = 7;
            // Remote edits move the carets like the Monaco buffer does.
            a.text.observe((event, transaction) => { if (transaction.origin !== a.localOrigin) { caretA = transformOffset(caretA, deltaToEdits(event.delta as any)); } });
            b.text.observe((event, transaction) => { if (transaction.origin !== b.localOrigin) { caretB = transformOffset(caretB, deltaToEdits(event.delta as any)); } });
            for (let i = 0; i < 6; i++) {
                bufferA.replace(caretA, 0, 'ALICE'[i % 5]);
                caretA++;
                bufferB.replace(caretB, 0, 'bob'[i % 3]);
                caretB++;
                flush();
            }
            assert.strictEqual(bufferA.getValue(), bufferB.getValue());
            assert.ok(/ALICEA/.test(bufferA.getValue()) && /bobbob/.test(bufferA.getValue()), bufferA.getValue());
        });
    });

    describe('relative positions', () => {
        it('stay attached to the text under concurrent edits', () => {
            const { a, b, flush } = pair('hello world');
            const position = toRelativePosition(b.text, 6);
            a.edit(text => text.insert(0, '>>> '));
            flush();
            assert.strictEqual(toAbsoluteIndex(b, position), 10);
            assert.strictEqual(toAbsoluteIndex(a, JSON.parse(JSON.stringify(position))), 10);
        });
    });
});
