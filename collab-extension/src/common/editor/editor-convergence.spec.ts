/**
 * Convergence fuzz test through a real coordination server: a host and four guests edit one document
 * concurrently (random inserts and deletes, often at the same position and over overlapping ranges), every
 * message is delayed at random, and one guest leaves mid-run, keeps editing offline and joins again.
 * Everyone must end with the same text, made of exactly the characters that were inserted and not deleted.
 * Reproduce a failure with COLLAB_FUZZ_SEED=<seed printed below>.
 */
import * as assert from 'assert';
import type { CollaborationClient } from '@theia-collab/protocol/lib/client';
import type { CollaborationSession } from '@theia-collab/protocol/lib/session';
import type { ServerHandle } from '@theia-collab/server/lib/server';
import { SharedDocument, SharedDocumentProvider } from './editor-document';
import { EditorGuest } from './editor-guest';
import { EditorHost } from './editor-host';
import { StringTextBuffer } from './editor-string-buffer';
import { TextBinding } from './editor-text-binding';
import { connect, delayed, prng, QuietLogger, sleep, startTestServer, until } from './editor-test-fixture';

const PATH = 'project/src/fuzz.ts';
const OPS_PER_CLIENT = 1000;
const MAX_DELAY_MS = 25;
const SEED_LENGTH = 200;

interface FuzzClient {
    name: string;
    client: CollaborationClient;
    session: CollaborationSession;
    provider: SharedDocumentProvider;
    shared: SharedDocument;
    buffer: StringTextBuffer;
    binding: TextBinding;
    online: boolean;
}

