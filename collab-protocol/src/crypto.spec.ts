import * as assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, createHash, randomBytes as nodeRandomBytes } from 'node:crypto';
import {
    ContentKey, decrypt, encrypt, fingerprint, fromBase64Url, generateContentKey, generateSessionKeyPair, KeyRing, SessionKeyPair, shortFingerprint,
    shortFingerprintOf, SYNC_CIPHER_MAX_BYTES, toBase64Url, unwrapContentKey, WrapContext, wrapContentKey
} from './crypto';
import { EnvelopeCodec, EnvelopeHeader, envelopeAad, LONE_MESSAGE_GAP_MS, openBody, sealBody } from './envelope-codec';
import { CollaborationError } from './errors';
import { createInvite, parseInvite } from './invite';
import { PeerAuthenticator, splitAuthenticated } from './sender-auth';
import { ClientEnvelope, RelayedEnvelope } from './wire';

const ROOM = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
const OTHER_ROOM = 'BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB';
const FP = 'q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA';

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<CollaborationError> {
    try {
        await promise;
    } catch (error) {
        assert.ok(error instanceof CollaborationError, `expected a CollaborationError, got ${error}`);
        assert.equal(error.code, code, error.message);
        return error;
    }
    assert.fail(`expected a rejection with '${code}'`);
}

/** Authenticators for peers that share a random pair key with each other (what ECDH gives real peers). */
function authenticators(...ids: string[]): Record<string, PeerAuthenticator> {
    const result: Record<string, PeerAuthenticator> = {};
    ids.forEach(id => {
        result[id] = new PeerAuthenticator();
        result[id].setSelf(id);
    });
    for (const [i, a] of ids.entries()) {
        for (const b of ids.slice(i + 1)) {
            const key = nodeRandomBytes(32);
            result[a].set(b, Uint8Array.from(key));
            result[b].set(a, Uint8Array.from(key));
        }
    }
    return result;
}

function relayed(envelope: ClientEnvelope, sender: string, changes: Partial<RelayedEnvelope> = {}): RelayedEnvelope {
    return { ...envelope, sender, ...changes };
}

function flipBit(data: Uint8Array | ArrayBuffer, index: number): Uint8Array {
    const copy = new Uint8Array(data instanceof ArrayBuffer ? data : data.slice());
    copy[index] ^= 0x01;
    return copy;
}

