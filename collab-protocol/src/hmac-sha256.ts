/**
 * HMAC-SHA-256 for the sender tags of every envelope (sender-auth.ts): a 32-byte digest tagged for each
 * recipient, about 10 recipients a message.
 *
 * The HMAC is @noble/hashes'. What this adds is reuse: a keyed HMAC is made once per pair key (its inner and
 * outer hash states already hold the padded key), and every tag clones those states into one scratch object
 * instead of making a new HMAC (which hashes the padded key twice and allocates two hash objects each time).
 */
import { hmac } from '@noble/hashes/hmac';
import { sha256 } from '@noble/hashes/sha2';

export const SHA256_BYTES = 32;
const BLOCK_BYTES = 64;

type KeyedHmac = ReturnType<typeof hmac.create>;

/** An HMAC-SHA-256 key kept ready for tagging 32-byte messages (digests). Keys up to 64 bytes (the pair keys are 32). */
export class HmacSha256Key {
    private readonly keyed: KeyedHmac;
    /** Receives a copy of `keyed`'s states for each tag. */
    private scratch: KeyedHmac | undefined;
    private readonly digest = new Uint8Array(SHA256_BYTES);

    constructor(key: Uint8Array) {
        if (key.length > BLOCK_BYTES) {
            throw new RangeError('HMAC keys longer than a block are not supported here.');
        }
        this.keyed = hmac.create(sha256, key);
    }

    /** HMAC-SHA-256 of the 32 bytes of `message` at `offset`, the first `length` bytes of it written to `out` at `outOffset`. */
    tag(message: Uint8Array, offset: number, out: Uint8Array, outOffset: number, length = SHA256_BYTES): void {
        const mac = this.scratch = this.keyed._cloneInto(this.scratch);
        mac.update(message.subarray(offset, offset + SHA256_BYTES));
        mac.digestInto(this.digest);
        out.set(length === SHA256_BYTES ? this.digest : this.digest.subarray(0, length), outOffset);
    }

    /** Forgets the key's states. */
    destroy(): void {
        this.keyed.destroy();
        this.scratch?.destroy();
        this.digest.fill(0);
    }
}
