/**
 * A host's legitimate bulk work stays under the server's limits on its own: the client paces what it sends
 * by the limits the server announced in `server:hello`, so nothing is refused `rate-limited` and the host is
 * never disconnected as a flooder (it used to be, storing a few large documents in a row).
 */
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { CollaborationClient } from '@theia-collab/protocol/lib/client';
import { SessionFixture } from '@theia-collab/test-kit';

describe('pacing under the server\'s limits', function () {
    this.timeout(120_000);
    let fixture: SessionFixture;

    afterEach(async () => {
        await fixture?.close();
    });

    it('a host storing 10 × 8 MiB at once is neither refused nor disconnected, and every content reads back', async () => {
        // The server's default limits (500 events/s, 32 MiB/s per connection), a store large enough to keep them.
        fixture = await SessionFixture.start({ contentBytesPerRoom: 96 * 1024 * 1024, contentBytes: 128 * 1024 * 1024 });
        const { host, guests: [guest] } = await fixture.room(1);
        const hostClient = fixture.clients[0] as CollaborationClient;
        assert.deepEqual(hostClient.limits?.bytes, { max: 32 * 1024 * 1024, windowMs: 1000 }, 'the server announced its byte limit');
        const contents = Array.from({ length: 10 }, () => new Uint8Array(randomBytes(8 * 1024 * 1024)));
        const started = Date.now();
        const refs = await Promise.all(contents.map(content => host.storeContent(content)));
        const seconds = (Date.now() - started) / 1000;
        assert.equal(host.connectionState, 'connected');
        assert.equal(host.closed, false);
        // 80 MiB under 32 MiB/s takes a few seconds: paced, not refused.
        assert.ok(seconds > 1.5, `stored in ${seconds} s`);
        for (const [index, ref] of refs.entries()) {
            const fetched = await guest.fetchContent(ref);
            assert.ok(Buffer.from(fetched).equals(Buffer.from(contents[index])), `content ${index} reads back`);
        }
        assert.deepEqual(fixture.logger.matching(/rate-limited|flood/), []);
    });
});
