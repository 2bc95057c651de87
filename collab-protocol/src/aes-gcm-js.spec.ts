import * as assert from 'node:assert/strict';
import { GcmAuthenticationError, JsAesGcm } from './aes-gcm-js';

function random(length: number): Uint8Array {
    return globalThis.crypto.getRandomValues(new Uint8Array(length));
}

function hex(text: string): Uint8Array {
    return Uint8Array.from(text.match(/../g) ?? [], byte => parseInt(byte, 16));
}

async function webCryptoSeal(key: Uint8Array, iv: Uint8Array, additionalData: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array> {
    const source = (bytes: Uint8Array) => bytes as Uint8Array<ArrayBuffer>;
    const imported = await globalThis.crypto.subtle.importKey('raw', source(key), 'AES-GCM', false, ['encrypt']);
    return new Uint8Array(await globalThis.crypto.subtle.encrypt({ name: 'AES-GCM', iv: source(iv), additionalData: source(additionalData) }, imported, source(plaintext)));
}

describe('AES-256-GCM in JavaScript', () => {
    it('matches the GCM specification\'s test case 16 (AES-256, additional data, 60 bytes)', () => {
        const key = hex('feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308');
        const iv = hex('cafebabefacedbaddecaf888');
        const additionalData = hex('feedfacedeadbeeffeedfacedeadbeefabaddad2');
        const plaintext = hex('d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39');
        const expected = hex('522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662'
            + '76fc6ece0f4e1768cddf8853bb2d551b');
        assert.deepEqual(new JsAesGcm(key).encrypt(iv, additionalData, plaintext), expected);
        assert.deepEqual(new JsAesGcm(key).decrypt(iv, additionalData, expected), plaintext);
    });

    it('seals exactly as WebCrypto does and opens what WebCrypto sealed, for every length around the block size and padded sizes', async () => {
        const lengths = [...Array.from({ length: 70 }, (_, i) => i), 127, 128, 129, 1023, 1024, 2048, 4096, 4100];
        for (const length of lengths) {
            const key = random(32);
            const cipher = new JsAesGcm(key);
            const iv = random(12);
            const additionalData = random(length % 41);
            const plaintext = random(length);
            const reference = await webCryptoSeal(key, iv, additionalData, plaintext);
            assert.deepEqual(cipher.encrypt(iv, additionalData, plaintext), reference, `${length} bytes`);
            assert.deepEqual(cipher.decrypt(iv, additionalData, reference), plaintext, `${length} bytes`);
        }
    });

    it('gives WebCrypto\'s bytes message after message under one key (nothing of one message leaks into the next)', async () => {
        const key = random(32);
        const cipher = new JsAesGcm(key);
        for (let i = 0; i < 120; i++) {
            const length = (i * 37) % 700;
            const iv = random(12);
            const additionalData = random((i * 13) % 90);
            const plaintext = random(length);
            const reference = await webCryptoSeal(key, iv, additionalData, plaintext);
            assert.deepEqual(cipher.encrypt(iv, additionalData, plaintext), reference, `message ${i}, ${length} bytes`);
            assert.deepEqual(cipher.decrypt(iv, additionalData, reference), plaintext, `message ${i}, ${length} bytes`);
            assert.throws(() => cipher.decrypt(random(12), additionalData, reference), GcmAuthenticationError);
        }
    });

    it('refuses a flipped bit anywhere, other additional data, another IV or another key, before decrypting', () => {
        const key = random(32);
        const cipher = new JsAesGcm(key);
        const iv = random(12);
        const additionalData = random(30);
        const sealed = cipher.encrypt(iv, additionalData, random(100));
        for (const index of [0, 50, 99, 100, 115]) {
            const tampered = sealed.slice();
            tampered[index] ^= 1;
            assert.throws(() => cipher.decrypt(iv, additionalData, tampered), GcmAuthenticationError, `bit flipped at ${index}`);
        }
        assert.throws(() => cipher.decrypt(iv, random(30), sealed), GcmAuthenticationError);
        assert.throws(() => cipher.decrypt(random(12), additionalData, sealed), GcmAuthenticationError);
        assert.throws(() => new JsAesGcm(random(32)).decrypt(iv, additionalData, sealed), GcmAuthenticationError);
        assert.throws(() => cipher.decrypt(iv, additionalData, sealed.subarray(0, 15)), GcmAuthenticationError);
    });

    it('reads and writes at any byte offset (views into larger buffers)', async () => {
        const key = random(32);
        const iv = random(12);
        const buffer = random(200);
        const plaintext = buffer.subarray(3, 150);
        const reference = await webCryptoSeal(key, iv, new Uint8Array(0), plaintext);
        const shifted = new Uint8Array(reference.length + 5);
        shifted.set(reference, 5);
        assert.deepEqual(new JsAesGcm(key).encrypt(iv, new Uint8Array(0), plaintext), reference);
        assert.deepEqual(new JsAesGcm(key).decrypt(iv, new Uint8Array(0), shifted.subarray(5)), plaintext);
        // What socket.io hands over on Node: a Buffer view at an odd offset (a Buffer's slice() is a view, not a copy).
        const relayed = Buffer.from(shifted.buffer, 5, reference.length);
        assert.deepEqual(new JsAesGcm(key).decrypt(iv, new Uint8Array(0), relayed), plaintext);
    });

    it('takes only 32-byte keys and 12-byte IVs', () => {
        assert.throws(() => new JsAesGcm(random(16)), RangeError);
        assert.throws(() => new JsAesGcm(random(32)).encrypt(random(16), new Uint8Array(0), random(5)), RangeError);
    });
});
