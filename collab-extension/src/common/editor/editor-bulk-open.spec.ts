/**
 * A guest opening many large files at once (following the host through a big change, restoring its editors)
 * under the server's default limits: every document arrives whole, nothing is refused 'rate-limited', and the
 * host is not disconnected as a flooder. (The transfers are paced by their own requests here; pacing.spec in
 * collab-server shows the client's pacer keeping a burst of stored content under the byte limit.)
 */
import * as assert from 'assert';
import { SessionFixture } from '@theia-collab/test-kit';
import { EditorGuest } from './editor-guest';
import { EditorHost } from './editor-host';

describe('opening many large files at once', function () {
    this.timeout(120_000);
    let fixture: SessionFixture;
    const disposables: { dispose(): void }[] = [];

    afterEach(async () => {
        disposables.splice(0).forEach(disposable => disposable.dispose());
        await fixture?.close();
    });

    it('10 files of 8 MiB opened together reach the guest whole, with the server\'s default limits', async () => {
        fixture = await SessionFixture.start();
        const { host, guests: [guest] } = await fixture.room(1);
        const line = 'const value = "the quick brown fox jumps over the lazy dog"; // padding padding padding\n';
        const files = new Map<string, string>();
        for (let i = 0; i < 10; i++) {
            files.set(`project/big-${i}.ts`, `// file ${i}\n` + line.repeat(Math.ceil(8 * 1024 * 1024 / line.length)));
        }
        const hostSync = new EditorHost(host, {
            read: async path => files.get(path) ?? Promise.reject(Object.assign(new Error('missing'), { code: 'not-found' })),
            save: async () => true
        }, { logger: fixture.logger });
        const guestSync = new EditorGuest({ logger: fixture.logger });
        disposables.push(hostSync, guestSync);
        guestSync.attach(guest);
        const docs = await Promise.all([...files.keys()].map(path => guestSync.acquire(path)));
        for (const [index, path] of [...files.keys()].entries()) {
            assert.strictEqual(docs[index].text.toString(), files.get(path), `${path} arrives whole`);
        }
        assert.strictEqual(host.connectionState, 'connected');
        assert.strictEqual(host.closed, false);
        assert.deepStrictEqual(fixture.logger.matching(/rate-limited|Too many/), []);
    });
});
