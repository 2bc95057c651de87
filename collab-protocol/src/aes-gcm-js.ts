/**
 * AES-256-GCM in JavaScript (FIPS 197, NIST SP 800-38D) for the messages sealed and opened at once
 * (crypto.ts, `SYNC_CIPHER_MAX_BYTES`): the same bytes WebCrypto produces (the spec checks it against
 * WebCrypto), without waiting for a later task.
 *
 * Why our own: a general-purpose cipher object expands the key and builds its GHASH tables again for every
 * message, and allocates per block; that was ~35 µs a keystroke and ~115 µs for a 2 KiB padded message, most
 * of a receiver's time per message. Here a room key's schedule and GHASH tables are built once (`JsAesGcm`
 * per `ContentKey`), AES runs on 32-bit table lookups, and GHASH on one table per byte position, so a message
 * costs its AES blocks and little else. Only what GCM needs: encryption of blocks, 12-byte IVs, 16-byte tags.
 */

const BLOCK = 16;
const TAG_LENGTH = 16;
const ROUNDS = 14;

/** The AES S-box, from the multiplicative inverse in GF(2^8) and the affine map. */
const SBOX = new Uint8Array(256);
/** Round tables: SubBytes, ShiftRows and MixColumns of one byte in one column, big-endian words, rotated per row. */
const T0 = new Int32Array(256);
const T1 = new Int32Array(256);
const T2 = new Int32Array(256);
const T3 = new Int32Array(256);

(function buildTables(): void {
    // p runs through the multiplicative group (times 3 each step), q through the inverses (divided by 3).
    let p = 1;
    let q = 1;
    do {
        p = (p ^ (p << 1) ^ (p & 0x80 ? 0x1b : 0)) & 0xff;
        q ^= q << 1;
        q ^= q << 2;
        q ^= q << 4;
        q &= 0xff;
        if (q & 0x80) {
            q ^= 0x09;
        }
        const rotl = (value: number, shift: number) => ((value << shift) | (value >>> (8 - shift))) & 0xff;
        SBOX[p] = q ^ rotl(q, 1) ^ rotl(q, 2) ^ rotl(q, 3) ^ rotl(q, 4) ^ 0x63;
    } while (p !== 1);
    SBOX[0] = 0x63;
    for (let x = 0; x < 256; x++) {
        const s = SBOX[x];
        const s2 = ((s << 1) ^ (s & 0x80 ? 0x1b : 0)) & 0xff;
        const s3 = s2 ^ s;
        const word = (s2 << 24) | (s << 16) | (s << 8) | s3;
        T0[x] = word;
        T1[x] = (word >>> 8) | (word << 24);
        T2[x] = (word >>> 16) | (word << 16);
        T3[x] = (word >>> 24) | (word << 8);
    }
})();

function subWord(word: number): number {
    return (SBOX[word >>> 24] << 24) | (SBOX[(word >>> 16) & 0xff] << 16) | (SBOX[(word >>> 8) & 0xff] << 8) | SBOX[word & 0xff];
}

/** The AES-256 key schedule: 60 words. */
function expandKey(key: Uint8Array): Int32Array {
    const words = new Int32Array(4 * (ROUNDS + 1));
    for (let i = 0; i < 8; i++) {
        words[i] = readWord(key, 4 * i);
    }
    let rcon = 1;
    for (let i = 8; i < words.length; i++) {
        let temp = words[i - 1];
        if (i % 8 === 0) {
            temp = subWord((temp << 8) | (temp >>> 24)) ^ (rcon << 24);
            rcon = (rcon << 1) ^ (rcon & 0x80 ? 0x1b : 0);
        } else if (i % 8 === 4) {
            temp = subWord(temp);
        }
        words[i] = words[i - 8] ^ temp;
    }
    return words;
}

function readWord(bytes: Uint8Array, offset: number): number {
    return (bytes[offset] << 24) | (bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) | bytes[offset + 3];
}

