/**
 * End-to-end encryption primitives (WebCrypto, `globalThis.crypto.subtle`, browser and Node 20; small
 * payloads through the same AES-GCM in JavaScript, see `SYNC_CIPHER_MAX_BYTES`).
 *
 * - Every session has its own ECDH P-256 key pair; the private key never leaves WebCrypto.
 * - The host creates the room content key (AES-GCM-256) and wraps it for each guest with a key
 *   derived by HKDF-SHA-256 from their ECDH shared secret.
 * - Envelopes are sealed with the content key; the routing headers are the additional data
 *   (see envelope-codec.ts), so the coordination server can route but neither read nor rewrite.
 */
import { JsAesGcm } from './aes-gcm-js';
import { CollaborationError } from './errors';

export const WRAP_INFO_PREFIX = 'theia-collab/wrap/';
export const IV_BYTES = 12;
/**
 * How long a rotated-out content key still opens in-flight messages. A removed peer is refused at once
 * whatever key it uses (its pair keys are dropped, sender-auth.ts), so this matters only where the server
 * hid the host's new roster from a member: then the removed peer's old-key messages could still be heard
 * by that member, for this long and no longer. Long enough for a busy receiver's inbound queue to catch up.
 */
export const KEY_GRACE_MS = 10_000;
/**
 * Payloads up to this size are sealed and opened by AES-GCM in JavaScript (aes-gcm-js.ts), at once.
 * WebCrypto answers in a later task: behind an editor's input handling that held a typed character back
 * ~5 ms before it went out, and again before it was applied on the other side. Larger payloads use
 * WebCrypto (native, off the main thread). Same cipher, same bytes on the wire either way.
 */
export const SYNC_CIPHER_MAX_BYTES = 4 * 1024;
const CONTENT_KEY_BYTES = 32;
export const TAG_BYTES = 16;

const ECDH: EcKeyImportParams = { name: 'ECDH', namedCurve: 'P-256' };
const encoder = new TextEncoder();

/** WebCrypto wants ArrayBuffer-backed views; ours always are (never SharedArrayBuffer). */
function source(bytes: Uint8Array): BufferSource {
    return bytes as Uint8Array<ArrayBuffer>;
}

function subtle(): SubtleCrypto {
    const value = globalThis.crypto?.subtle;
    if (!value) {
        throw new CollaborationError('internal', 'WebCrypto (crypto.subtle) is not available: a secure context (https or localhost) is required.');
    }
    return value;
}

// ---- bytes ----

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64_INDEX = new Map([...B64].map((char, index) => [char, index]));

export function toBase64Url(bytes: Uint8Array): string {
    let out = '';
    let i = 0;
    for (; i + 2 < bytes.length; i += 3) {
        const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
        out += B64[n >> 18] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63] + B64[n & 63];
    }
    if (i + 1 === bytes.length) {
        const n = bytes[i] << 16;
        out += B64[n >> 18] + B64[(n >> 12) & 63];
    } else if (i + 2 === bytes.length) {
        const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
        out += B64[n >> 18] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63];
    }
    return out;
}

export function fromBase64Url(text: string): Uint8Array {
    if (text.length % 4 === 1) {
        throw new CollaborationError('bad-request', 'Invalid base64url text.');
    }
    const out = new Uint8Array(Math.floor(text.length * 3 / 4));
    let bits = 0;
    let value = 0;
    let index = 0;
    for (const char of text) {
        const digit = B64_INDEX.get(char);
        if (digit === undefined) {
            throw new CollaborationError('bad-request', 'Invalid base64url text.');
        }
        value = (value << 6) | digit;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[index++] = (value >> bits) & 0xff;
        }
    }
    return out;
}

/** Socket.io delivers binary as Buffer on Node and ArrayBuffer in browsers; always get a Uint8Array view. */
export function toBytes(value: Uint8Array | ArrayBuffer | ArrayBufferView): Uint8Array {
    if (value instanceof Uint8Array) {
        return value;
    }
    if (value instanceof ArrayBuffer) {
        return new Uint8Array(value);
    }
    if (ArrayBuffer.isView(value)) {
        return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    }
    throw new CollaborationError('bad-request', 'Expected binary data.');
}

export function randomBytes(length: number): Uint8Array {
    return globalThis.crypto.getRandomValues(new Uint8Array(length));
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
    const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
    let offset = 0;
    for (const part of parts) {
        out.set(part, offset);
        offset += part.length;
    }
    return out;
}

// ---- key pairs and fingerprints ----

export interface SessionKeyPair {
    readonly privateKey: CryptoKey;
    readonly publicKey: CryptoKey;
    /** Raw public key, base64url: the `publicKey` of the wire protocol. */
    readonly publicKeyEncoded: string;
}

/** A fresh per-session ECDH P-256 key pair; the private key is not extractable. */
export async function generateSessionKeyPair(): Promise<SessionKeyPair> {
    const pair = await subtle().generateKey(ECDH, false, ['deriveBits']) as CryptoKeyPair;
    const raw = new Uint8Array(await subtle().exportKey('raw', pair.publicKey));
    return { privateKey: pair.privateKey, publicKey: pair.publicKey, publicKeyEncoded: toBase64Url(raw) };
}