describe('crypto', () => {

    describe('encoding and fingerprints', () => {
        it('base64url round-trips and matches Node', () => {
            for (let length = 0; length < 40; length++) {
                const bytes = new Uint8Array(length).map((_, i) => (i * 37 + length) & 0xff);
                const encoded = toBase64Url(bytes);
                assert.equal(encoded, Buffer.from(bytes).toString('base64url'));
                assert.deepEqual([...fromBase64Url(encoded)], [...bytes]);
            }
            assert.throws(() => fromBase64Url('ab+c'), CollaborationError);
        });

        it('exports the raw public key as base64url and keeps the private key non-extractable', async () => {
            const pair = await generateSessionKeyPair();
            const raw = fromBase64Url(pair.publicKeyEncoded);
            assert.equal(raw.length, 65);
            assert.equal(raw[0], 0x04);
            assert.equal(pair.privateKey.extractable, false);
            await assert.rejects(crypto.subtle.exportKey('pkcs8', pair.privateKey));
        });

        it('computes the full and the short fingerprint', async () => {
            const pair = await generateSessionKeyPair();
            const digest = createHash('sha256').update(fromBase64Url(pair.publicKeyEncoded)).digest();
            const full = await fingerprint(pair.publicKeyEncoded);
            assert.equal(full, digest.toString('base64url'));
            assert.equal(full.length, 43);
            const short = await shortFingerprint(pair.publicKeyEncoded);
            assert.match(short, /^[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}$/);
            assert.equal(short.replace(/-/g, ''), digest.subarray(0, 8).toString('hex').toUpperCase());
            assert.equal(shortFingerprintOf(FP), 'ABCD-EF12-3456-7890');
        });
    });

    describe('content key wrapping', () => {
        let host: SessionKeyPair;
        let guest: SessionKeyPair;
        let stranger: SessionKeyPair;
        let contentKey: ContentKey;
        let forGuest: WrapContext;
        let byGuest: WrapContext;

        before(async () => {
            [host, guest, stranger] = await Promise.all([generateSessionKeyPair(), generateSessionKeyPair(), generateSessionKeyPair()]);
            contentKey = await generateContentKey();
            forGuest = { privateKey: host.privateKey, peerPublicKey: guest.publicKeyEncoded, roomId: ROOM, guestPeerId: 'guest-1', keyId: 3 };
            byGuest = { privateKey: guest.privateKey, peerPublicKey: host.publicKeyEncoded, roomId: ROOM, guestPeerId: 'guest-1', keyId: 3 };
        });

        it('unwraps what the host wrapped for the guest, as a non-extractable key', async () => {
            const material = await wrapContentKey(contentKey, forGuest);
            assert.equal(material.length, 12 + 32 + 16);
            const unwrapped = await unwrapContentKey(material, byGuest);
            assert.equal(unwrapped.cryptoKey.extractable, false);
            const aad = new TextEncoder().encode('aad');
            const sealed = await encrypt(contentKey, new TextEncoder().encode('hello'), aad);
            assert.equal(new TextDecoder().decode(await decrypt(unwrapped, sealed, aad)), 'hello');
            const back = await encrypt(unwrapped, new TextEncoder().encode('back'), aad);
            assert.equal(new TextDecoder().decode(await decrypt(contentKey, back, aad)), 'back');
        });

        it('refuses key material for another guest, room, key id, key pair, or tampered', async () => {
            const material = await wrapContentKey(contentKey, forGuest);
            await rejectsWith(unwrapContentKey(material, { ...byGuest, guestPeerId: 'guest-2' }), 'decrypt-failed');
            await rejectsWith(unwrapContentKey(material, { ...byGuest, roomId: OTHER_ROOM }), 'decrypt-failed');
            await rejectsWith(unwrapContentKey(material, { ...byGuest, keyId: 4 }), 'decrypt-failed');
            await rejectsWith(unwrapContentKey(material, { ...byGuest, privateKey: stranger.privateKey }), 'decrypt-failed');
            await rejectsWith(unwrapContentKey(material, { ...byGuest, peerPublicKey: stranger.publicKeyEncoded }), 'decrypt-failed');
            await rejectsWith(unwrapContentKey(flipBit(material, 20), byGuest), 'decrypt-failed');
            await rejectsWith(unwrapContentKey(material.subarray(0, 20), byGuest), 'decrypt-failed');
        });
    });

    describe('content cipher', () => {
        // Both sides of the size threshold: the JavaScript cipher below, WebCrypto above.
        const SIZES = [0, 1, 200, SYNC_CIPHER_MAX_BYTES, SYNC_CIPHER_MAX_BYTES + 1, 100_000];
        const aad = new TextEncoder().encode('aad');
        let raw: Uint8Array;
        let key: ContentKey;

        before(async () => {
            raw = new Uint8Array(nodeRandomBytes(32));
            key = await ContentKey.fromRaw(raw);
        });

        it('is standard AES-256-GCM (iv || ciphertext || tag) at every size, both ways', async () => {
            for (const size of SIZES) {
                const plaintext = new Uint8Array(nodeRandomBytes(size));
                const sealed = await encrypt(key, plaintext, aad);
                assert.equal(sealed.length, 12 + size + 16);
                const decipher = createDecipheriv('aes-256-gcm', raw, sealed.subarray(0, 12));
                decipher.setAAD(aad);
                decipher.setAuthTag(sealed.subarray(sealed.length - 16));
                assert.deepEqual(new Uint8Array(Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()])), plaintext, `size ${size}`);

                const iv = nodeRandomBytes(12);
                const cipher = createCipheriv('aes-256-gcm', raw, iv);
                cipher.setAAD(aad);
                const fromNode = Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
                assert.deepEqual(await decrypt(key, new Uint8Array(fromNode), aad), plaintext, `size ${size}`);
            }
        });

        it('refuses tampered data, other additional data and another key at every size', async () => {
            const other = await generateContentKey();
            for (const size of SIZES) {
                const sealed = await encrypt(key, new Uint8Array(size).fill(7), aad);
                await rejectsWith(decrypt(key, flipBit(sealed, sealed.length - 1), aad), 'decrypt-failed');
                await rejectsWith(decrypt(key, flipBit(sealed, 0), aad), 'decrypt-failed');
                await rejectsWith(decrypt(key, sealed, new TextEncoder().encode('aae')), 'decrypt-failed');
                await rejectsWith(decrypt(other, sealed, aad), 'decrypt-failed');
            }
        });

        it('seals and opens a small message before any other task runs (a keystroke is not held back)', async () => {
            const order: string[] = [];
            setImmediate(() => order.push('next task'));
            const sealed = await encrypt(key, new Uint8Array(300), aad);
            await decrypt(key, sealed, aad);
            order.push('sealed and opened');
            await new Promise(resolve => setImmediate(resolve));
            assert.deepEqual(order, ['sealed and opened', 'next task']);
        });
    });

    describe('envelopes', () => {
        let key: ContentKey;
        let otherKey: ContentKey;
        let host: EnvelopeCodec;
        let guest: EnvelopeCodec;
        let guest2: EnvelopeCodec;
        let auth: Record<string, PeerAuthenticator>;

        beforeEach(async () => {
            key = await generateContentKey();
            otherKey = await generateContentKey();
            const ring = () => {
                const keys = new KeyRing();
                keys.add(0, key);
                keys.activate(0);
                return keys;
            };
            auth = authenticators('host', 'guest', 'guest2');
            host = new EnvelopeCodec(ROOM, 'host', ring(), auth.host);
            guest = new EnvelopeCodec(ROOM, 'guest', ring(), auth.guest);
            guest2 = new EnvelopeCodec(ROOM, 'guest2', ring(), auth.guest2);
        });

        afterEach(() => [host, guest, guest2].forEach(codec => codec.keys.clear()));

        it('round-trips every kind, binary included, in the wire encodings of Node and browsers', async () => {
            const bytes = new Uint8Array([0, 1, 2, 250, 255]);
            const broadcast = await host.seal('broadcast', { m: 'doc/update', p: { text: 'secret', bytes } });
            assert.equal(broadcast.target, undefined);
            const opened = await guest.open(relayed(broadcast, 'host'));
            assert.equal(opened.header.kind, 'broadcast');
            assert.deepEqual(opened.body, { m: 'doc/update', p: { text: 'secret', bytes: opened.body && (opened.body as any).p.bytes } });
            assert.deepEqual([...(opened.body as any).p.bytes], [...bytes]);
            // Browsers receive an ArrayBuffer, Node a Buffer.
            const request = await host.seal('request', { m: 'fs/read', p: ['a'] }, 'guest', 7);
            const asArrayBuffer = (request.data as Uint8Array).slice().buffer;
            const openedRequest = await guest.open(relayed(request, 'host', { data: asArrayBuffer }));
            assert.equal(openedRequest.header.id, 7);
            const response = await guest.seal('response', { r: { ok: 1 } }, 'host', 7);
            assert.deepEqual((await host.open(relayed(response, 'guest', { data: Buffer.from(response.data as Uint8Array) }))).body, { r: { ok: 1 } });
            const error = await guest.seal('response', { e: { code: 'not-found', message: 'no' } }, 'host', 8);
            assert.deepEqual((await host.open(relayed(error, 'guest'))).body, { e: { code: 'not-found', message: 'no' } });
            const notification = await guest.seal('notification', { m: 'chat/typing', p: null }, 'host');
            assert.deepEqual((await host.open(relayed(notification, 'guest'))).body, { m: 'chat/typing', p: null });
        });

        it('uses fresh IVs and increasing sequence numbers', async () => {
            const a = await host.seal('broadcast', { m: 'x', p: 1 });
            const b = await host.seal('broadcast', { m: 'x', p: 1 });
            assert.ok(b.seq > a.seq);
            assert.notDeepEqual([...(a.data as Uint8Array).subarray(0, 12)], [...(b.data as Uint8Array).subarray(0, 12)]);
        });

        it('rejects a flipped ciphertext bit', async () => {
            const envelope = await host.seal('broadcast', { m: 'x', p: 'hello' });
            const data = envelope.data as Uint8Array;
            // Near the end of the ciphertext (the AES-GCM tag), before the sender's tags.
            await rejectsWith(guest.open(relayed(envelope, 'host', { data: flipBit(data, splitAuthenticated(data).ciphertext.length - 5) })), 'decrypt-failed');
            await rejectsWith(guest.open(relayed(envelope, 'host', { data: flipBit(data, 3) })), 'decrypt-failed');
            // The untouched envelope still opens: the failures did not consume its sequence number.
            await guest.open(relayed(envelope, 'host'));
        });

        it('rejects changed sender, seq, target and kind headers', async () => {
            const broadcast = await host.seal('broadcast', { m: 'x', p: 'hello' });
            await rejectsWith(guest.open(relayed(broadcast, 'guest2')), 'decrypt-failed');
            await rejectsWith(guest.open(relayed(broadcast, 'host', { seq: broadcast.seq + 1 })), 'decrypt-failed');
            const notification = await host.seal('notification', { m: 'x', p: 'hello' }, 'guest');
            await rejectsWith(guest2.open(relayed(notification, 'host', { target: 'guest2' })), 'decrypt-failed');
            await rejectsWith(guest.open(relayed(notification, 'host', { kind: 'broadcast', target: undefined })), 'decrypt-failed');
            const request = await host.seal('request', { m: 'x', p: 'hello' }, 'guest', 1);
            await rejectsWith(guest.open(relayed(request, 'host', { id: 2 })), 'decrypt-failed');
            await rejectsWith(guest.open(relayed(request, 'host', { key: 1 })), 'decrypt-failed');
        });

        it('binds every header field into the additional data', async () => {
            const header: EnvelopeHeader = { room: ROOM, sender: 'host', kind: 'request', target: 'guest', id: 4, seq: 9, key: 0 };
            const data = await sealBody(key, header, { m: 'x', p: 'hello' });
            assert.deepEqual(await openBody(key, header, data), { m: 'x', p: 'hello' });
            const changes: Partial<EnvelopeHeader>[] = [
                { room: OTHER_ROOM }, { sender: 'guest2' }, { kind: 'notification' }, { target: 'guest2' }, { target: undefined },
                { id: 5 }, { id: undefined }, { seq: 10 }, { key: 1 }
            ];
            for (const change of changes) {
                await rejectsWith(openBody(key, { ...header, ...change }, data), 'decrypt-failed');
            }
            assert.notDeepEqual(envelopeAad(header), envelopeAad({ ...header, target: '' }));
        });

        it('rejects envelopes for another room or another peer', async () => {
            const notification = await host.seal('notification', { m: 'x', p: 1 }, 'guest');
            await rejectsWith(guest2.open(relayed(notification, 'host')), 'bad-request');
            await rejectsWith(guest.open(relayed(notification, 'host', { room: OTHER_ROOM })), 'bad-request');
            const broadcast = await host.seal('broadcast', { m: 'x', p: 1 });
            await rejectsWith(guest.open(relayed(broadcast, 'host', { target: 'guest' })), 'bad-request');
            await rejectsWith(host.open(relayed(broadcast, 'host')), 'bad-request');
            await rejectsWith(guest.open({ nonsense: true }), 'bad-request');
            await rejectsWith(guest.open(null), 'bad-request');
        });

        it('rejects replayed and reordered envelopes', async () => {
            const first = await host.seal('broadcast', { m: 'x', p: 1 });
            const second = await host.seal('broadcast', { m: 'x', p: 2 });
            await guest.open(relayed(first, 'host'));
            await rejectsWith(guest.open(relayed(first, 'host')), 'decrypt-failed');
            await guest.open(relayed(second, 'host'));
            await rejectsWith(guest.open(relayed(second, 'host')), 'decrypt-failed');
            const third = await host.seal('broadcast', { m: 'x', p: 3 });
            const fourth = await host.seal('broadcast', { m: 'x', p: 4 });
            await guest2.open(relayed(fourth, 'host'));
            await rejectsWith(guest2.open(relayed(third, 'host')), 'decrypt-failed');
            // Concurrent duplicates: only one of them opens.
            const fifth = await host.seal('broadcast', { m: 'x', p: 5 });
            const results = await Promise.allSettled([guest.open(relayed(fifth, 'host')), guest.open(relayed(fifth, 'host'))]);
            assert.deepEqual(results.map(result => result.status).sort(), ['fulfilled', 'rejected']);
        });

        it('rejects an envelope sealed with another key', async () => {
            const stranger = new KeyRing();
            stranger.add(0, otherKey);
            stranger.activate(0);
            const forged = await new EnvelopeCodec(ROOM, 'host', stranger, auth.host).seal('broadcast', { m: 'x', p: 1 });
            await rejectsWith(guest.open(relayed(forged, 'host')), 'decrypt-failed');
            stranger.clear();
        });

        it('seals a lone small message at once; one right after it, or a large one, through WebCrypto; all open alike', async () => {
            await new Promise(resolve => setTimeout(resolve, LONE_MESSAGE_GAP_MS));
            const lone = host.seal('broadcast', { m: 'x', p: 'a' });
            const next = host.seal('broadcast', { m: 'x', p: 'b' });
            assert.ok(!(lone instanceof Promise), 'a lone keystroke is sealed before seal() returns');
            assert.ok(next instanceof Promise, 'a stream goes through WebCrypto');
            await new Promise(resolve => setTimeout(resolve, LONE_MESSAGE_GAP_MS));
            const large = host.seal('broadcast', { m: 'x', p: 'c'.repeat(SYNC_CIPHER_MAX_BYTES) });
            assert.ok(large instanceof Promise, 'large messages go through WebCrypto');
            for (const [sealed, text] of [[lone, 'a'], [await next, 'b'], [await large, 'c'.repeat(SYNC_CIPHER_MAX_BYTES)]] as const) {
                assert.deepEqual((await guest.open(relayed(sealed as ClientEnvelope, 'host'))).body, { m: 'x', p: text });
            }
        });

        it('refuses to seal more than the payload limit', async () => {
            await rejectsWith(Promise.resolve(host.seal('broadcast', { m: 'x', p: new Uint8Array(1024 * 1024) })), 'too-large');
        });

        it('keeps the previous key for a grace period after rotation', async () => {
            const ring = new KeyRing(100);
            ring.add(0, key);
            ring.activate(0);
            const receiver = new EnvelopeCodec(ROOM, 'guest', ring, auth.guest);
            const old = await host.seal('broadcast', { m: 'x', p: 'old' });
            ring.add(1, otherKey);
            ring.activate(1);
            assert.equal(ring.currentKeyId, 1);
            const late = await host.seal('broadcast', { m: 'x', p: 'late' });
            assert.deepEqual((await receiver.open(relayed(old, 'host'))).body, { m: 'x', p: 'old' });
            await new Promise(resolve => setTimeout(resolve, 150));
            assert.deepEqual(ring.ids(), [1]);
            await rejectsWith(receiver.open(relayed(late, 'host')), 'decrypt-failed');
            ring.clear();
        });
    });

    describe('invites', () => {
        const link = `https://collab.example.com/base/join/${ROOM}#${FP}`;
        const SECRET = 'AbCdEfGhIjKlMnOpQrStUv';

        it('creates codes and links', () => {
            const invite = createInvite('https://collab.example.com/base/', ROOM, FP, SECRET);
            assert.deepEqual(invite, {
                id: 'default',
                serverUrl: 'https://collab.example.com/base',
                roomId: ROOM,
                hostKeyFingerprint: FP,
                secret: SECRET,
                code: `${ROOM}#${FP}.${SECRET}`,
                link: `${link}.${SECRET}`
            });
            assert.deepEqual(parseInvite(invite.code), { roomId: ROOM, fingerprint: FP, secret: SECRET });
            assert.deepEqual(parseInvite(`see ${invite.link}.`), { serverUrl: 'https://collab.example.com/base', roomId: ROOM, fingerprint: FP, secret: SECRET });
        });

        it('parses a code and a link, with surrounding text', () => {
            assert.deepEqual(parseInvite(`  ${ROOM}#${FP}\n`), { roomId: ROOM, fingerprint: FP });
            assert.deepEqual(parseInvite(`Join me: ${ROOM}#${FP}.`), { roomId: ROOM, fingerprint: FP });
            assert.deepEqual(parseInvite(link), { serverUrl: 'https://collab.example.com/base', roomId: ROOM, fingerprint: FP });
            assert.deepEqual(parseInvite(`Here is the link (${link}) see you`),
                { serverUrl: 'https://collab.example.com/base', roomId: ROOM, fingerprint: FP });
            assert.deepEqual(parseInvite(`http://127.0.0.1:8100/join/${ROOM}#${FP}`), { serverUrl: 'http://127.0.0.1:8100', roomId: ROOM, fingerprint: FP });
        });

        it('rejects garbage with a human message', () => {
            for (const text of ['', '   ', 'hello world', ROOM, `${ROOM}#short`, `${ROOM}#${FP}x`, `short#${FP}`, `${ROOM}#${FP.slice(0, 42)}!`]) {
                assert.throws(() => parseInvite(text), (error: unknown) =>
                    error instanceof CollaborationError && error.code === 'bad-request' && /invite/.test(error.message), text);
            }
            assert.throws(() => parseInvite(undefined as unknown as string), CollaborationError);
        });
    });
});