function writeWord(bytes: Uint8Array, offset: number, word: number): void {
    bytes[offset] = word >>> 24;
    bytes[offset + 1] = word >>> 16;
    bytes[offset + 2] = word >>> 8;
    bytes[offset + 3] = word;
}

/** Scratch for one block (the cipher is synchronous: one is enough). */
const OUT = new Int32Array(4);

/** Encrypts the block `s0..s3` (big-endian words) into `OUT`. */
function encryptBlock(rk: Int32Array, s0: number, s1: number, s2: number, s3: number): void {
    s0 ^= rk[0];
    s1 ^= rk[1];
    s2 ^= rk[2];
    s3 ^= rk[3];
    let k = 4;
    for (let round = 1; round < ROUNDS; round++, k += 4) {
        const t0 = T0[s0 >>> 24] ^ T1[(s1 >>> 16) & 0xff] ^ T2[(s2 >>> 8) & 0xff] ^ T3[s3 & 0xff] ^ rk[k];
        const t1 = T0[s1 >>> 24] ^ T1[(s2 >>> 16) & 0xff] ^ T2[(s3 >>> 8) & 0xff] ^ T3[s0 & 0xff] ^ rk[k + 1];
        const t2 = T0[s2 >>> 24] ^ T1[(s3 >>> 16) & 0xff] ^ T2[(s0 >>> 8) & 0xff] ^ T3[s1 & 0xff] ^ rk[k + 2];
        const t3 = T0[s3 >>> 24] ^ T1[(s0 >>> 16) & 0xff] ^ T2[(s1 >>> 8) & 0xff] ^ T3[s2 & 0xff] ^ rk[k + 3];
        s0 = t0;
        s1 = t1;
        s2 = t2;
        s3 = t3;
    }
    OUT[0] = ((SBOX[s0 >>> 24] << 24) | (SBOX[(s1 >>> 16) & 0xff] << 16) | (SBOX[(s2 >>> 8) & 0xff] << 8) | SBOX[s3 & 0xff]) ^ rk[k];
    OUT[1] = ((SBOX[s1 >>> 24] << 24) | (SBOX[(s2 >>> 16) & 0xff] << 16) | (SBOX[(s3 >>> 8) & 0xff] << 8) | SBOX[s0 & 0xff]) ^ rk[k + 1];
    OUT[2] = ((SBOX[s2 >>> 24] << 24) | (SBOX[(s3 >>> 16) & 0xff] << 16) | (SBOX[(s0 >>> 8) & 0xff] << 8) | SBOX[s1 & 0xff]) ^ rk[k + 2];
    OUT[3] = ((SBOX[s3 >>> 24] << 24) | (SBOX[(s0 >>> 16) & 0xff] << 16) | (SBOX[(s1 >>> 8) & 0xff] << 8) | SBOX[s2 & 0xff]) ^ rk[k + 3];
}

/** The authentication failed: tampered, misrouted, or another key. */
export class GcmAuthenticationError extends Error {
    constructor() {
        super('AES-GCM authentication failed.');
    }
}

/** AES-256-GCM under one key, with its key schedule and GHASH tables computed once. */
export class JsAesGcm {
    private readonly rk: Int32Array;
    /**
     * GHASH tables: for byte position i (0..15) and byte value b, the product with H of the block that is b at
     * position i and zero elsewhere (4 words at `(i * 256 + b) * 4`). GHASH is linear, so a block's product
     * with H is the XOR of its 16 bytes' entries.
     */
    private readonly ghashTable = new Int32Array(16 * 256 * 4);
    /** The running GHASH value. */
    private readonly y = new Int32Array(4);
    private readonly counter = new Int32Array(4);
    private readonly tagMask = new Int32Array(4);

    constructor(key: Uint8Array) {
        if (key.length !== 32) {
            throw new RangeError('AES-256 needs a 32-byte key.');
        }
        this.rk = expandKey(key);
        encryptBlock(this.rk, 0, 0, 0, 0);
        this.buildGhashTable(OUT[0], OUT[1], OUT[2], OUT[3]);
        OUT.fill(0);
    }

