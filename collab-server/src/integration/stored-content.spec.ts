/**
 * Stored content through the session API and a real server: the host uploads sealed parts once, members fetch
 * and open them; the server only ever holds ciphertext and cannot swap or truncate parts unnoticed.
 */
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CollaborationError } from '@theia-collab/protocol/lib/errors';
import { Broadcast } from '@theia-collab/protocol/lib/messages';
import { STORED_PART_BYTES, StoredContentRef } from '@theia-collab/protocol/lib/stored-content';
import { rejection, serverOf, SessionFixture, until } from './session-fixture';

const Marker = Broadcast.define<{ n: number }>('test/marker');

async function code(promise: Promise<unknown>): Promise<string> {
    return CollaborationError.from(await rejection(promise)).code;
}

describe('stored content (session API, real server)', function () {
    this.timeout(20000);
    let fixture: SessionFixture;

    beforeEach(async () => {
        fixture = await SessionFixture.start();
    });

    afterEach(async () => {
        await fixture?.close();
    });

    it('the host stores content once; every guest fetches the same bytes, the server holds only ciphertext', async () => {
        const { host, guests } = await fixture.room(2);
        const data = new Uint8Array(randomBytes(2 * STORED_PART_BYTES + 12345));
        const ref = await host.storeContent(data);
        assert.equal(ref.bytes, data.byteLength);
        for (const guest of guests) {
            assert.deepEqual(await guest.fetchContent(ref), data);
        }
        // What the server keeps is not the plaintext (no part of it appears in what it stores).
        const probe = Buffer.from(data.subarray(1000, 1064));
        const stored = serverOf(fixture).contentStore.partsOf(host.roomId, ref.id);
        assert.equal(stored.length, 3);
        assert.ok(stored.every(part => !Buffer.from(part).includes(probe)), 'the server stores ciphertext');
        const empty = await host.storeContent(new Uint8Array(0));
        assert.equal((await guests[0].fetchContent(empty)).byteLength, 0);
    });

    it('refuses guests that store or delete, references that were altered, and content that is gone', async () => {
        const { host, guests: [guest] } = await fixture.room(1);
        const ref = await host.storeContent(new Uint8Array(randomBytes(STORED_PART_BYTES + 1)));
        assert.equal(await code(guest.storeContent(new Uint8Array(10))), 'forbidden');
        assert.equal(await code(guest.deleteContent(ref)), 'forbidden');
        // The size is bound to every part, and the key is the content's own.
        assert.equal(await code(guest.fetchContent({ ...ref, bytes: ref.bytes - 1 })), 'decrypt-failed');
        const otherKey = (ref.key[0] === 'A' ? 'B' : 'A') + ref.key.slice(1);
        assert.equal(await code(guest.fetchContent({ ...ref, key: otherKey })), 'decrypt-failed');
        assert.equal(await code(guest.fetchContent({ ...ref, id: 'x' } as StoredContentRef)), 'bad-request');
        assert.equal(await code(guest.fetchContent({ ...ref, key: 'short' } as StoredContentRef)), 'bad-request');
        assert.equal(await code(guest.fetchContent({ ...ref, id: 'A'.repeat(24) })), 'not-found');
        await host.deleteContent(ref);
        assert.equal(await code(guest.fetchContent(ref)), 'not-found');
    });

    it('content stored before a key change still opens for those who stay; a removed guest cannot fetch it', async () => {
        const { host, guests: [stays, removed] } = await fixture.room(2);
        const data = new Uint8Array(randomBytes(4096));
        const ref = await host.storeContent(data);
        assert.deepEqual(await removed.fetchContent(ref), data);
        await host.removePeer(removed.self.id);
        await until(() => stays.peers.length === 2, 'the removal reaches the guest that stays');
        // A message sealed with the new key arrives after the key itself: the rotation is done.
        const marked = new Promise<void>(resolve => stays.onBroadcast(Marker, () => resolve()));
        await host.sendBroadcast(Marker, { n: 1 });
        await marked;
        assert.deepEqual(await stays.fetchContent(ref), data);
        // Its session has ended; the server's membership check is covered in content-store.spec.
        assert.ok(removed.closed);
        assert.ok(['not-member', 'room-closed'].includes(await code(removed.fetchContent(ref))), 'the removed guest cannot fetch it');
    });
});
