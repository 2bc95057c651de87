import * as assert from 'node:assert/strict';
import { generateContentKey, generateSessionKeyPair, KeyRing, SessionKeyPair } from './crypto';
import { EnvelopeCodec, paddedLength } from './envelope-codec';
import { CollaborationError } from './errors';
import { checkJoinProof, joinProof, newInviteSecret } from './invite';
import { InviteRegistry } from './invite-registry';
import { AUTH_TAG_BYTES, derivePairKey, HINT_BYTES, PeerAuthenticator, splitAuthenticated, UnaddressedMessageError, UnauthenticatedMessageError } from './sender-auth';
import { ClientEnvelope } from './wire';

const ROOM = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

interface Member { id: string; keys: SessionKeyPair; auth: PeerAuthenticator }

/** Members whose pair keys come from real ECDH between their session keys, as in a session. */
async function members(...ids: string[]): Promise<Member[]> {
    const all = await Promise.all(ids.map(async id => ({ id, keys: await generateSessionKeyPair(), auth: new PeerAuthenticator() })));
    all.forEach(member => member.auth.setSelf(member.id));
    for (const self of all) {
        for (const other of all.filter(member => member !== self)) {
            self.auth.set(other.id, await derivePairKey({
                privateKey: self.keys.privateKey, selfId: self.id, peerId: other.id, peerPublicKey: other.keys.publicKeyEncoded, roomId: ROOM
            }));
        }
    }
    return all;
}

describe('sender authentication', () => {
    const aad = new TextEncoder().encode('header');
    const ciphertext = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);

    it('derives the same pair key on both sides, and different keys for other pairs or rooms', async () => {
        const [a, b, c] = await Promise.all([generateSessionKeyPair(), generateSessionKeyPair(), generateSessionKeyPair()]);
        const ab = await derivePairKey({ privateKey: a.privateKey, selfId: 'a', peerId: 'b', peerPublicKey: b.publicKeyEncoded, roomId: ROOM });
        const ba = await derivePairKey({ privateKey: b.privateKey, selfId: 'b', peerId: 'a', peerPublicKey: a.publicKeyEncoded, roomId: ROOM });
        const ac = await derivePairKey({ privateKey: a.privateKey, selfId: 'a', peerId: 'c', peerPublicKey: c.publicKeyEncoded, roomId: ROOM });
        const otherRoom = await derivePairKey({ privateKey: a.privateKey, selfId: 'a', peerId: 'b', peerPublicKey: b.publicKeyEncoded, roomId: ROOM + 'x' });
        assert.deepEqual(ab, ba);
        assert.notDeepEqual(ab, ac);
        assert.notDeepEqual(ab, otherRoom);
    });

    it('lets every recipient check a broadcast, and nobody check it as coming from someone else', async () => {
        const [host, reader, writer] = await members('host', 'reader', 'writer');
        const data = host.auth.authenticate(aad, ciphertext);
        assert.equal(splitAuthenticated(data).tags.length, 2 * (HINT_BYTES + AUTH_TAG_BYTES));
        assert.deepEqual(reader.auth.verify('host', aad, data), ciphertext);
        assert.deepEqual(writer.auth.verify('host', aad, data), ciphertext);
        // The reader's own broadcast, claimed to be the host's: the writer's check fails.
        const byReader = reader.auth.authenticate(aad, ciphertext);
        assert.throws(() => writer.auth.verify('host', aad, byReader), UnauthenticatedMessageError);
        assert.deepEqual(writer.auth.verify('reader', aad, byReader), ciphertext);
    });

    it('binds the additional data and the ciphertext', async () => {
        const [host, guest] = await members('host', 'guest');
        const data = host.auth.authenticate(aad, ciphertext, ['guest']);
        assert.throws(() => guest.auth.verify('host', new TextEncoder().encode('other'), data), UnauthenticatedMessageError);
        const flipped = data.slice();
        flipped[0] ^= 1;
        assert.throws(() => guest.auth.verify('host', aad, flipped), UnauthenticatedMessageError);
    });

    it('refuses senders it has no key for, forgotten peers included, and malformed trailers', async () => {
        const [host, guest] = await members('host', 'guest');
        const data = host.auth.authenticate(aad, ciphertext, ['guest']);
        guest.auth.delete('host');
        assert.throws(() => guest.auth.verify('host', aad, data), (error: unknown) => error instanceof CollaborationError && error.code === 'not-member');
        const [, other] = await members('host', 'guest');
        const malformed = (error: unknown) => error instanceof CollaborationError && error.code === 'decrypt-failed' && /well-formed/.test(error.message);
        assert.throws(() => other.auth.verify('host', aad, new Uint8Array([0])), malformed);
        assert.throws(() => other.auth.verify('host', aad, new Uint8Array([1, 2, 0, 9, 0xa5, 0xac])), malformed, 'nine entries announced');
        const countFlipped = data.slice();
        countFlipped[countFlipped.length - 3] ^= 1;
        assert.throws(() => other.auth.verify('host', aad, countFlipped), malformed, 'a corrupted count');
    });

    it('a targeted message carries one tag, for its target only', async () => {
        const [host, reader, writer] = await members('host', 'reader', 'writer');
        const data = host.auth.authenticate(aad, ciphertext, ['reader']);
        assert.equal(splitAuthenticated(data).tags.length, HINT_BYTES + AUTH_TAG_BYTES);
        assert.deepEqual(reader.auth.verify('host', aad, data), ciphertext);
        // No entry for the writer: not addressed to it (ignored), which is not a forgery (reported).
        assert.throws(() => writer.auth.verify('host', aad, data), UnaddressedMessageError);
        // The reader's entry moved into the writer's place still fails the writer's check.
        const relabelled = data.slice();
        const { tags } = splitAuthenticated(relabelled);
        const writerHint = splitAuthenticated(host.auth.authenticate(aad, ciphertext, ['writer'])).tags.subarray(0, HINT_BYTES);
        tags.set(writerHint, 0);
        assert.throws(() => writer.auth.verify('host', aad, relabelled), UnauthenticatedMessageError);
    });
});

