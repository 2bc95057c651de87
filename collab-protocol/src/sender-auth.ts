/**
 * Sender authentication. The room content key (crypto.ts) keeps the server out, but every member
 * holds it, so on its own it cannot tell members apart: a member could seal a message naming another
 * member as its sender. So every envelope also carries one tag per recipient:
 *
 *     digest = SHA-256('theia-collab/auth/1' || additional data || ciphertext)
 *     tag    = HMAC-SHA-256(pairKey(sender, recipient), digest), first 16 bytes
 *
 * A pair key is known only to the two peers it joins: HKDF-SHA-256 over their ECDH shared secret,
 * bound to the room and to both peer ids. A receiver checks its own tag before it opens the envelope;
 * a member can make valid tags only for messages that name itself as the sender, and the server,
 * which holds no pair key, can neither forge nor re-attribute a message. The public keys the pair keys
 * come from are vouched for by the host (see session-roster.ts): a guest derives pair keys only with
 * peers in the host's roster, and the host's own key is checked against the invite's fingerprint.
 *
 * On the wire the tags follow the ciphertext inside `data`: `ciphertext || entry_1 .. entry_n || n || n ^ 0xA5A5`
 * (two u16, so that a corrupted count is noticed rather than shifting every entry), each
 * entry a 4-byte recipient hint (the start of SHA-256 of its peer id) and the 16-byte tag. The hint lets a
 * receiver tell a message that carries no tag for it (sent before its sender learnt it had joined: ignored)
 * from one whose tag is wrong (forged or re-attributed: reported).
 * The server relays `data` unread, so nothing changes for it. Both are synchronous, so a keystroke still
 * leaves in the task that typed it: the digest (@noble/hashes) about 9 µs per KiB, once per message on
 * each side; a tag about 1 µs (hmac-sha256.ts keeps each pair key's HMAC states), once per recipient.
 */
import { sha256 } from '@noble/hashes/sha2';
import { importPublicKey, toBytes } from './crypto';
import { CollaborationError } from './errors';
import { HmacSha256Key } from './hmac-sha256';

export const AUTH_TAG_BYTES = 16;
export const HINT_BYTES = 4;
const ENTRY_BYTES = HINT_BYTES + AUTH_TAG_BYTES;
const COUNT_BYTES = 4;
const COUNT_CHECK = 0xa5a5;
const MAX_TAGS = 0xffff;
const DIGEST_DOMAIN = new TextEncoder().encode('theia-collab/auth/1');
const PAIR_INFO = 'theia-collab/pair/1/';
const encoder = new TextEncoder();

/** A message whose sender's tag for this peer is wrong (code `decrypt-failed`). */
export class UnauthenticatedMessageError extends CollaborationError {
    constructor(readonly sender: string) {
        super('decrypt-failed', `Message not authenticated by '${sender}' for this peer (forged or re-attributed).`);
    }
}

/** A message that carries no tag for this peer: its sender did not know this peer yet (code `not-member`). */
export class UnaddressedMessageError extends CollaborationError {
    constructor(readonly sender: string) {
        super('not-member', `Message from '${sender}' carries no tag for this peer (sent before '${sender}' knew it).`);
    }
}

/** The recipient hint of a peer id. */
export function recipientHint(peerId: string): Uint8Array {
    return sha256(encoder.encode(peerId)).subarray(0, HINT_BYTES);
}

export interface PairKeyContext {
    /** Own ECDH private key. */
    privateKey: CryptoKey;
    selfId: string;
    peerId: string;
    /** The other peer's public key, as vouched for by the host. */
    peerPublicKey: string;
    roomId: string;
}

/** The 32-byte key two peers share for authenticating each other's messages (same on both sides). */
export async function derivePairKey(context: PairKeyContext): Promise<Uint8Array> {
    const subtle = globalThis.crypto.subtle;
    const peerKey = await importPublicKey(context.peerPublicKey);
    const shared = await subtle.deriveBits({ name: 'ECDH', public: peerKey }, context.privateKey, 256);
    const hkdfKey = await subtle.importKey('raw', shared, 'HKDF', false, ['deriveBits']);
    const ids = [context.selfId, context.peerId].sort();
    const bits = await subtle.deriveBits({
        name: 'HKDF',
        hash: 'SHA-256',
        salt: encoder.encode(context.roomId),
        info: encoder.encode(PAIR_INFO + ids.join('/'))
    }, hkdfKey, 256);
    return new Uint8Array(bits);
}

/** What a message's tags are computed over. */
export function authDigest(additionalData: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    return sha256.create().update(DIGEST_DOMAIN).update(additionalData).update(ciphertext).digest();
}

