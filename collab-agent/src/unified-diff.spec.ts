import * as assert from 'assert';
import { applyOffsetEdits, parseUnifiedDiff, unifiedDiffEdits } from './unified-diff';

function patch(text: string, diff: string): string {
    return applyOffsetEdits(text, unifiedDiffEdits(text, diff));
}

describe('unified diffs as edits', () => {
    const text = 'one\ntwo\nthree\nfour\nfive\n';

    it('applies a git diff as small edits that leave unchanged lines alone', () => {
        const diff = 'diff --git a/f b/f\nindex 1..2 100644\n--- a/f\n+++ b/f\n@@ -1,5 +1,5 @@\n one\n-two\n+TWO\n three\n four\n-five\n+five!\n+six\n';
        const edits = unifiedDiffEdits(text, diff);
        assert.deepStrictEqual(edits, [{ offset: 4, length: 4, text: 'TWO\n' }, { offset: 19, length: 5, text: 'five!\nsix\n' }]);
        assert.strictEqual(applyOffsetEdits(text, edits), 'one\nTWO\nthree\nfour\nfive!\nsix\n');
    });

    it('finds hunks whose lines moved, and applies several hunks', () => {
        const moved = 'zero\n' + text;
        assert.strictEqual(patch(moved, '@@ -2,1 +2,1 @@\n-two\n+2\n@@ -4,1 +4,2 @@\n four\n+4.5\n'), 'zero\none\n2\nthree\nfour\n4.5\nfive\n');
    });

    it('handles files without a final newline and empty files', () => {
        assert.strictEqual(patch('a\nb', '@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n'), 'a\nc\n');
        assert.strictEqual(patch('a\n', '@@ -1 +1 @@\n-a\n+z\n\\ No newline at end of file\n'), 'z');
        assert.strictEqual(patch('', '@@ -0,0 +1,2 @@\n+x\n+y\n'), 'x\ny\n');
    });

    it('refuses what does not match, several files, and text without hunks', () => {
        assert.throws(() => unifiedDiffEdits(text, '@@ -1,2 +1,2 @@\n one\n-deux\n+2\n'), /does not match/);
        assert.throws(() => parseUnifiedDiff('--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n--- a/y\n+++ b/y\n@@ -1 +1 @@\n-a\n+b\n'), /several files/);
        assert.throws(() => parseUnifiedDiff('just text'), /No hunks/);
    });
});
