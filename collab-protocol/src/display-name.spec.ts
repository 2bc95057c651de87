import * as assert from 'assert';
import { normalizeDisplayName } from './display-name';
import { DisplayName, Limits } from './wire';

/** Code points of a string, for readable failures with invisible characters. */
function codePoints(value: string): string {
    return [...value].map(char => `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`).join(' ');
}

function assertClean(value: string): void {
    assert.doesNotMatch(value, /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/u, codePoints(value));
    assert.strictEqual(value, value.trim());
    assert.doesNotMatch(value, /\s{2,}/);
    assert.ok(value.length <= Limits.maxNameLength, `${value.length} > ${Limits.maxNameLength}`);
}

describe('normalizeDisplayName', () => {
    it('removes bidi overrides, isolates, marks and zero-width characters (the review\'s attack names)', () => {
        const attacks: [string, string][] = [
            ['Host\u202E\u200B (admin)', 'Host (admin)'],
            ['\u202Enimda\u202C Host', 'nimda Host'],
            ['Eve\u2066\u2067\u2068\u2069\u200E\u200F', 'Eve'],
            ['A\u202A\u202B\u202C\u202D\u202Eb', 'Ab'],
            ['Ma\u200Bl\u200Clo\u200Dry\u2060\uFEFF', 'Mallory'],
            ['\uFEFFHost', 'Host'],
            ['Adm\u00ADin\u061C', 'Admin'],
            ['Ho\u0000st\u0007\u001B[31m', 'Host[31m'],
            ['Host\u0085\u009B', 'Host'],
            ['  Two\t\tlines\r\nhere  ', 'Two lines here'],
            ['Ada\u2028Lovelace\u2029', 'Ada Lovelace'],
            ['wide\u3000\u2003\u00A0space', 'wide space']
        ];
        for (const [raw, expected] of attacks) {
            const normalized = normalizeDisplayName(raw);
            assert.strictEqual(normalized, expected, `${codePoints(raw)} -> ${codePoints(normalized)}`);
            assertClean(normalized);
        }
    });

    it('returns an empty name for names of nothing visible', () => {
        for (const raw of ['', '   ', '\u200B\u200C\u200D', '\u202E\u202C', '\u2066 \u2069', '\uFEFF\u00AD', '\u3164\u115F', '\u0000\u0001\n\t', '\uD800']) {
            assert.strictEqual(normalizeDisplayName(raw), '', codePoints(raw));
        }
        assert.strictEqual(normalizeDisplayName(42 as unknown as string), '');
        assert.strictEqual(normalizeDisplayName(undefined as unknown as string), '');
    });

    it('keeps ordinary names with accents, other scripts and emoji', () => {
        for (const name of ['Zoë Ångström-Müller', 'José Núñez', '李小龍', 'Дмитрий', 'محمد', 'Ada 🎉', 'Kim 👍🏽', 'O\'Brien (QA)', 'ใจดี']) {
            assert.strictEqual(normalizeDisplayName(name), name);
            assert.ok(DisplayName.safeParse(normalizeDisplayName(name)).success);
        }
    });

    it('composes to NFC', () => {
        const decomposed = 'Zoe\u0308 Ame\u0301lie';
        assert.strictEqual(normalizeDisplayName(decomposed), 'Zo\u00EB Am\u00E9lie');
        // A zero-width character between a letter and its accent does not keep them apart.
        assert.strictEqual(normalizeDisplayName('e\u200B\u0301'), '\u00E9');
    });

    it('cuts long names to the protocol limit without splitting characters', () => {
        assert.strictEqual(normalizeDisplayName('x'.repeat(200)), 'x'.repeat(Limits.maxNameLength));
        const emoji = normalizeDisplayName('🎉'.repeat(100));
        assert.strictEqual(emoji, '🎉'.repeat(Limits.maxNameLength / 2));
        const mixed = normalizeDisplayName('a' + '🎉'.repeat(100));
        assert.strictEqual(mixed, 'a' + '🎉'.repeat(Limits.maxNameLength / 2 - 1));
        assert.doesNotMatch(mixed, /[\uD800-\uDBFF]$/);
        // Cut first, then trimmed: no trailing space.
        assert.strictEqual(normalizeDisplayName('x'.repeat(Limits.maxNameLength - 1) + ' yz'), 'x'.repeat(Limits.maxNameLength - 1));
        assert.strictEqual(normalizeDisplayName('abcdef', 3), 'abc');
        assert.strictEqual(normalizeDisplayName('x'.repeat(100), Infinity).length, 100);
    });

    it('bounds stacked combining marks', () => {
        const zalgo = 'Z' + '\u0301\u0302\u0303\u0304\u0305\u0306\u0307\u0308'.repeat(5) + 'oe';
        const normalized = normalizeDisplayName(zalgo);
        assert.strictEqual([...normalized].length, 1 + 4 + 2);
        assert.ok(normalized.endsWith('oe'));
    });

    it('is idempotent', () => {
        for (const raw of ['Host\u202E\u200B (admin)', '  a \t b  ', 'Zoe\u0308', '🎉'.repeat(40), 'Z' + '\u0301'.repeat(9)]) {
            const once = normalizeDisplayName(raw);
            assert.strictEqual(normalizeDisplayName(once), once);
        }
    });
});