    private buildGhashTable(h0: number, h1: number, h2: number, h3: number): void {
        const table = this.ghashTable;
        // H times x^k for k = 8i + j is the entry of bit j (0x80 >> j) at byte position i. In GCM's bit order,
        // multiplying by x shifts right, and what falls out of the last bit comes back as R = 0xE1 || 0^120.
        for (let i = 0; i < 16; i++) {
            for (let j = 0; j < 8; j++) {
                const bit = 0x80 >>> j;
                const base = (i * 256 + bit) * 4;
                table[base] = h0;
                table[base + 1] = h1;
                table[base + 2] = h2;
                table[base + 3] = h3;
                const carry = h3 & 1;
                h3 = (h3 >>> 1) | (h2 << 31);
                h2 = (h2 >>> 1) | (h1 << 31);
                h1 = (h1 >>> 1) | (h0 << 31);
                h0 = (h0 >>> 1) ^ (carry ? 0xe1000000 : 0);
            }
            // Every other byte value: the XOR of its lowest set bit's entry and the rest's.
            for (let b = 1; b < 256; b++) {
                const low = b & -b;
                if (low === b) {
                    continue;
                }
                const to = (i * 256 + b) * 4;
                const a = (i * 256 + low) * 4;
                const c = (i * 256 + (b ^ low)) * 4;
                table[to] = table[a] ^ table[c];
                table[to + 1] = table[a + 1] ^ table[c + 1];
                table[to + 2] = table[a + 2] ^ table[c + 2];
                table[to + 3] = table[a + 3] ^ table[c + 3];
            }
        }
    }

    /** y = (y xor block) * H, the block given as four big-endian words. */
    private ghashBlock(w0: number, w1: number, w2: number, w3: number): void {
        const y = this.y;
        const t = this.ghashTable;
        w0 ^= y[0];
        w1 ^= y[1];
        w2 ^= y[2];
        w3 ^= y[3];
        let z0 = 0, z1 = 0, z2 = 0, z3 = 0;
        for (let i = 0; i < 4; i++) {
            const word = i === 0 ? w0 : i === 1 ? w1 : i === 2 ? w2 : w3;
            const base = i * 4 * 256;
            let e = (base + (word >>> 24)) * 4;
            z0 ^= t[e]; z1 ^= t[e + 1]; z2 ^= t[e + 2]; z3 ^= t[e + 3];
            e = (base + 256 + ((word >>> 16) & 0xff)) * 4;
            z0 ^= t[e]; z1 ^= t[e + 1]; z2 ^= t[e + 2]; z3 ^= t[e + 3];
            e = (base + 512 + ((word >>> 8) & 0xff)) * 4;
            z0 ^= t[e]; z1 ^= t[e + 1]; z2 ^= t[e + 2]; z3 ^= t[e + 3];
            e = (base + 768 + (word & 0xff)) * 4;
            z0 ^= t[e]; z1 ^= t[e + 1]; z2 ^= t[e + 2]; z3 ^= t[e + 3];
        }
        y[0] = z0;
        y[1] = z1;
        y[2] = z2;
        y[3] = z3;
    }

    /** GHASH of `bytes`, zero-padded to whole blocks. */
    private ghashBytes(bytes: Uint8Array, start: number, end: number): void {
        let offset = start;
        for (; offset + BLOCK <= end; offset += BLOCK) {
            this.ghashBlock(readWord(bytes, offset), readWord(bytes, offset + 4), readWord(bytes, offset + 8), readWord(bytes, offset + 12));
        }
        if (offset < end) {
            const last = new Uint8Array(BLOCK);
            last.set(bytes.subarray(offset, end));
            this.ghashBlock(readWord(last, 0), readWord(last, 4), readWord(last, 8), readWord(last, 12));
        }
    }