describe('co-editing convergence through a real server', function (): void {
    this.timeout(90_000);

    let server: ServerHandle | undefined;
    const clients: CollaborationClient[] = [];
    const disposables: { dispose(): void }[] = [];

    afterEach(async () => {
        disposables.splice(0).forEach(d => d.dispose());
        clients.splice(0).forEach(client => client.dispose());
        await server?.close();
        server = undefined;
    });

    it('5 clients converge under random concurrent edits, message delays and a leave/rejoin with offline edits', async () => {
        const seed = Number(process.env.COLLAB_FUZZ_SEED) || (Date.now() % 2147483647);
        console.log(`      convergence fuzz seed: ${seed} (COLLAB_FUZZ_SEED=${seed} reproduces the edit sequence)`);
        const random = prng(seed);
        const int = (n: number) => Math.floor(random() * n);
        const started = Date.now();

        // Unique characters, so the survivors can be checked exactly (CJK block: ~21k of them).
        let nextChar = 0x4E00;
        const fresh = (count: number) => {
            let text = '';
            for (let i = 0; i < count; i++) {
                text += String.fromCharCode(nextChar++);
            }
            return text;
        };
        const seedText = Array.from({ length: SEED_LENGTH }, (_, i) => String.fromCharCode(0x3400 + i)).join('');
        const inserted = new Set<string>(seedText);
        const deleted = new Set<string>();

        server = await startTestServer();
        const logger = new QuietLogger();
        const hostClient = await connect(server, 'Host', process.env.COLLAB_FUZZ_DEBUG ? { warn: (...a: unknown[]) => console.log('host:', ...a), error: (...a: unknown[]) => console.log('host:', ...a), info: (...a: unknown[]) => console.log('host:', ...a) } as QuietLogger : logger);
        clients.push(hostClient);
        const hostSession = await hostClient.createSession();
        disposables.push(hostSession.onJoinRequest(request => { request.admit('readwrite').catch(() => undefined); }));
        const invite = hostSession.invite!.code;

        let hostReads = 0;
        const host = new EditorHost(delayed(hostSession, random, MAX_DELAY_MS), {
            read: async () => { hostReads++; return seedText; },
            save: async () => true
        }, { logger });
        disposables.push(host);

        const fuzzClients: FuzzClient[] = [];
        const bind = (name: string, client: CollaborationClient, session: CollaborationSession, provider: SharedDocumentProvider, shared: SharedDocument) => {
            const buffer = new StringTextBuffer('stale content that must be replaced');
            const binding = new TextBinding(shared, buffer);
            fuzzClients.push({ name, client, session, provider, shared, buffer, binding, online: true });
        };
        bind('host', hostClient, hostSession, host, await host.acquire(PATH));

        for (let i = 1; i <= 4; i++) {
            const client = await connect(server, `Guest ${i}`, process.env.COLLAB_FUZZ_DEBUG ? { warn: (...a: unknown[]) => console.log(`guest ${i}:`, ...a), error: (...a: unknown[]) => console.log(`guest ${i}:`, ...a), info: (...a: unknown[]) => console.log(`guest ${i}:`, ...a) } as QuietLogger : logger);
            clients.push(client);
            const session = await client.joinSession(invite);
            const guest = new EditorGuest({ logger, refreshIntervalMs: 1000 });
            disposables.push(guest);
            guest.attach(delayed(session, random, MAX_DELAY_MS));
            bind(`guest ${i}`, client, session, guest, await guest.acquire(PATH));
        }
        for (const c of fuzzClients) {
            assert.strictEqual(c.buffer.getValue(), seedText, `${c.name} starts with the host content exactly once`);
        }
        assert.strictEqual(hostReads, 1);

        const edit = (c: FuzzClient) => {
            const value = c.buffer.getValue();
            const length = value.length;
            // A third of the edits hit the same few spots: start, middle, end.
            const spot = () => random() < 0.35 ? [0, length >> 1, length][int(3)] : int(length + 1);
            const kind = random();
            if (kind < 0.5 || length === 0) {
                const text = fresh(1 + int(3));
                text.split('').forEach(char => inserted.add(char));
                c.buffer.replace(spot(), 0, text);
            } else {
                const start = Math.min(spot(), length - 1);
                const count = 1 + int(Math.min(8, length - start));
                value.substring(start, start + count).split('').forEach(char => deleted.add(char));
                const text = kind > 0.85 ? fresh(1 + int(2)) : '';
                text.split('').forEach(char => inserted.add(char));
                c.buffer.replace(start, count, text);
            }
        };

        const rejoiner = fuzzClients[3];
        const run = async (c: FuzzClient) => {
            for (let op = 0; op < OPS_PER_CLIENT; op++) {
                await sleep(int(4));
                edit(c);
                if (c === rejoiner && op === Math.floor(OPS_PER_CLIENT * 0.3)) {
                    await c.session.leave();
                    c.online = false;
                }
                if (c === rejoiner && op === Math.floor(OPS_PER_CLIENT * 0.6)) {
                    assert.ok((c.provider as EditorGuest).attached === false, 'the leaver is offline');
                    c.session = await c.client.joinSession(invite);
                    (c.provider as EditorGuest).attach(delayed(c.session, random, MAX_DELAY_MS));
                    c.online = true;
                }
            }
        };
        const keyTimer = process.env.COLLAB_FUZZ_DEBUG ? setInterval(() => console.log('keys', fuzzClients.map(c => (c.session as any).keys?.currentKeyId).join(',')), 1000) : undefined;
        await Promise.all(fuzzClients.map(run));
        const editing = (Date.now() - started) / 1000;

        try {
            await until(() => fuzzClients.every(c => c.buffer.getValue() === fuzzClients[0].buffer.getValue()), 'all texts are equal', 30_000);
        } catch (error) {
            clearInterval(keyTimer);
            for (const c of fuzzClients) {
                const store = (c.shared.doc as any).store;
                console.log(`      ${c.name}: length ${c.buffer.getValue().length}, pending structs ${!!store.pendingStructs}, pending ds ${!!store.pendingDs}, `
                    + `peer ${c.session.self.id}, closed ${c.session.closed}`);
            }
            console.log(logger.records.slice(0, 20).join('\n'));
            throw error;
        }
        const final = fuzzClients[0].buffer.getValue();
        for (const c of fuzzClients) {
            assert.strictEqual(c.buffer.getValue(), final, `${c.name} has the same text`);
            assert.strictEqual(c.shared.text.toString(), final, `${c.name}'s Y.Text matches its buffer`);
        }
        const expected = [...inserted].filter(char => !deleted.has(char)).sort();
        assert.strictEqual(new Set(final).size, final.length, 'no character appears twice');
        assert.deepStrictEqual([...final].sort(), expected, 'exactly the inserted and not deleted characters survive');
        const seconds = (Date.now() - started) / 1000;
        console.log(`      ${fuzzClients.length} clients, ${fuzzClients.length * OPS_PER_CLIENT} edits, ${inserted.size} characters inserted, `
            + `${deleted.size} deleted, ${final.length} left; ${seconds.toFixed(1)} s (editing ${editing.toFixed(1)} s)`);
        assert.ok(seconds < 60, 'bounded runtime');
    });
});
