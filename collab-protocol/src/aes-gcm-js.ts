/**
 * AES-256-GCM at once (no promise) for the messages sealed and opened synchronously (crypto.ts,
 * `SYNC_CIPHER_MAX_BYTES`), producing the same bytes as WebCrypto (the spec checks it against WebCrypto and the
 * GCM specification's test vector).
 *
 * The primitives are @noble/ciphers': its AES key schedule and CTR mode, and its GHASH. What this adds is reuse:
 * `gcm(key, iv)` expands the key and builds its GHASH tables again for every message (~35 µs for a keystroke,
 * ~115 µs for a 2 KiB padded message, most of a receiver's time per message). Here a room key's schedule and
 * GHASH (with its largest tables) are made once per `ContentKey`, and a message costs its blocks.
 */
import { unsafe } from '@noble/ciphers/aes';
import { ghash } from '@noble/ciphers/_polyval';

const BLOCK = 16;
const TAG_LENGTH = 16;
/** noble sizes its GHASH tables by the expected input; above 64 KiB it builds the largest (8-bit windows), the fastest per block, worth it once per key. */
const LARGEST_TABLES = 64 * 1024 + 1;

/**
 * The part of noble's GHASH state that is reset between messages: the running value and the finished flag.
 * Its key tables stay (they depend only on H). @noble/ciphers is pinned to an exact version; the spec checks
 * every message against WebCrypto, so a change of these fields would fail there, not here silently.
 */
interface ReusableGhash {
    s0: number;
    s1: number;
    s2: number;
    s3: number;
    finished: boolean;
    update(data: Uint8Array): unknown;
    digestInto(out: Uint8Array): unknown;
    destroy(): void;
}

/** The authentication failed: tampered, misrouted, or another key. */
export class GcmAuthenticationError extends Error {
    constructor() {
        super('AES-GCM authentication failed.');
    }
}

/**
 * noble reads and writes through 32-bit views, which need 4-byte aligned offsets: copy views that are not.
 * Not `bytes.slice()`: on a Node Buffer (what socket.io delivers) that is another view of the same memory.
 */
function aligned(bytes: Uint8Array): Uint8Array {
    return bytes.byteOffset % 4 === 0 ? bytes : new Uint8Array(bytes);
}

/** AES-256-GCM under one key, with its key schedule and GHASH tables computed once. */
export class JsAesGcm {
    private readonly roundKeys: Uint32Array;
    private readonly ghash: ReusableGhash;
    private readonly counter = new Uint8Array(BLOCK);
    private readonly tagMask = new Uint8Array(BLOCK);
    private readonly lengths = new Uint8Array(BLOCK);
    private readonly lengthsView = new DataView(this.lengths.buffer);
    private readonly tag = new Uint8Array(BLOCK);

    constructor(key: Uint8Array) {
        if (key.length !== 32) {
            throw new RangeError('AES-256 needs a 32-byte key.');
        }
        this.roundKeys = unsafe.expandKeyLE(key);
        const hashKey = unsafe.encryptBlock(this.roundKeys, new Uint8Array(BLOCK));
        this.ghash = ghash.create(hashKey, LARGEST_TABLES) as unknown as ReusableGhash;
        hashKey.fill(0);
    }

    /** Starts a message: the tag mask is the encryption of J0 = IV || 1, the counter moves to J0 + 1, GHASH takes the additional data. */
    private begin(iv: Uint8Array, additionalData: Uint8Array): void {
        if (iv.length !== 12) {
            throw new RangeError('AES-GCM here takes 12-byte IVs.');
        }
        const counter = this.counter;
        counter.set(iv);
        counter[12] = counter[13] = counter[14] = 0;
        counter[15] = 1;
        this.tagMask.set(counter);
        unsafe.encryptBlock(this.roundKeys, this.tagMask);
        counter[15] = 2;
        const hash = this.ghash;
        hash.s0 = hash.s1 = hash.s2 = hash.s3 = 0;
        hash.finished = false;
        if (additionalData.length) {
            hash.update(aligned(additionalData));
        }
    }

    /** The tag into `this.tag` once the ciphertext went through GHASH: the block of bit lengths, then the mask. */
    private finish(additionalBytes: number, ciphertext: Uint8Array): void {
        if (ciphertext.length) {
            this.ghash.update(ciphertext);
        }
        const view = this.lengthsView;
        view.setUint32(0, Math.floor(additionalBytes / 0x20000000));
        view.setUint32(4, (additionalBytes * 8) >>> 0);
        view.setUint32(8, Math.floor(ciphertext.length / 0x20000000));
        view.setUint32(12, (ciphertext.length * 8) >>> 0);
        this.ghash.update(this.lengths);
        this.ghash.digestInto(this.tag);
        for (let i = 0; i < BLOCK; i++) {
            this.tag[i] ^= this.tagMask[i];
        }
    }

    /** `ciphertext || tag (16 bytes)`. */
    encrypt(iv: Uint8Array, additionalData: Uint8Array, plaintext: Uint8Array): Uint8Array {
        this.begin(iv, additionalData);
        const out = new Uint8Array(plaintext.length + TAG_LENGTH);
        const ciphertext = out.subarray(0, plaintext.length);
        if (plaintext.length) {
            unsafe.ctr32(this.roundKeys, false, this.counter, aligned(plaintext), ciphertext);
        }
        this.finish(additionalData.length, ciphertext);
        out.set(this.tag, plaintext.length);
        this.clear();
        return out;
    }

    /** Opens `ciphertext || tag`; throws `GcmAuthenticationError` before decrypting anything if the tag is wrong. */
    decrypt(iv: Uint8Array, additionalData: Uint8Array, sealed: Uint8Array): Uint8Array {
        if (sealed.length < TAG_LENGTH) {
            throw new GcmAuthenticationError();
        }
        const input = aligned(sealed);
        const length = input.length - TAG_LENGTH;
        const ciphertext = input.subarray(0, length);
        this.begin(iv, additionalData);
        this.finish(additionalData.length, ciphertext);
        let diff = 0;
        for (let i = 0; i < TAG_LENGTH; i++) {
            diff |= input[length + i] ^ this.tag[i];
        }
        if (diff !== 0) {
            this.clear();
            throw new GcmAuthenticationError();
        }
        const out = new Uint8Array(length);
        if (length) {
            unsafe.ctr32(this.roundKeys, false, this.counter, ciphertext, out);
        }
        this.clear();
        return out;
    }

    private clear(): void {
        this.tag.fill(0);
        this.tagMask.fill(0);
        this.counter.fill(0);
    }

    /** Forgets the key (its schedule and tables). */
    destroy(): void {
        this.roundKeys.fill(0);
        this.ghash.destroy();
        this.clear();
    }
}