    /** Starts a message: the counter at J0 = IV || 1, its encryption kept as the tag mask, GHASH over the additional data. */
    private begin(iv: Uint8Array, additionalData: Uint8Array): void {
        if (iv.length !== 12) {
            throw new RangeError('AES-GCM here takes 12-byte IVs.');
        }
        const counter = this.counter;
        counter[0] = readWord(iv, 0);
        counter[1] = readWord(iv, 4);
        counter[2] = readWord(iv, 8);
        counter[3] = 1;
        encryptBlock(this.rk, counter[0], counter[1], counter[2], counter[3]);
        this.tagMask.set(OUT);
        this.y.fill(0);
        this.ghashBytes(additionalData, 0, additionalData.length);
    }

    /** `output[outStart..] = input[start..end] xor keystream`, the counter running from J0 + 1. */
    private ctr(input: Uint8Array, start: number, end: number, output: Uint8Array, outStart: number): void {
        const rk = this.rk;
        const [c0, c1, c2] = this.counter;
        let n = this.counter[3];
        let out = outStart;
        for (let offset = start; offset < end; offset += BLOCK, out += BLOCK) {
            n = (n + 1) | 0;
            encryptBlock(rk, c0, c1, c2, n);
            if (offset + BLOCK <= end) {
                writeWord(output, out, readWord(input, offset) ^ OUT[0]);
                writeWord(output, out + 4, readWord(input, offset + 4) ^ OUT[1]);
                writeWord(output, out + 8, readWord(input, offset + 8) ^ OUT[2]);
                writeWord(output, out + 12, readWord(input, offset + 12) ^ OUT[3]);
            } else {
                for (let i = 0; offset + i < end; i++) {
                    output[out + i] = input[offset + i] ^ (OUT[i >> 2] >>> (24 - 8 * (i & 3)));
                }
            }
        }
        OUT.fill(0);
    }

    /** The tag once the ciphertext went through GHASH: the lengths block, then the mask. */
    private finish(additionalBytes: number, ciphertextBytes: number): void {
        const aBits = additionalBytes * 8;
        const cBits = ciphertextBytes * 8;
        this.ghashBlock(Math.floor(aBits / 0x100000000), aBits >>> 0, Math.floor(cBits / 0x100000000), cBits >>> 0);
        const y = this.y;
        const mask = this.tagMask;
        for (let i = 0; i < 4; i++) {
            y[i] ^= mask[i];
        }
    }

    /** `ciphertext || tag (16 bytes)`. */
    encrypt(iv: Uint8Array, additionalData: Uint8Array, plaintext: Uint8Array): Uint8Array {
        this.begin(iv, additionalData);
        const out = new Uint8Array(plaintext.length + TAG_LENGTH);
        this.ctr(plaintext, 0, plaintext.length, out, 0);
        this.ghashBytes(out, 0, plaintext.length);
        this.finish(additionalData.length, plaintext.length);
        for (let i = 0; i < 4; i++) {
            writeWord(out, plaintext.length + 4 * i, this.y[i]);
        }
        this.clear();
        return out;
    }

    /** Opens `ciphertext || tag`; throws `GcmAuthenticationError` before decrypting anything if the tag is wrong. */
    decrypt(iv: Uint8Array, additionalData: Uint8Array, sealed: Uint8Array): Uint8Array {
        if (sealed.length < TAG_LENGTH) {
            throw new GcmAuthenticationError();
        }
        const length = sealed.length - TAG_LENGTH;
        this.begin(iv, additionalData);
        this.ghashBytes(sealed, 0, length);
        this.finish(additionalData.length, length);
        let diff = 0;
        for (let i = 0; i < 4; i++) {
            diff |= readWord(sealed, length + 4 * i) ^ this.y[i];
        }
        if (diff !== 0) {
            this.clear();
            throw new GcmAuthenticationError();
        }
        const out = new Uint8Array(length);
        this.ctr(sealed, 0, length, out, 0);
        this.clear();
        return out;
    }

    private clear(): void {
        this.y.fill(0);
        this.tagMask.fill(0);
        this.counter.fill(0);
    }

    /** Forgets the key (its schedule and tables). */
    destroy(): void {
        this.rk.fill(0);
        this.ghashTable.fill(0);
        this.clear();
    }
}