describe('padding', () => {
    it('pads bodies to size buckets', () => {
        assert.equal(paddedLength(0), 64);
        assert.equal(paddedLength(60), 64);
        assert.equal(paddedLength(61), 128);
        assert.equal(paddedLength(1000), 1024);
        assert.equal(paddedLength(4092), 4096);
        assert.equal(paddedLength(4093), 8192);
        assert.equal(paddedLength(70_000), 70_004);
    });

    it('gives a one-character and a thirty-character change the same ciphertext length', async () => {
        const key = await generateContentKey();
        const ring = new KeyRing();
        ring.add(0, key);
        ring.activate(0);
        const codec = new EnvelopeCodec(ROOM, 'host', ring, new PeerAuthenticator());
        const short = await codec.seal('broadcast', { m: 'editor/update', p: 'a' }) as ClientEnvelope;
        const long = await codec.seal('broadcast', { m: 'editor/update', p: 'a'.repeat(30) }) as ClientEnvelope;
        assert.equal((short.data as Uint8Array).length, (long.data as Uint8Array).length);
        ring.clear();
    });
});

describe('invite proofs', () => {
    it('bind the secret, the room and the guest\'s key', async () => {
        const secret = newInviteSecret();
        const [guest, server] = await Promise.all([generateSessionKeyPair(), generateSessionKeyPair()]);
        const proof = joinProof(secret, ROOM, guest.publicKeyEncoded);
        assert.ok(checkJoinProof(secret, ROOM, guest.publicKeyEncoded, proof));
        assert.ok(!checkJoinProof(secret, ROOM, server.publicKeyEncoded, proof), 'another key with the same proof');
        assert.ok(!checkJoinProof(secret, ROOM + 'x', guest.publicKeyEncoded, proof), 'another room');
        assert.ok(!checkJoinProof(newInviteSecret(), ROOM, guest.publicKeyEncoded, proof), 'another secret');
        assert.ok(!checkJoinProof(secret, ROOM, guest.publicKeyEncoded, undefined), 'no proof');
    });

    it('the registry matches usable invites only', async () => {
        let now = 1000;
        const registry = new InviteRegistry('http://127.0.0.1:1', ROOM, 'q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA', () => now);
        const lasting = registry.create({}, 'default');
        const once = registry.create({ singleUse: true });
        const brief = registry.create({ expiresInMs: 50 });
        const guest = (await generateSessionKeyPair()).publicKeyEncoded;
        const proofWith = (secret: string) => joinProof(secret, ROOM, guest);
        assert.equal(registry.match(guest, proofWith(lasting.secret))?.id, 'default');
        assert.equal(registry.match(guest, proofWith(once.secret))?.id, once.id);
        registry.consume(once.id);
        assert.equal(registry.match(guest, proofWith(once.secret)), undefined);
        assert.equal(registry.match(guest, proofWith(brief.secret))?.id, brief.id);
        now += 51;
        assert.equal(registry.match(guest, proofWith(brief.secret)), undefined);
        assert.ok(registry.revoke('default'));
        assert.equal(registry.match(guest, proofWith(lasting.secret)), undefined);
        assert.deepEqual(registry.list(), []);
        registry.consume(lasting.id);
    });
});
