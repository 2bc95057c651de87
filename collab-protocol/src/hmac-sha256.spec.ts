import * as assert from 'node:assert/strict';
import { hmac } from '@noble/hashes/hmac';
import { sha256 } from '@noble/hashes/sha2';
import { HmacSha256Key } from './hmac-sha256';

function random(length: number): Uint8Array {
    return globalThis.crypto.getRandomValues(new Uint8Array(length));
}

/** HMAC-SHA-256 by WebCrypto: an implementation independent of both others. */
async function webCryptoHmac(key: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
    const imported = await globalThis.crypto.subtle.importKey('raw', key as Uint8Array<ArrayBuffer>, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    return new Uint8Array(await globalThis.crypto.subtle.sign('HMAC', imported, message as Uint8Array<ArrayBuffer>));
}

describe('HMAC-SHA-256 of digests', () => {
    it('gives what WebCrypto and @noble/hashes give, for keys of every length from 1 byte to a block', async () => {
        for (let keyLength = 1; keyLength <= 64; keyLength++) {
            const key = random(keyLength);
            const message = random(32);
            const out = new Uint8Array(32);
            new HmacSha256Key(key).tag(message, 0, out, 0);
            assert.deepEqual(out, await webCryptoHmac(key, message), `key of ${keyLength} bytes`);
            assert.deepEqual(out, hmac(sha256, key, message), `key of ${keyLength} bytes`);
        }
    });

    it('reads the message at an offset, writes a truncated tag at an offset, and can be used again and again', async () => {
        const key = random(32);
        const mac = new HmacSha256Key(key);
        for (let i = 0; i < 50; i++) {
            const buffer = random(40);
            const out = new Uint8Array(24).fill(0xee);
            mac.tag(buffer, 5, out, 4, 16);
            const expected = await webCryptoHmac(key, buffer.subarray(5, 37));
            assert.deepEqual(out.subarray(4, 20), expected.subarray(0, 16));
            assert.deepEqual([...out.subarray(0, 4), ...out.subarray(20)], new Array(8).fill(0xee), 'nothing written outside the tag');
        }
    });

    it('tags differently under different keys, and refuses to tag once destroyed', () => {
        const message = random(32);
        const a = new Uint8Array(32);
        const b = new Uint8Array(32);
        new HmacSha256Key(random(32)).tag(message, 0, a, 0);
        const other = new HmacSha256Key(random(32));
        other.tag(message, 0, b, 0);
        assert.notDeepEqual(a, b);
        other.destroy();
        assert.throws(() => other.tag(message, 0, new Uint8Array(32), 0), /destroyed/);
    });

    it('refuses keys longer than a block', () => {
        assert.throws(() => new HmacSha256Key(random(65)), RangeError);
    });
});
