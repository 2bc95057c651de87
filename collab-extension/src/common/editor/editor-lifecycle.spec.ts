/**
 * Shared documents over a real server around their edges: a save right after typing, and files renamed or
 * deleted while they are open as shared documents.
 */
import * as assert from 'assert';
import type { CollaborationSession } from '@theia-collab/protocol/lib/session';
import type { ServerHandle } from '@theia-collab/server/lib/server';
import { EditorGuest } from './editor-guest';
import { EditorHost } from './editor-host';
import { EditorMessages } from './editor-protocol';
import { StringTextBuffer } from './editor-string-buffer';
import { TextBinding } from './editor-text-binding';
import { useEditorSession } from './editor-session-fixture';
import { connect, delayed, sleep, until } from './editor-test-fixture';

describe('shared documents: saving right after typing, renames and deletes (real server)', function (): void {
    this.timeout(30_000);

    const scope = useEditorSession({ 'project/a.txt': 'alpha\n', 'project/src/b.txt': 'beta\n', 'project/src/c.txt': 'gamma\n' });
    const { clients, disposables, logger } = scope;
    let server: ServerHandle;
    /** The host's disk. */
    let files: Map<string, string>;
    let host: CollaborationSession;
    let hostSync: EditorHost;
    beforeEach(() => ({ server, files, host, hostSync } = scope));
    const guest = (name: string) => scope.guest(name);

    it('a save requested right after typing writes what was typed (the keystrokes go before the save)', async () => {
        const a = await guest('Ann');
        for (let round = 0; round < 5; round++) {
            const doc = await a.sync.acquire('project/a.txt');
            const buffer = new StringTextBuffer(doc.text.toString());
            const binding = new TextBinding(doc, buffer);
            // Typed at once after opening, then saved at once (like Ctrl+S right after the last key).
            buffer.replace(buffer.getLength(), 0, `typed ${round}\n`);
            await a.sync.save('project/a.txt');
            assert.ok(files.get('project/a.txt')!.endsWith(`typed ${round}\n`), `round ${round}: the disk has the last keystrokes: ${JSON.stringify(files.get('project/a.txt'))}`);
            binding.dispose();
            a.sync.release('project/a.txt');
        }
    });

    it('a save writes everything typed before it, even changes whose messages were lost on the way', async () => {
        const a = await guest('Ann');
        // Ann's connection loses her next two updates (as around a key rotation or a dropped connection).
        let toLose = 2;
        const lossy = new Proxy(a.session, {
            get(target, property) {
                if (property === 'sendNotification') {
                    return (definition: { method: string }, params: unknown, to?: string) => definition.method === EditorMessages.Update.method && toLose-- > 0
                        ? Promise.resolve()
                        : target.sendNotification(definition as never, params as never, to);
                }
                const value = Reflect.get(target, property, target);
                return typeof value === 'function' ? value.bind(target) : value;
            }
        });
        const sync = new EditorGuest({ logger, refreshIntervalMs: 60_000 });
        disposables.push(sync);
        sync.attach(lossy);
        const doc = await sync.acquire('project/a.txt');
        doc.edit(text => text.insert(0, 'lost one, '));
        await sleep(50);
        doc.edit(text => text.insert(0, 'lost two, '));
        await sleep(50);
        assert.strictEqual(toLose, 0);
        assert.strictEqual(hostSync.get('project/a.txt')!.text.toString(), 'alpha\n', 'the host missed both');
        await sync.save('project/a.txt');
        assert.strictEqual(files.get('project/a.txt'), 'lost two, lost one, alpha\n');
    });

    it('a renamed file\'s document follows: the guest\'s document is re-keyed with its state, edits in flight land, saves go to the new file', async () => {
        const a = await guest('Ann');
        const b = await guest('Bob');
        const docA = await a.sync.acquire('project/a.txt');
        const docB = await b.sync.acquire('project/a.txt');
        const hostDoc = await hostSync.acquire('project/a.txt');
        const renames: { from: string; to: string }[] = [];
        docA.onDidRename(event => renames.push(event));
        const bufferA = new StringTextBuffer(docA.text.toString());
        new TextBinding(docA, bufferA);
        // Typed right before the host renames: it reaches the host under the old path, after the rename.
        bufferA.replace(0, 0, 'in flight ');
        const moved = hostSync.move('project/a.txt', 'project/renamed.txt');
        assert.deepStrictEqual(moved, [{ from: 'project/a.txt', to: 'project/renamed.txt' }]);
        assert.strictEqual(hostSync.get('project/renamed.txt'), hostDoc);
        assert.strictEqual(hostSync.get('project/a.txt'), undefined);
        assert.strictEqual(hostDoc.path, 'project/renamed.txt');

        await until(() => a.sync.get('project/renamed.txt') === docA && b.sync.get('project/renamed.txt') === docB, 'both guests re-key the document');
        assert.deepStrictEqual(renames, [{ from: 'project/a.txt', to: 'project/renamed.txt' }]);
        assert.strictEqual(a.sync.get('project/a.txt'), undefined);
        assert.strictEqual(docA.path, 'project/renamed.txt');
        await until(() => hostDoc.text.toString() === 'in flight alpha\n' && docB.text.toString() === 'in flight alpha\n', 'the edit sent under the old path lands');

        // Afterwards edits flow both ways under the new path, undo still works, and saving writes the new file.
        hostDoc.edit(text => text.insert(hostDoc.text.length, 'by the host\n'));
        await until(() => bufferA.getValue() === 'in flight alpha\nby the host\n', 'Ann gets the host\'s edit');
        bufferA.replace(bufferA.getLength(), 0, 'by Ann\n');
        await until(() => docB.text.toString() === 'in flight alpha\nby the host\nby Ann\n', 'Bob gets Ann\'s edit through the host');
        await a.sync.save('project/renamed.txt');
        assert.strictEqual(files.get('project/renamed.txt'), 'in flight alpha\nby the host\nby Ann\n');
        assert.strictEqual(files.get('project/a.txt'), 'alpha\n', 'nothing is written under the old path');
        assert.deepStrictEqual(logger.records.filter(record => /not open/.test(record)), []);

        // A guest closing the document after the rename is forgotten by the host under the new path.
        b.sync.release('project/renamed.txt');
        await until(() => hostSync.peersOf('project/renamed.txt').length === 1, 'the host forgets Bob\'s copy');
    });

    it('a synchronisation in flight while the host renames the file does not mix the document with another one', async () => {
        const client = await connect(server, 'Ann', logger);
        clients.push(client);
        const admitting = host.onJoinRequest(request => { request.admit('readwrite').catch(() => undefined); });
        const session = await client.joinSession(host.invite!.code);
        admitting.dispose();
        await until(() => host.getPeer(session.self.id) !== undefined, 'the host sees Ann');
        const problems: string[] = [];
        const sync = new EditorGuest({ logger, refreshIntervalMs: 60_000 });
        disposables.push(sync);
        sync.onDidReportProblem(problem => problems.push(problem.message));
        // Ann's messages take 150 ms: her save's state comparison reaches the host after it renamed the file.
        sync.attach(delayed(session, () => 1, 150));
        const doc = await sync.acquire('project/a.txt');
        const hostDoc = await hostSync.acquire('project/a.txt');
        doc.edit(text => text.insert(doc.text.length, 'by Ann\n'));
        await until(() => hostDoc.text.toString() === 'alpha\nby Ann\n', 'the host has Ann\'s edit');

        // The host still answers for the old path (its editor of the old file is not closed yet).
        const saving = sync.save('project/a.txt').catch(error => error);
        await sleep(20);
        hostSync.move('project/a.txt', 'project/renamed.txt');
        await saving;
        await until(() => sync.get('project/renamed.txt') === doc, 'Ann re-keys the document');
        await sleep(500);
        assert.deepStrictEqual(problems, [], 'no conflict, nothing reloaded');
        assert.strictEqual(doc.text.toString(), 'alpha\nby Ann\n');
        assert.strictEqual(doc.generation, hostDoc.generation, 'still the renamed document\'s lineage');
        doc.edit(text => text.insert(doc.text.length, 'after the rename\n'));
        await until(() => hostDoc.text.toString() === 'alpha\nby Ann\nafter the rename\n', 'edits after the rename reach the renamed document');
        await sync.save('project/renamed.txt');
        assert.strictEqual(files.get('project/renamed.txt'), 'alpha\nby Ann\nafter the rename\n');
        // A document the host made for the old path meanwhile is not kept open by Ann.
        await until(() => hostSync.peersOf('project/a.txt').length === 0, 'Ann has nothing open under the old path');
    });

    it('a renamed folder moves every open document below it; a rename over an open document ends that one', async () => {
        const a = await guest('Ann');
        const docB = await a.sync.acquire('project/src/b.txt');
        const docC = await a.sync.acquire('project/src/c.txt');
        const docA = await a.sync.acquire('project/a.txt');
        const removed: string[] = [];
        a.sync.onDidRemoveDocument(event => removed.push(event.path));

        assert.deepStrictEqual(hostSync.move('project/src', 'project/lib').sort((x, y) => x.from.localeCompare(y.from)), [
            { from: 'project/src/b.txt', to: 'project/lib/b.txt' },
            { from: 'project/src/c.txt', to: 'project/lib/c.txt' }
        ]);
        await until(() => a.sync.get('project/lib/b.txt') === docB && a.sync.get('project/lib/c.txt') === docC, 'both documents re-keyed');
        assert.deepStrictEqual(a.sync.paths.sort(), ['project/a.txt', 'project/lib/b.txt', 'project/lib/c.txt']);

        // project/a.txt is renamed onto project/lib/b.txt (overwrite): b's document ends, a's takes its path.
        hostSync.move('project/a.txt', 'project/lib/b.txt');
        await until(() => a.sync.get('project/lib/b.txt') === docA, 'a\'s document now at lib/b.txt');
        assert.deepStrictEqual(removed, ['project/lib/b.txt']);
        assert.strictEqual(docB.disposed, true);
        assert.strictEqual(docA.text.toString(), 'alpha\n');
        docA.edit(text => text.insert(0, '> '));
        await until(() => hostSync.get('project/lib/b.txt')?.text.toString() === '> alpha\n', 'edits reach the host under the new path');
    });

    it('a deleted file\'s document ends for every guest; a file created again at the path is a new document', async () => {
        const a = await guest('Ann');
        const b = await guest('Bob');
        const docA = await a.sync.acquire('project/src/b.txt');
        await b.sync.acquire('project/src/b.txt');
        const other = await a.sync.acquire('project/a.txt');
        const removed: { path: string; text: string }[] = [];
        a.sync.onDidRemoveDocument(event => removed.push({ path: event.path, text: event.shared.text.toString() }));
        const hostDoc = await hostSync.acquire('project/src/b.txt');
        hostDoc.edit(text => text.insert(0, 'unsaved '));
        await until(() => docA.text.toString() === 'unsaved beta\n', 'Ann has the host\'s edit');

        files.delete('project/src/b.txt');
        // The folder went (with the file in it).
        assert.deepStrictEqual(hostSync.remove('project/src'), ['project/src/b.txt']);
        assert.strictEqual(hostDoc.disposed, true);
        assert.strictEqual(hostSync.get('project/src/b.txt'), undefined);
        await until(() => docA.disposed && b.sync.get('project/src/b.txt') === undefined, 'both guests end the document');
        assert.deepStrictEqual(removed, [{ path: 'project/src/b.txt', text: 'unsaved beta\n' }], 'told before the document ends');
        assert.strictEqual(a.sync.get('project/src/b.txt'), undefined);
        assert.strictEqual(other.disposed, false, 'other documents stay');
        a.sync.release('project/src/b.txt'); // the editor that showed it closes: nothing happens
        await sleep(100);

        files.set('project/src/b.txt', 'beta again\n');
        const again = await a.sync.acquire('project/src/b.txt');
        assert.notStrictEqual(again, docA);
        assert.strictEqual(again.text.toString(), 'beta again\n');
        assert.deepStrictEqual(logger.records.filter(record => /beta|b\.txt/.test(record)), []);
    });
});
