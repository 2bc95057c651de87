/**
 * The relay's quick envelope check never vouches for what the `Envelope` schema refuses, and vouches for the
 * envelopes clients send: random payloads around every bound, and well-formed envelopes of every kind.
 */
import * as assert from 'assert';
import { Envelope, Limits } from '@theia-collab/protocol/lib/wire';
import { isWellFormedEnvelope } from './envelope-check';

function random(seed: number): () => number {
    return () => {
        seed = (seed + 0x6D2B79F5) | 0;
        let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

describe('isWellFormedEnvelope', () => {
    const valid = () => ({ room: 'r'.repeat(22), kind: 'broadcast', seq: 1, key: 0, data: new Uint8Array(10) });

    it('vouches for the envelopes of every kind that the schema accepts', () => {
        const envelopes: object[] = [
            valid(),
            { ...valid(), kind: 'notification', target: 'peer_1-A' },
            { ...valid(), kind: 'request', target: 'p', id: 0 },
            { ...valid(), kind: 'response', target: 'p'.repeat(Limits.maxIdLength), id: Number.MAX_SAFE_INTEGER, seq: Number.MAX_SAFE_INTEGER, key: 2 ** 31 },
            { ...valid(), room: 'R'.repeat(Limits.maxIdLength), data: Buffer.alloc(Limits.maxPayloadBytes) },
            { ...valid(), data: new ArrayBuffer(3) },
            { ...valid(), data: new Uint8Array(0) }
        ];
        for (const envelope of envelopes) {
            assert.ok(Envelope.safeParse(envelope).success, JSON.stringify(envelope));
            assert.ok(isWellFormedEnvelope(envelope), JSON.stringify(envelope));
        }
    });

    it('refuses what the schema refuses, at every bound', () => {
        const refused: unknown[] = [
            null, undefined, 'text', 7, [valid()], Object.assign(Object.create({ inherited: 1 }), valid()),
            { ...valid(), extra: 1 },
            { ...valid(), room: 'r'.repeat(21) }, { ...valid(), room: 'r'.repeat(Limits.maxIdLength + 1) }, { ...valid(), room: 'r'.repeat(21) + '!' }, { ...valid(), room: 5 },
            { ...valid(), kind: 'other' }, { ...valid(), kind: undefined },
            { ...valid(), target: '' }, { ...valid(), target: 'a b' }, { ...valid(), target: 'p'.repeat(Limits.maxIdLength + 1) }, { ...valid(), target: 3 },
            { ...valid(), id: -1 }, { ...valid(), id: 1.5 }, { ...valid(), id: Number.MAX_SAFE_INTEGER + 2 }, { ...valid(), id: '1' }, { ...valid(), id: NaN },
            { ...valid(), seq: -1 }, { ...valid(), seq: Infinity }, { ...valid(), seq: undefined }, { ...valid(), seq: '1' },
            { ...valid(), key: 2 ** 31 + 1 }, { ...valid(), key: -1 }, { ...valid(), key: 0.5 },
            { ...valid(), data: 'bytes' }, { ...valid(), data: [1, 2] }, { ...valid(), data: Buffer.alloc(Limits.maxPayloadBytes + 1) }, { ...valid(), data: undefined }
        ];
        for (const payload of refused) {
            assert.ok(!isWellFormedEnvelope(payload), `vouched for ${String(payload && JSON.stringify(payload))}`);
        }
    });

    it('never vouches for a payload the schema refuses, over many random payloads', () => {
        const next = random(42);
        const pick = <T>(items: T[]): T => items[Math.floor(next() * items.length)];
        const values = (): unknown[] => [
            undefined, null, 0, -1, 1.5, 2 ** 31, 2 ** 31 + 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1, NaN, Infinity, '', 'a',
            'r'.repeat(21), 'r'.repeat(22), 'r'.repeat(64), 'r'.repeat(65), 'bad id!', 'broadcast', 'request', 'response', 'notification',
            new Uint8Array(5), new ArrayBuffer(5), Buffer.alloc(Limits.maxPayloadBytes + 1), {}, []
        ];
        const keys = ['room', 'kind', 'target', 'id', 'seq', 'key', 'data', 'other'];
        let vouched = 0;
        for (let i = 0; i < 20_000; i++) {
            const payload: Record<string, unknown> = next() < 0.7 ? valid() : {};
            for (let changes = Math.floor(next() * 3); changes > 0; changes--) {
                const key = pick(keys);
                if (next() < 0.2) {
                    delete payload[key];
                } else {
                    payload[key] = pick(values());
                }
            }
            if (isWellFormedEnvelope(payload)) {
                vouched++;
                assert.ok(Envelope.safeParse(payload).success, `vouched for ${JSON.stringify(payload)}`);
            }
        }
        assert.ok(vouched > 1000, `${vouched}`);
    });
});
