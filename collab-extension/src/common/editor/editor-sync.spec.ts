/**
 * Document sync and awareness between real sessions through a real coordination server.
 */
import * as assert from 'assert';
import * as Y from 'yjs';
import type { CollaborationSession } from '@theia-collab/protocol/lib/session';
import type { StoredContentRef } from '@theia-collab/protocol/lib/stored-content';
import { SessionAwareness } from './editor-awareness';
import { EditorGuest } from './editor-guest';
import { EditorHost } from './editor-host';
import { EditorLimits, EditorMessages } from './editor-protocol';
import { StringTextBuffer } from './editor-string-buffer';
import { TextBinding } from './editor-text-binding';
import { useEditorSession } from './editor-session-fixture';
import { sleep, until } from './editor-test-fixture';

const PATH = 'project/README.md';

describe('co-editing sync through a real server', function (): void {
    this.timeout(30_000);

    /** The host's clock runs ahead by this much (to skip its waits). */
    let hostClockAhead = 0;
    const scope = useEditorSession({ [PATH]: 'line one\r\nline two\r\n' }, { now: () => Date.now() + hostClockAhead });
    beforeEach(() => hostClockAhead = 0);
    const { disposables, logger } = scope;
    let files: Map<string, string>;
    let saved: { path: string; text: string }[];
    let host: CollaborationSession;
    let hostSync: EditorHost;
    beforeEach(() => ({ files, saved, host, hostSync } = scope));
    const guest = scope.guest;

    it('seeds once from the host (line endings normalised); a late joiner gets the current text, not a second copy', async () => {
        const a = await guest('Ann');
        const docA = await a.sync.acquire(PATH);
        assert.strictEqual(docA.text.toString(), 'line one\nline two\n');
        docA.edit(text => text.insert(0, '# '));
        await until(() => hostSync.get(PATH)?.text.toString() === '# line one\nline two\n', 'the host has the edit');
        files.set(PATH, 'the disk changed meanwhile\n');
        const b = await guest('Bob');
        const docB = await b.sync.acquire(PATH);
        assert.strictEqual(docB.text.toString(), '# line one\nline two\n');
        assert.deepStrictEqual(hostSync.peersOf(PATH).sort(), [a.session.self.id, b.session.self.id].sort());
        b.sync.release(PATH);
        await until(() => hostSync.peersOf(PATH).length === 1, 'the host forgets a closed document');
    });

    it('the host editor content seeds the document when the host shares it first', async () => {
        const shared = hostSync.acquireWithText(PATH, 'unsaved editor content\n');
        const buffer = new StringTextBuffer('unsaved editor content\n');
        new TextBinding(shared, buffer);
        const a = await guest('Ann');
        const doc = await a.sync.acquire(PATH);
        assert.strictEqual(doc.text.toString(), 'unsaved editor content\n');
        buffer.replace(0, 7, 'saved');
        await until(() => doc.text.toString() === 'saved editor content\n', 'the guest sees the host edit');
    });

    it('refuses a read-only guest\'s change, tells it, and re-synchronises it to the host state', async () => {
        const reader = await guest('Reader', 'readonly');
        const doc = await reader.sync.acquire(PATH);
        assert.strictEqual(doc.readOnly, true);
        const buffer = new StringTextBuffer();
        new TextBinding(doc, buffer);
        buffer.replace(0, 0, 'forbidden ');
        await until(() => reader.problems.length > 0, 'the refusal arrives');
        assert.strictEqual(reader.problems[0].code, 'permission-denied');
        await until(() => buffer.getValue() === 'line one\nline two\n', 'the guest is back to the host state');
        assert.strictEqual(hostSync.get(PATH)!.text.toString(), 'line one\nline two\n');

        await host.setPermission(reader.session.self.id, 'readwrite');
        await until(() => doc.readOnly === false, 'the guest learns it may edit');
        buffer.replace(0, 0, 'allowed ');
        await until(() => hostSync.get(PATH)!.text.toString() === 'allowed line one\nline two\n', 'the host applies the change');
        await assert.rejects(reader.sync.save('project/other.md'), /not open/);
        await reader.sync.save(PATH);
        assert.deepStrictEqual(saved, [{ path: PATH, text: 'allowed line one\nline two\n' }]);
    });

    it('guests accept document updates from the host only, and the host refuses changes authored as someone else', async () => {
        const a = await guest('Ann');
        const b = await guest('Bob');
        const docA = await a.sync.acquire(PATH);
        await b.sync.acquire(PATH);
        // Bob forges an update straight to Ann.
        const forged = new Y.Doc();
        Y.applyUpdate(forged, Y.encodeStateAsUpdate(docA.doc));
        forged.getText('content').insert(0, 'FORGED ');
        await b.session.sendNotification(EditorMessages.Update, { path: PATH, update: Y.encodeStateAsUpdate(forged, Y.encodeStateVector(docA.doc)) }, a.session.self.id);
        // Bob sends the host a change under the host's own Yjs client id.
        const impostor = new Y.Doc();
        Y.applyUpdate(impostor, Y.encodeStateAsUpdate(hostSync.get(PATH)!.doc));
        impostor.clientID = hostSync.get(PATH)!.doc.clientID;
        impostor.getText('content').insert(0, 'IMPOSTOR ');
        await b.session.sendNotification(EditorMessages.Update, { path: PATH, update: Y.encodeStateAsUpdate(impostor, Y.encodeStateVector(hostSync.get(PATH)!.doc)) });
        await until(() => b.problems.length > 0, 'Bob is told');
        assert.strictEqual(b.problems[0].code, 'forbidden');
        await sleep(200);
        assert.strictEqual(docA.text.toString(), 'line one\nline two\n');
        assert.strictEqual(hostSync.get(PATH)!.text.toString(), 'line one\nline two\n');
    });

    it('moves large documents and large changes in parts', async () => {
        const line = 'x'.repeat(100) + '\n';
        // More parts than a guest fetches at once, so the fetch window moves on.
        const lines = Math.ceil(EditorLimits.chunkBytes * (EditorLimits.fetchConcurrency + 2) / line.length);
        files.set(PATH, line.repeat(lines));
        const a = await guest('Ann');
        const b = await guest('Bob');
        const fetches: { id: string; index: number }[] = [];
        let inFlight = 0;
        let mostInFlight = 0;
        const sendRequest = a.session.sendRequest.bind(a.session);
        a.session.sendRequest = (async (message: { method: string }, params: { id: string; index: number }, options?: object) => {
            if (message.method !== EditorMessages.Fetch.method) {
                return sendRequest(message as never, params as never, options);
            }
            fetches.push(params);
            mostInFlight = Math.max(mostInFlight, ++inFlight);
            try {
                return await sendRequest(message as never, params as never, options);
            } finally {
                inFlight--;
            }
        }) as typeof a.session.sendRequest;
        const docA = await a.sync.acquire(PATH);
        const docB = await b.sync.acquire(PATH);
        assert.strictEqual(docA.text.length, line.length * lines);
        assert.strictEqual(docA.text.toString(), hostSync.get(PATH)!.text.toString());
        assert.ok(fetches.length > EditorLimits.fetchConcurrency, `${fetches.length} parts fetched`);
        assert.strictEqual(mostInFlight, EditorLimits.fetchConcurrency, 'parts are fetched several at once');
        // The host forgets a transfer once every part was fetched, whatever the order.
        await assert.rejects(sendRequest(EditorMessages.Fetch, { id: fetches[0].id, index: 0 }), /Unknown transfer/);
        const paste = 'y'.repeat(EditorLimits.chunkBytes * 2 + 17);
        docA.edit(text => text.insert(5, paste));
        await until(() => docB.text.length === line.length * lines + paste.length, 'Bob gets the large paste', 20_000);
        assert.strictEqual(docB.text.toString(), hostSync.get(PATH)!.text.toString());
        assert.strictEqual(docB.text.toString(), docA.text.toString());
    });

    it('later guests fetch a large document from the server, uploaded once by the host; when it is gone, from the host', async () => {
        const line = 'z'.repeat(60) + '\n';
        files.set(PATH, line.repeat(Math.ceil(EditorLimits.chunkBytes * 2.5 / line.length)));
        const stores: Promise<StoredContentRef>[] = [];
        const storeContent = host.storeContent.bind(host);
        host.storeContent = data => {
            const storing = storeContent(data);
            stores.push(storing);
            return storing;
        };
        /** A guest that records which ways the document reached it. */
        const watched = async (name: string) => {
            const joined = await guest(name);
            const seen = { parts: 0, stored: 0, storedFailed: 0 };
            const sendRequest = joined.session.sendRequest.bind(joined.session);
            joined.session.sendRequest = ((message: { method: string }, params: never, options?: object) => {
                seen.parts += message.method === EditorMessages.Fetch.method ? 1 : 0;
                return sendRequest(message as never, params, options);
            }) as typeof joined.session.sendRequest;
            const fetchContent = joined.session.fetchContent.bind(joined.session);
            joined.session.fetchContent = ref => {
                seen.stored++;
                return fetchContent(ref).catch(error => {
                    seen.storedFailed++;
                    throw error;
                });
            };
            return { ...joined, seen };
        };
        const first = await watched('Ann');
        const docA = await first.sync.acquire(PATH);
        assert.ok(first.seen.parts > 0 && first.seen.stored === 0, 'the first guest gets it from the host');
        await until(() => stores.length === 1, 'the host stores the document');
        const ref = await stores[0];
        docA.edit(text => text.insert(0, 'changed since stored\n'));
        await until(() => hostSync.get(PATH)!.text.toString() === docA.text.toString(), 'the host has the change');

        const second = await watched('Bob');
        const docB = await second.sync.acquire(PATH);
        assert.deepStrictEqual(second.seen, { parts: 0, stored: 1, storedFailed: 0 }, 'the second guest fetches the stored state');
        assert.strictEqual(docB.text.toString(), hostSync.get(PATH)!.text.toString(), 'stored state plus the change since');
        assert.strictEqual(stores.length, 1, 'stored once');

        // Evicted by the server (or another instance): the guest falls back to the host, which stores it again.
        await host.deleteContent(ref);
        const third = await watched('Cid');
        const docC = await third.sync.acquire(PATH);
        assert.deepStrictEqual({ stored: third.seen.stored, storedFailed: third.seen.storedFailed }, { stored: 1, storedFailed: 1 });
        assert.ok(third.seen.parts > 0, 'then the host sends it');
        assert.strictEqual(docC.text.toString(), hostSync.get(PATH)!.text.toString());
        await until(() => stores.length === 2, 'the host stores it again');
        assert.notStrictEqual((await stores[1]).id, ref.id);

        // A change since that is too large to go with the stored state: the host sends it all, then stores it again.
        const paste = 'p'.repeat(EditorLimits.chunkBytes + 10);
        docA.edit(text => text.insert(0, paste));
        await until(() => hostSync.get(PATH)!.text.length === docA.text.length, 'the host has the paste');
        hostClockAhead = 60_000;
        const fourth = await watched('Dee');
        const docD = await fourth.sync.acquire(PATH);
        assert.ok(fourth.seen.parts > 0 && fourth.seen.stored === 0, 'the host sends the document when the stored state is too far behind');
        assert.strictEqual(docD.text.toString(), hostSync.get(PATH)!.text.toString());
        await until(() => stores.length === 3, 'the host stores the new state');
        const fifth = await watched('Eve');
        const docE = await fifth.sync.acquire(PATH);
        assert.deepStrictEqual({ parts: fifth.seen.parts, stored: fifth.seen.stored }, { parts: 0, stored: 1 });
        assert.strictEqual(docE.text.toString(), hostSync.get(PATH)!.text.toString());
    });

    it('sends the first change at once and merges the changes that follow within the batch interval', async () => {
        const a = await guest('Ann');
        const paced = new EditorGuest({ logger, batchMs: 1500 });
        disposables.push(paced);
        a.sync.dispose();
        paced.attach(a.session);
        let sent = 0;
        const sendNotification = a.session.sendNotification.bind(a.session);
        a.session.sendNotification = ((message: { method: string }, ...rest: unknown[]) => {
            sent += message.method === EditorMessages.Update.method ? 1 : 0;
            return (sendNotification as (...args: unknown[]) => Promise<void>)(message, ...rest);
        }) as typeof a.session.sendNotification;
        const doc = await paced.acquire(PATH);
        const atHost = () => hostSync.get(PATH)!.text.toString();
        const started = Date.now();
        doc.edit(text => text.insert(0, 'a'));
        await until(() => atHost().startsWith('a'), 'the first keystroke reaches the host', 1000);
        assert.ok(Date.now() - started < 1000, 'no batching delay for the first change');
        doc.edit(text => text.insert(1, 'b'));
        doc.edit(text => text.insert(2, 'c'));
        await sleep(300);
        assert.ok(atHost().startsWith('a') && !atHost().startsWith('ab'), 'the changes that follow wait for the interval');
        await until(() => atHost().startsWith('abc'), 'the held changes arrive together', 5000);
        assert.strictEqual(sent, 2, 'three changes, two messages');
    });

    it('reports a document the host cannot share', async () => {
        const a = await guest('Ann');
        await assert.rejects(a.sync.acquire('project/missing.md'), /does not exist/);
        assert.strictEqual(a.sync.get('project/missing.md'), undefined);
    });

    it('shares awareness: names from the session, states removed when a peer leaves, forged states ignored', async () => {
        const a = await guest('Ann');
        const b = await guest('Bob');
        const hostAwareness = new SessionAwareness(host, { logger });
        const awarenessA = new SessionAwareness(a.session, { logger });
        const awarenessB = new SessionAwareness(b.session, { logger });
        disposables.push(hostAwareness, awarenessA, awarenessB);
        const doc = await a.sync.acquire(PATH);
        awarenessA.setLocal({ document: PATH, selections: [{ anchor: { tname: 'content', item: null, type: null, assoc: 0 }, head: { tname: 'content', item: null, type: null, assoc: 0 } }] });
        await until(() => hostAwareness.stateOf(a.session.self.id)?.document === PATH && awarenessB.stateOf(a.session.self.id)?.document === PATH, 'everyone sees Ann');
        assert.strictEqual(awarenessB.stateOf(a.session.self.id)!.name, 'Ann');
        assert.ok(awarenessA.stateOf(host.self.id), 'Ann sees the host');
        // A colour picked to resolve a clash travels like any state change: distinct once everyone heard of it.
        await until(() => awarenessA.local.color !== awarenessB.local.color, 'distinct colours');
        assert.notStrictEqual(awarenessA.local.color, awarenessB.local.color);
        assert.ok(doc);

        // Bob claims to be Ann.
        const { Awareness, encodeAwarenessUpdate } = await import('y-protocols/awareness');
        const fake = new Awareness(new Y.Doc());
        fake.setLocalState({ peer: a.session.self.id, name: 'Ann', color: '#000000', document: 'project/evil.md' });
        await b.session.sendBroadcast(EditorMessages.Awareness, { update: encodeAwarenessUpdate(fake, [fake.clientID]) });
        fake.destroy();
        await sleep(300);
        assert.strictEqual(hostAwareness.stateOf(a.session.self.id)!.document, PATH);

        await a.session.leave();
        await until(() => hostAwareness.stateOf(a.session.self.id) === undefined && awarenessB.stateOf(a.session.self.id) === undefined, 'Ann is gone for everyone');
    });
});
