/**
 * Co-editing across dropped connections, through a real coordination server: a guest's connection is cut
 * mid-typing (client side, then server side), and the host is offline for a while (within its grace
 * period) while everyone keeps typing. The guests resume as the same peers, EditorGuest re-synchronises
 * every open document when it or the host is back, and everyone ends with the same text, made of exactly
 * the characters typed and not deleted.
 */
import * as assert from 'assert';
import { CollaborationClient } from '@theia-collab/protocol/lib/client';
import type { CollaborationSession } from '@theia-collab/protocol/lib/session';
import { cutClientSide, cutServerSide, keepOffline } from '@theia-collab/test-kit';
import { ServerHandle, startServer } from '@theia-collab/server/lib/server';
import { SharedDocument, SharedDocumentProvider } from './editor-document';
import { EditorGuest } from './editor-guest';
import { EditorHost } from './editor-host';
import { StringTextBuffer } from './editor-string-buffer';
import { TextBinding } from './editor-text-binding';
import { prng, QuietLogger, sleep, until } from './editor-test-fixture';

const PATH = 'project/src/reconnect.ts';

interface Editor {
    name: string;
    client: CollaborationClient;
    session: CollaborationSession;
    provider: SharedDocumentProvider;
    buffer: StringTextBuffer;
}

describe('co-editing across dropped connections', function (): void {
    this.timeout(60_000);
    let server: ServerHandle | undefined;
    const clients: CollaborationClient[] = [];
    const disposables: { dispose(): void }[] = [];

    afterEach(async () => {
        disposables.splice(0).forEach(d => d.dispose());
        clients.splice(0).forEach(client => client.dispose());
        await server?.close();
        server = undefined;
    });

    it('guests and the host drop and come back while everyone types; all end identical, nothing lost', async () => {
        const seed = Number(process.env.COLLAB_FUZZ_SEED) || (Date.now() % 2147483647);
        console.log(`      reconnect seed: ${seed}`);
        const random = prng(seed);
        const int = (n: number) => Math.floor(random() * n);
        server = await startServer({
            hostname: '127.0.0.1', port: 0, logLevel: 'silent', hostGraceMs: 20_000, guestGraceMs: 20_000,
            loginRateLimit: { max: 10_000, windowMs: 60_000 }, joinRateLimit: { max: 10_000, windowMs: 60_000 },
            socketEventRateLimit: { max: 100_000, windowMs: 1000 }
        });
        const logger = new QuietLogger();
        const connect = async (name: string) => {
            const client = await CollaborationClient.connect({ serverUrl: server!.url, name, logger, reconnectDelayMs: 100, reconnectDelayMaxMs: 400 });
            clients.push(client);
            return client;
        };

        let nextChar = 0x4E00;
        const inserted = new Set<string>();
        const deleted = new Set<string>();
        const seedText = 'seed\n';
        [...seedText].forEach(char => inserted.add(char));

        const hostClient = await connect('Host');
        const hostSession = await hostClient.createSession();
        disposables.push(hostSession.onJoinRequest(request => { request.admit('readwrite').catch(() => undefined); }));
        const host = new EditorHost(hostSession, { read: async () => seedText, save: async () => true }, { logger });
        disposables.push(host);
        const editors: Editor[] = [];
        const bind = (name: string, client: CollaborationClient, session: CollaborationSession, provider: SharedDocumentProvider, shared: SharedDocument) => {
            const buffer = new StringTextBuffer('');
            disposables.push(new TextBinding(shared, buffer));
            editors.push({ name, client, session, provider, buffer });
        };
        bind('host', hostClient, hostSession, host, await host.acquire(PATH));
        for (const name of ['Guest 1', 'Guest 2']) {
            const client = await connect(name);
            const session = await client.joinSession(hostSession.invite!.code);
            const guest = new EditorGuest({ logger, refreshIntervalMs: 60_000 });
            disposables.push(guest);
            guest.attach(session);
            bind(name, client, session, guest, await guest.acquire(PATH));
        }
        const [, first, second] = editors;
        const firstId = first.session.self.id;
        const secondId = second.session.self.id;

        const edit = (editor: Editor) => {
            const value = editor.buffer.getValue();
            if (value.length > 20 && random() < 0.25) {
                const start = int(value.length - 3);
                value.substring(start, start + 3).split('').forEach(char => deleted.add(char));
                editor.buffer.replace(start, 3, '');
            } else {
                const char = String.fromCharCode(nextChar++);
                inserted.add(char);
                editor.buffer.replace(int(value.length + 1), 0, char);
            }
        };
        let typing = true;
        const typists = editors.map(async editor => {
            while (typing) {
                edit(editor);
                await sleep(3 + int(8));
            }
        });
        await sleep(400);
        cutClientSide(first.client);
        await until(() => first.session.connectionState === 'reconnecting', 'guest 1 reconnecting');
        await until(() => first.session.connectionState === 'connected', 'guest 1 back', 10_000);
        await sleep(300);
        const offline = keepOffline(hostClient, 1500);
        await until(() => first.session.hostConnectionState === 'reconnecting' && second.session.hostConnectionState === 'reconnecting',
            'the guests see the host reconnecting', 10_000);
        await offline;
        await until(() => hostSession.connectionState === 'connected' && first.session.hostConnectionState === 'connected', 'the host back', 10_000);
        await sleep(300);
        cutServerSide(server, secondId);
        await until(() => second.session.connectionState === 'reconnecting', 'guest 2 reconnecting');
        await until(() => second.session.connectionState === 'connected', 'guest 2 back', 10_000);
        await sleep(500);
        typing = false;
        await Promise.all(typists);

        try {
            await until(() => editors.every(editor => editor.buffer.getValue() === editors[0].buffer.getValue()), 'all texts are equal', 15_000);
        } catch (error) {
            editors.forEach(editor => console.log(`      ${editor.name}: ${editor.buffer.getValue().length} characters, ${editor.session.connectionState}`));
            console.log(logger.records.slice(-20).join('\n'));
            throw error;
        }
        const final = editors[0].buffer.getValue();
        assert.deepStrictEqual([...final].sort(), [...inserted].filter(char => !deleted.has(char)).sort(), 'exactly the typed and not deleted characters');
        // Typing went on through every drop (the text's length is a random walk: inserts add one, deletes take three).
        assert.ok(inserted.size > 200, `enough typing (${inserted.size} characters typed)`);
        assert.strictEqual(first.session.self.id, firstId);
        assert.strictEqual(second.session.self.id, secondId);
        assert.ok(editors.every(editor => !editor.session.closed));
        assert.strictEqual(hostSession.peers.length, 3);
    });
});
