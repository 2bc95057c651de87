/**
 * The documents of the sync benchmarks: 5 MiB of code-like ASCII text, either inserted at once or built
 * from ~80,000 inserts at random positions (same seed -> same document everywhere).
 */
import * as crypto from 'crypto';
import * as Y from 'yjs';
import { prng } from './time';

export const DOC_CHARS = 5 * 1024 * 1024;
export const DOC_EDITS = 80_000;
export const DOC_PATH = 'project/src/big-file.ts';
export type DocVariant = 'at-once' | 'edits';

const WORDS = ['const', 'let', 'function', 'return', 'value', 'index', 'result', 'await', 'async', 'items', 'map', 'filter',
    'if', 'else', 'for', 'of', 'new', 'this', 'string', 'number', 'export', 'import', 'from', 'class', 'interface', '=>', '{', '}', '(', ')', ';', '+', '='];

/** `length` characters of lines of words, deterministic for a seed. */
export function corpus(length: number, seed = 1): string {
    const random = prng(seed);
    const parts: string[] = [];
    let size = 0;
    let line = 0;
    while (size < length) {
        let text = '    '.repeat(Math.floor(random() * 4));
        const words = 3 + Math.floor(random() * 10);
        for (let i = 0; i < words; i++) {
            text += (i ? ' ' : '') + WORDS[Math.floor(random() * WORDS.length)];
        }
        text += ` // ${line++}\n`;
        parts.push(text);
        size += text.length;
    }
    return parts.join('').slice(0, length);
}

export interface Edit {
    /** 0..1, scaled to the current length. */
    at: number;
    text: string;
}

/** ~`count` inserts that together add `total` characters, at random positions. */
export function editScript(total = DOC_CHARS, count = DOC_EDITS, seed = 7): Edit[] {
    const random = prng(seed);
    const source = corpus(total, seed + 1);
    const edits: Edit[] = [];
    let offset = 0;
    for (let i = 0; i < count; i++) {
        const end = Math.floor((i + 1) * total / count);
        edits.push({ at: random(), text: source.slice(offset, end) });
        offset = end;
    }
    return edits;
}

/** Applies the edit script to a Y.Text, one transaction per edit (as typed or pasted over time). */
export function applyEdits(doc: Y.Doc, text: Y.Text, edits: Edit[], origin?: unknown): void {
    for (const edit of edits) {
        const position = Math.floor(edit.at * (text.length + 1));
        doc.transact(() => text.insert(Math.min(position, text.length), edit.text), origin);
    }
}

export function sha256(text: string): string {
    return crypto.createHash('sha256').update(text).digest('hex');
}