export async function importPublicKey(encoded: string): Promise<CryptoKey> {
    try {
        return await subtle().importKey('raw', source(fromBase64Url(encoded)), ECDH, true, []);
    } catch (error) {
        throw new CollaborationError('bad-request', 'Invalid peer public key.');
    }
}

/** Full fingerprint of a public key: base64url(SHA-256(raw public key)). */
export async function fingerprint(publicKeyEncoded: string): Promise<string> {
    const digest = await subtle().digest('SHA-256', source(fromBase64Url(publicKeyEncoded)));
    return toBase64Url(new Uint8Array(digest));
}

/** `3F2A-91C0-7B44-E1D8`: the first 8 bytes of a full fingerprint, for people to compare. */
export function shortFingerprintOf(fullFingerprint: string): string {
    const bytes = fromBase64Url(fullFingerprint).subarray(0, 8);
    const hex = [...bytes].map(byte => byte.toString(16).padStart(2, '0')).join('').toUpperCase();
    return hex.match(/.{4}/g)!.join('-');
}

export async function shortFingerprint(publicKeyEncoded: string): Promise<string> {
    return shortFingerprintOf(await fingerprint(publicKeyEncoded));
}

export function fingerprintsEqual(a: string, b: string): boolean {
    if (a.length !== b.length) {
        return false;
    }
    let diff = 0;
    for (let i = 0; i < a.length; i++) {
        diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
    }
    return diff === 0;
}

// ---- content keys and wrapping ----

/**
 * A room content key (AES-256-GCM): the WebCrypto key (non-extractable) and its raw bytes, which the
 * JavaScript cipher needs and the host wraps for guests.
 */
export class ContentKey {
    private js?: JsAesGcm;

    private constructor(readonly cryptoKey: CryptoKey, private readonly raw: Uint8Array) { }