/** Splits `data` into the ciphertext and its tag entries; throws `decrypt-failed` when there is no well-formed trailer. */
export function splitAuthenticated(data: Uint8Array | ArrayBuffer): { ciphertext: Uint8Array; tags: Uint8Array } {
    const bytes = toBytes(data);
    const end = bytes.length;
    const count = end >= COUNT_BYTES ? (bytes[end - 4] << 8) | bytes[end - 3] : -1;
    const check = end >= COUNT_BYTES ? (bytes[end - 2] << 8) | bytes[end - 1] : -1;
    const tagBytes = count * ENTRY_BYTES;
    if (count < 0 || (count ^ COUNT_CHECK) !== check || end < COUNT_BYTES + tagBytes) {
        throw new CollaborationError('decrypt-failed', 'Message without a well-formed sender authentication.');
    }
    const start = end - COUNT_BYTES - tagBytes;
    return { ciphertext: bytes.subarray(0, start), tags: bytes.subarray(start, end - COUNT_BYTES) };
}

/** Constant-time comparison of `expected.length` bytes of `bytes` at `offset` with `expected`. */
function bytesMatch(bytes: Uint8Array, offset: number, expected: Uint8Array): boolean {
    let diff = 0;
    for (let i = 0; i < expected.length; i++) {
        diff |= bytes[offset + i] ^ expected[i];
    }
    return diff === 0;
}

/**
 * The pair keys of one peer in one session: tags what it sends, checks what it receives. A peer
 * without a pair key here (never vouched for, or removed) can neither be sent to nor heard.
 */
export class PeerAuthenticator {
    private readonly macs = new Map<string, HmacSha256Key>();
    private readonly hints = new Map<string, Uint8Array>();
    private selfHint?: Uint8Array;
    /** The tag a received message should carry for this peer (reused: checking is synchronous). */
    private readonly expected = new Uint8Array(AUTH_TAG_BYTES);

    /** This peer's own id: what it looks for among a message's entries. */
    setSelf(selfId: string): void {
        this.selfHint = recipientHint(selfId);
    }

    set(peerId: string, pairKey: Uint8Array): void {
        this.macs.get(peerId)?.destroy();
        this.macs.set(peerId, new HmacSha256Key(pairKey));
        this.hints.set(peerId, recipientHint(peerId));
        pairKey.fill(0);
    }

    has(peerId: string): boolean {
        return this.macs.has(peerId);
    }

    delete(peerId: string): void {
        this.macs.get(peerId)?.destroy();
        this.macs.delete(peerId);
        this.hints.delete(peerId);
    }

    clear(): void {
        for (const mac of this.macs.values()) {
            mac.destroy();
        }
        this.macs.clear();
        this.hints.clear();
    }

    /** Writes the tag of `digest` for `peerId` into `out` at `offset`. */
    private tag(peerId: string, digest: Uint8Array, out: Uint8Array, offset: number): void {
        const mac = this.macs.get(peerId);
        if (!mac) {
            throw new CollaborationError('not-found', `No authentication key for peer '${peerId}'.`);
        }
        mac.tag(digest, 0, out, offset, AUTH_TAG_BYTES);
    }

    /** `ciphertext || tags || count`: a tag for each recipient (every known peer when none are named). */
    authenticate(additionalData: Uint8Array, ciphertext: Uint8Array, recipients?: readonly string[]): Uint8Array {
        const targets = recipients ?? [...this.macs.keys()];
        if (targets.length > MAX_TAGS) {
            throw new CollaborationError('too-large', 'Too many recipients.');
        }
        const digest = authDigest(additionalData, ciphertext);
        const out = new Uint8Array(ciphertext.length + targets.length * ENTRY_BYTES + COUNT_BYTES);
        out.set(ciphertext, 0);
        let offset = ciphertext.length;
        for (const peerId of targets) {
            out.set(this.hints.get(peerId) ?? recipientHint(peerId), offset);
            this.tag(peerId, digest, out, offset + HINT_BYTES);
            offset += ENTRY_BYTES;
        }
        const check = targets.length ^ COUNT_CHECK;
        out.set([targets.length >> 8, targets.length & 0xff, check >> 8, check & 0xff], offset);
        return out;
    }

    /**
     * Checks that `sender` tagged this message for this peer; returns the ciphertext. Throws `not-member`
     * for a sender without a pair key, `UnaddressedMessageError` when no entry of a broadcast is for this peer
     * (a message meant for one peer always has its entry), and
     * `UnauthenticatedMessageError` when the entries for it hold no valid tag.
     */
    verify(sender: string, additionalData: Uint8Array, data: Uint8Array | ArrayBuffer, broadcast = true): Uint8Array {
        if (!this.macs.has(sender)) {
            throw new CollaborationError('not-member', `Message from '${sender}', whom the host has not admitted to this session.`);
        }
        const { ciphertext, tags } = splitAuthenticated(data);
        const hint = this.selfHint;
        const expected = this.expected;
        this.tag(sender, authDigest(additionalData, ciphertext), expected, 0);
        let addressed = false;
        let found = false;
        for (let offset = 0; offset < tags.length; offset += ENTRY_BYTES) {
            if (!hint || bytesMatch(tags, offset, hint)) {
                addressed = true;
                found = bytesMatch(tags, offset + HINT_BYTES, expected) || found;
            }
        }
        if (!addressed && broadcast) {
            throw new UnaddressedMessageError(sender);
        }
        if (!found) {
            throw new UnauthenticatedMessageError(sender);
        }
        return ciphertext;
    }
}
