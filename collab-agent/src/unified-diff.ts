/**
 * Unified diffs (`diff -u`, `git diff`) applied as small edits: each run of removed/added lines becomes one
 * replacement, so unchanged lines (and the cursors of others in them) stay untouched in the shared document.
 */
import { CollaborationError } from '@theia-collab/protocol';

export interface OffsetEdit { offset: number; length: number; text: string }

interface HunkLine { op: ' ' | '-' | '+'; text: string; noNewline: boolean }
interface Hunk { oldStart: number; lines: HunkLine[] }

export const MAX_DIFF_BYTES = 4 * 1024 * 1024;

/** Parses the hunks of a single-file unified diff (headers are skipped; a diff of several files is refused). */
export function parseUnifiedDiff(diff: string): Hunk[] {
    if (diff.length > MAX_DIFF_BYTES) {
        throw new CollaborationError('too-large', 'The diff is too large.');
    }
    const hunks: Hunk[] = [];
    let current: Hunk | undefined;
    let files = 0;
    const lines = diff.replace(/\r\n/g, '\n').split('\n');
    if (lines[lines.length - 1] === '') {
        lines.pop();
    }
    for (let index = 0; index < lines.length; index++) {
        const line = lines[index];
        const header = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/.exec(line);
        if (header) {
            current = { oldStart: Number(header[1]), lines: [] };
            hunks.push(current);
            continue;
        }
        if (line.startsWith('--- ') && lines[index + 1]?.startsWith('+++ ')) {
            files++;
            current = undefined;
            index++;
            continue;
        }
        if (!current) {
            continue; // diff --git, index, mode lines and other preamble
        }
        if (line.startsWith('\\')) {
            const last = current.lines[current.lines.length - 1];
            if (last) {
                last.noNewline = true;
            }
            continue;
        }
        const op = line[0];
        if (op === ' ' || op === '-' || op === '+') {
            current.lines.push({ op, text: line.slice(1), noNewline: false });
        } else if (line === '') {
            current.lines.push({ op: ' ', text: '', noNewline: false }); // some tools drop the space of empty context lines
        } else {
            current = undefined;
        }
    }
    if (files > 1) {
        throw new CollaborationError('bad-request', 'The diff changes several files; give one file\'s diff.');
    }
    if (!hunks.length) {
        throw new CollaborationError('bad-request', 'No hunks (@@ -l,s +l,s @@) in the diff.');
    }
    return hunks;
}

/**
 * The edits that apply `diff` to `text` (offsets into `text`, in order, not overlapping). Each hunk must match
 * (context and removed lines) at its line or, when the text moved, at the nearest place it matches; otherwise
 * a 'conflict' error names the hunk.
 */
export function unifiedDiffEdits(text: string, diff: string): OffsetEdit[] {
    const hunks = parseUnifiedDiff(diff);
    const lines = text.split('\n');
    const finalNewline = text.endsWith('\n');
    if (finalNewline) {
        lines.pop();
    }
    const starts: number[] = [];
    let offset = 0;
    for (const line of lines) {
        starts.push(offset);
        offset += line.length + 1;
    }
    const lineStart = (index: number) => index < lines.length ? starts[index] : text.length;
    const edits: OffsetEdit[] = [];
    let delta = 0;
    let minLine = 0;
    hunks.forEach((hunk, hunkIndex) => {
        const old = hunk.lines.filter(line => line.op !== '+').map(line => line.text);
        const expected = Math.max(0, (old.length === 0 ? hunk.oldStart : hunk.oldStart - 1) + delta);
        const matches = (at: number) => at >= minLine && at + old.length <= lines.length && old.every((line, i) => lines[at + i] === line);
        let at: number | undefined;
        for (let distance = 0; distance <= lines.length && at === undefined; distance++) {
            if (matches(expected - distance)) {
                at = expected - distance;
            } else if (matches(expected + distance)) {
                at = expected + distance;
            }
        }
        if (at === undefined) {
            throw new CollaborationError('conflict', `Hunk ${hunkIndex + 1} (@@ -${hunk.oldStart}) does not match the document's current text.`);
        }
        delta += at - expected;
        let cursor = at;
        let i = 0;
        while (i < hunk.lines.length) {
            if (hunk.lines[i].op === ' ') {
                cursor++;
                i++;
                continue;
            }
            let removed = 0;
            const added: HunkLine[] = [];
            while (i < hunk.lines.length && hunk.lines[i].op !== ' ') {
                if (hunk.lines[i].op === '-') {
                    removed++;
                } else {
                    added.push(hunk.lines[i]);
                }
                i++;
            }
            const from = lineStart(cursor);
            const insert = added.map(line => line.text + (line.noNewline ? '' : '\n')).join('');
            edits.push({ offset: from, length: lineStart(cursor + removed) - from, text: insert });
            cursor += removed;
        }
        minLine = at + old.length;
    });
    return edits.filter(edit => edit.length > 0 || edit.text.length > 0);
}

/** `text` with `edits` (offsets into `text`, in order) applied. */
export function applyOffsetEdits(text: string, edits: readonly OffsetEdit[]): string {
    let result = '';
    let position = 0;
    for (const edit of edits) {
        result += text.slice(position, edit.offset) + edit.text;
        position = edit.offset + edit.length;
    }
    return result + text.slice(position);
}