    static async fromRaw(raw: Uint8Array): Promise<ContentKey> {
        if (raw.length !== CONTENT_KEY_BYTES) {
            throw new CollaborationError('decrypt-failed', 'A room key has the wrong size.');
        }
        const copy = raw.slice();
        return new ContentKey(await subtle().importKey('raw', source(copy), { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']), copy);
    }

    /** A copy of the raw key (to wrap it for a guest); the caller zeroes it after use. */
    exportRaw(): Uint8Array {
        return this.raw.slice();
    }

    /** The JavaScript AES-GCM under this key, its key schedule and tables built on first use (`iv` must be fresh for every encryption). */
    jsCipher(): JsAesGcm {
        return this.js ??= new JsAesGcm(this.raw);
    }
}

/** The room content key, created by the host. */
export async function generateContentKey(): Promise<ContentKey> {
    const raw = randomBytes(CONTENT_KEY_BYTES);
    try {
        return await ContentKey.fromRaw(raw);
    } finally {
        raw.fill(0);
    }
}

export interface WrapContext {
    /** Own ECDH private key. */
    privateKey: CryptoKey;
    /** The other side's public key (wire encoding). */
    peerPublicKey: string;
    roomId: string;
    /** The guest the key is wrapped for (on both sides). */
    guestPeerId: string;
    keyId: number;
}

function wrapAad(context: WrapContext): Uint8Array {
    return encoder.encode(JSON.stringify(['theia-collab/wrap', context.roomId, context.guestPeerId, context.keyId]));
}

async function deriveWrappingKey(context: WrapContext): Promise<CryptoKey> {
    const peerKey = await importPublicKey(context.peerPublicKey);
    const shared = await subtle().deriveBits({ name: 'ECDH', public: peerKey }, context.privateKey, 256);
    const hkdfKey = await subtle().importKey('raw', shared, 'HKDF', false, ['deriveKey']);
    return subtle().deriveKey(
        {
            name: 'HKDF',
            hash: 'SHA-256',
            salt: source(encoder.encode(context.roomId)),
            info: source(encoder.encode(WRAP_INFO_PREFIX + context.guestPeerId + '/' + context.keyId))
        },
        hkdfKey,
        { name: 'AES-GCM', length: 256 },
        false,
        ['encrypt', 'decrypt']
    );
}

/** Host side: `iv(12) || AES-GCM(raw content key)`, bound to room, guest and key id. */
export async function wrapContentKey(contentKey: ContentKey, context: WrapContext): Promise<Uint8Array> {
    const wrappingKey = await deriveWrappingKey(context);
    const raw = contentKey.exportRaw();
    const iv = randomBytes(IV_BYTES);
    const sealed = await subtle().encrypt({ name: 'AES-GCM', iv: source(iv), additionalData: source(wrapAad(context)) }, wrappingKey, source(raw));
    raw.fill(0);
    return concatBytes(iv, new Uint8Array(sealed));
}

/** Guest side: opens key material from the host. */
export async function unwrapContentKey(keyMaterial: Uint8Array | ArrayBuffer, context: WrapContext): Promise<ContentKey> {
    const bytes = toBytes(keyMaterial);
    if (bytes.length <= IV_BYTES + 16) {
        throw new CollaborationError('decrypt-failed', 'The room key sent by the host is malformed.');
    }
    let raw: Uint8Array;
    try {
        const wrappingKey = await deriveWrappingKey(context);
        raw = new Uint8Array(await subtle().decrypt(
            { name: 'AES-GCM', iv: source(bytes.subarray(0, IV_BYTES)), additionalData: source(wrapAad(context)) },
            wrappingKey,
            source(bytes.subarray(IV_BYTES))
        ));
    } catch (error) {
        throw new CollaborationError('decrypt-failed', 'The room key could not be opened: it was not wrapped for this session by the host.');
    }
    if (raw.length !== CONTENT_KEY_BYTES) {
        throw new CollaborationError('decrypt-failed', 'The room key sent by the host has the wrong size.');
    }
    try {
        return await ContentKey.fromRaw(raw);
    } finally {
        raw.fill(0);
    }
}

// ---- authenticated encryption with the content key ----

/** `iv(12, fresh random) || AES-GCM(plaintext)` with the given additional data. */
export async function encrypt(key: ContentKey, plaintext: Uint8Array, additionalData: Uint8Array, allowNow = true): Promise<Uint8Array> {
    const now = allowNow ? encryptNow(key, plaintext, additionalData) : undefined;
    if (now) {
        return now;
    }
    const iv = randomBytes(IV_BYTES);
    const sealed = await subtle().encrypt({ name: 'AES-GCM', iv: source(iv), additionalData: source(additionalData) }, key.cryptoKey, source(plaintext));
    return concatBytes(iv, new Uint8Array(sealed));
}

export function fitsSyncCipher(plaintextBytes: number): boolean {
    return plaintextBytes <= SYNC_CIPHER_MAX_BYTES;
}

/** `encrypt` at once, for payloads up to `SYNC_CIPHER_MAX_BYTES`; undefined for larger ones. */
export function encryptNow(key: ContentKey, plaintext: Uint8Array, additionalData: Uint8Array): Uint8Array | undefined {
    if (!fitsSyncCipher(plaintext.byteLength)) {
        return undefined;
    }
    const iv = randomBytes(IV_BYTES);
    return concatBytes(iv, key.jsCipher().encrypt(iv, additionalData, plaintext));
}

/** Opens what `encrypt` produced; throws `decrypt-failed` on any tampering or a wrong key. */
export async function decrypt(key: ContentKey, data: Uint8Array, additionalData: Uint8Array, allowNow = true): Promise<Uint8Array> {
    if (data.length < IV_BYTES + TAG_BYTES) {
        throw new CollaborationError('decrypt-failed', 'Encrypted message is too short.');
    }
    const iv = data.subarray(0, IV_BYTES);
    const sealed = data.subarray(IV_BYTES);
    try {
        if (allowNow && fitsSyncCipher(sealed.byteLength - TAG_BYTES)) {
            return key.jsCipher().decrypt(iv, additionalData, sealed);
        }
        return new Uint8Array(await subtle().decrypt({ name: 'AES-GCM', iv: source(iv), additionalData: source(additionalData) }, key.cryptoKey, source(sealed)));
    } catch {
        throw new CollaborationError('decrypt-failed', 'Message failed authentication (tampered, misrouted or sealed with another key).');
    }
}

/**
 * The content keys a session holds: the current one (used to seal) and, for a short grace period
 * after a rotation, the previous ones (still accepted when opening).
 */
export class KeyRing {
    private readonly keys = new Map<number, ContentKey>();
    private readonly timers = new Map<number, ReturnType<typeof setTimeout>>();
    private currentId = -1;

    constructor(private readonly graceMs = KEY_GRACE_MS) { }

    get currentKeyId(): number {
        return this.currentId;
    }

    get current(): { id: number; key: ContentKey } | undefined {
        const key = this.keys.get(this.currentId);
        return key ? { id: this.currentId, key } : undefined;
    }

    get(id: number): ContentKey | undefined {
        return this.keys.get(id);
    }

    /** Key ids currently held (the current one and any still in their grace period). */
    ids(): number[] {
        return [...this.keys.keys()];
    }

    /** Makes `key` available for opening, without sealing with it yet. */
    add(id: number, key: ContentKey): void {
        this.keys.set(id, key);
    }

    /** Seals with `id` from now on; earlier keys are dropped after the grace period. */
    activate(id: number): void {
        if (!this.keys.has(id)) {
            throw new CollaborationError('internal', `Unknown content key ${id}.`);
        }
        for (const old of this.keys.keys()) {
            if (old !== id && !this.timers.has(old)) {
                const timer = setTimeout(() => this.remove(old), this.graceMs);
                this.timers.set(old, timer);
            }
        }
        this.currentId = id;
    }

    remove(id: number): void {
        this.keys.delete(id);
        const timer = this.timers.get(id);
        if (timer !== undefined) {
            clearTimeout(timer);
            this.timers.delete(id);
        }
    }

    clear(): void {
        for (const timer of this.timers.values()) {
            clearTimeout(timer);
        }
        this.timers.clear();
        this.keys.clear();
        this.currentId = -1;
    }
}
