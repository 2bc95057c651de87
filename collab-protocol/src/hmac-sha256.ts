/**
 * HMAC-SHA-256 (RFC 2104, SHA-256 of FIPS 180-4) for the sender tags of every envelope (sender-auth.ts),
 * written for that one use: a 32-byte digest tagged for each recipient, about 10 recipients a message.
 *
 * Why not a general-purpose library call per tag: HMAC over a 32-byte message is two compressions once the
 * key's inner and outer states are known, but a generic HMAC object re-hashes the padded key or clones
 * hash objects, allocates and copies on every call, ~10x the two compressions. Here a key's states are
 * computed once (per pair, when the pair key is set), and a tag is two compressions into preallocated words.
 * The output is standard HMAC-SHA-256 (checked against @noble/hashes and RFC 4231 in the spec).
 */

const K = new Int32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
]);

const INITIAL_STATE = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

const BLOCK_BYTES = 64;
export const SHA256_BYTES = 32;

/** Message schedule, shared: everything here is synchronous, so one is enough. */
const W = new Int32Array(64);

/** Reads `words` big-endian words (a block: 16) from `bytes` at `offset` into `W`. */
function loadBlock(bytes: Uint8Array, offset: number, words = 16): void {
    for (let i = 0; i < words; i++, offset += 4) {
        W[i] = (bytes[offset] << 24) | (bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) | bytes[offset + 3];
    }
}

/** One compression of the block in `W[0..15]` into `state`. */
function compress(state: Int32Array): void {
    for (let i = 16; i < 64; i++) {
        const w15 = W[i - 15];
        const w2 = W[i - 2];
        const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
        const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
        W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
    }
    let a = state[0], b = state[1], c = state[2], d = state[3], e = state[4], f = state[5], g = state[6], h = state[7];
    for (let i = 0; i < 64; i++) {
        const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
        const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
        const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
        const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
        h = g;
        g = f;
        f = e;
        e = (d + t1) | 0;
        d = c;
        c = b;
        b = a;
        a = (t1 + t2) | 0;
    }
    state[0] = (state[0] + a) | 0;
    state[1] = (state[1] + b) | 0;
    state[2] = (state[2] + c) | 0;
    state[3] = (state[3] + d) | 0;
    state[4] = (state[4] + e) | 0;
    state[5] = (state[5] + f) | 0;
    state[6] = (state[6] + g) | 0;
    state[7] = (state[7] + h) | 0;
}

/** Bit length of the inner and outer messages of an HMAC over 32 bytes: one key block plus 32 bytes. */
const HMAC_OF_32_BITS = (BLOCK_BYTES + SHA256_BYTES) * 8;

/**
 * An HMAC-SHA-256 key with its inner and outer states computed, for tagging 32-byte messages (digests).
 * Keys up to 64 bytes (the pair keys are 32).
 */
export class HmacSha256Key {
    private readonly inner = new Int32Array(8);
    private readonly outer = new Int32Array(8);
    private readonly work = new Int32Array(8);

    constructor(key: Uint8Array) {
        if (key.length > BLOCK_BYTES) {
            throw new RangeError('HMAC keys longer than a block are not supported here.');
        }
        const block = new Uint8Array(BLOCK_BYTES);
        for (const [state, pad] of [[this.inner, 0x36], [this.outer, 0x5c]] as const) {
            block.fill(pad);
            for (let i = 0; i < key.length; i++) {
                block[i] = key[i] ^ pad;
            }
            state.set(INITIAL_STATE);
            loadBlock(block, 0);
            compress(state);
        }
        block.fill(0);
        W.fill(0);
    }

    /** HMAC-SHA-256 of the 32 bytes of `message` at `offset`, the first `length` bytes of it written to `out` at `outOffset`. */
    tag(message: Uint8Array, offset: number, out: Uint8Array, outOffset: number, length = SHA256_BYTES): void {
        const work = this.work;
        work.set(this.inner);
        loadBlock(message, offset, 8); // W[0..7]: the message; its padding follows
        W[8] = 0x80000000;
        W.fill(0, 9, 15);
        W[15] = HMAC_OF_32_BITS;
        compress(work);
        for (let i = 0; i < 8; i++) {
            W[i] = work[i];
        }
        W[8] = 0x80000000;
        W.fill(0, 9, 15);
        W[15] = HMAC_OF_32_BITS;
        work.set(this.outer);
        compress(work);
        for (let i = 0; i < length; i++) {
            out[outOffset + i] = work[i >> 2] >>> (24 - 8 * (i & 3));
        }
    }

    /** Forgets the key's states. */
    destroy(): void {
        this.inner.fill(0);
        this.outer.fill(0);
        this.work.fill(0);
    }
}
