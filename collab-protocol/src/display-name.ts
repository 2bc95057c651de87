/**
 * Display names as people see them: one normaliser, used by the server at its login boundary (anonymous,
 * token and OIDC logins) and available to clients, so that a name cannot carry invisible or direction
 * changing characters (`"Host\u202E\u200B (admin)"` shows as something else than it is) nor layout tricks.
 *
 * Steps: Unicode NFC; line breaks, tabs and other separators become spaces; control characters (C0, C1),
 * bidirectional marks, embeddings, overrides and isolates (U+061C, U+200E/F, U+202A–202E, U+2066–2069),
 * zero-width and invisible characters (U+00AD, U+180E, U+200B–200D, U+2060–2064, U+206A–206F, U+FEFF,
 * Hangul fillers U+115F/U+1160/U+3164/U+FFA0) and noncharacters/private use are removed; runs of more than
 * four combining marks are cut to four; whitespace is collapsed to one space and trimmed; finally the name
 * is cut to `maxLength` UTF-16 code units (`Limits.maxNameLength` by default) at a character boundary.
 * An empty result means the name is not acceptable.
 */
import { Limits } from './wire';

/** Separators and line breaks: shown as a space. */
const SEPARATORS = /[\t\n\v\f\r\u0085\u2028\u2029]/g;
/** Removed outright: controls, bidi controls, zero-width and invisible characters, private use, noncharacters. */
const INVISIBLE = new RegExp('[' + [
    '\\u0000-\\u001F', '\\u007F-\\u009F',
    '\\u00AD', '\\u034F', '\\u061C', '\\u115F', '\\u1160', '\\u17B4', '\\u17B5', '\\u180B-\\u180E',
    '\\u200B-\\u200F', '\\u202A-\\u202E', '\\u2060-\\u206F',
    '\\u3164', '\\uFE00-\\uFE0E', '\\uFEFF', '\\uFFA0', '\\uFFF0-\\uFFFB',
    '\\uE000-\\uF8FF', '\\uFDD0-\\uFDEF', '\\uFFFE', '\\uFFFF',
    '\\u{E0000}-\\u{E001F}', '\\u{E0080}-\\u{E0FFF}', '\\u{F0000}-\\u{10FFFF}',
    // Lone surrogates (not part of a pair) are not text.
    '\\uD800-\\uDFFF'
].join('') + ']', 'gu');
/** More than this many combining marks on one character are dropped ("Zalgo" text). */
const MAX_COMBINING_MARKS = 4;
const COMBINING_RUN = new RegExp(`(\\p{M}{${MAX_COMBINING_MARKS}})\\p{M}+`, 'gu');

function cut(value: string, maxLength: number): string {
    if (value.length <= maxLength) {
        return value;
    }
    const Segmenter = (Intl as unknown as { Segmenter?: new (locale?: string, options?: { granularity: 'grapheme' }) => { segment(text: string): Iterable<{ segment: string }> } }).Segmenter;
    const units: Iterable<string> = Segmenter
        ? [...new Segmenter(undefined, { granularity: 'grapheme' }).segment(value)].map(item => item.segment)
        : value;
    let result = '';
    for (const unit of units) {
        if (result.length + unit.length > maxLength) {
            break;
        }
        result += unit;
    }
    return result;
}

/**
 * The display name to show and store for `raw`, or '' when nothing printable is left (refuse it then).
 * Not a string: ''. Idempotent: normalising a normalised name gives the same name.
 */
export function normalizeDisplayName(raw: string, maxLength: number = Limits.maxNameLength): string {
    if (typeof raw !== 'string') {
        return '';
    }
    // Bound the work on hostile input before the (linear) passes below.
    const bounded = raw.length > 16 * 1024 ? raw.slice(0, 16 * 1024) : raw;
    const cleaned = bounded
        .replace(SEPARATORS, ' ')
        .replace(INVISIBLE, '')
        .normalize('NFC')
        .replace(COMBINING_RUN, '$1')
        .replace(/\s+/g, ' ')
        .trim();
    return cut(cleaned, maxLength).trim();
}
