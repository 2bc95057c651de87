/**
 * The generic per-file state sync over a real coordination server and real protocol clients, with a made-up
 * feature ("tags" on files) and small limits, so paging and batching show with a handful of files. The host
 * decides what is shared with the shared file system's real HostFileSystem on a temp folder.
 */
import * as assert from 'assert';
import * as path from 'path';
import { z } from 'zod';
import { FileUri } from '@theia/core/lib/common/file-uri';
import { CollaborationClient, CollaborationError, CollaborationSession, Disposable, Emitter } from '@theia-collab/protocol';
import { ServerHandle } from '@theia-collab/server/lib/server';
import { splitWorkspacePath } from '../collaboration-uri';
import { connect, QuietLogger, sleep, startTestServer, until } from '../editor/editor-test-fixture';
import { createTestHostWorkspace, joinTestSession, TestHostWorkspace } from '../language/language-test-fixture';
import { defineFileStateChannel, FileStates, FileStatesPage } from './file-state-protocol';
import { FileStateGuest, FileStateHost, FileStateSource } from './file-state-sync';

const Tag = z.object({ name: z.string().min(1).max(1000) }).strict();
type Tag = z.infer<typeof Tag>;

const TagFiles = defineFileStateChannel({
    field: 'tags',
    item: Tag,
    path: z.string().min(1).max(4096).refine(p => splitWorkspacePath(p) !== undefined),
    methods: { all: 'test/tags/all', didChange: 'test/tags/didChange' },
    limits: { maxItemsPerFile: 4, maxFilesPerMessage: 3, budget: 1500, debounceMs: 30 }
});

class MemoryTags implements FileStateSource<Tag> {
    readonly tags = new Map<string, Tag[]>();
    protected readonly emitter = new Emitter<string>();

    get(uri: string): Tag[] {
        return this.tags.get(uri) ?? [];
    }
    uris(): string[] {
        return [...this.tags.keys()];
    }
    onDidChange(listener: (uri: string) => void): Disposable {
        return this.emitter.event(listener);
    }
    set(uri: string, names: string[]): void {
        if (names.length > 0) {
            this.tags.set(uri, names.map(name => ({ name })));
        } else {
            this.tags.delete(uri);
        }
        this.emitter.fire(uri);
    }
}

/** What a guest's sink was given, in order, and the tags it shows now. */
class RecordingSink {
    readonly calls: string[] = [];
    readonly shown = new Map<string, string[]>();
    set(filePath: string, tags: Tag[]): void {
        this.calls.push(`${filePath}=${tags.map(tag => tag.name).join(',')}`);
        if (tags.length > 0) {
            this.shown.set(filePath, tags.map(tag => tag.name));
        } else {
            this.shown.delete(filePath);
        }
    }
}

const FILES = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map(name => `src/${name}.ts`);

describe('per-file state sync over a real session', function () {
    this.timeout(30_000);
    let server: ServerHandle;
    let workspace: TestHostWorkspace;
    const clients: CollaborationClient[] = [];
    const toDispose: Disposable[] = [];
    let host: CollaborationSession;
    let source: MemoryTags;
    let hostLogger: QuietLogger;

    const uriOf = (workspacePath: string) => workspace.mapper.toHostUri(workspacePath)!;

    async function client(name: string, logger = new QuietLogger()): Promise<CollaborationClient> {
        const connected = await connect(server, name, logger);
        clients.push(connected);
        return connected;
    }

    async function join(name: string): Promise<CollaborationSession> {
        return joinTestSession(await client(name), host);
    }

    async function guest(name: string): Promise<{ session: CollaborationSession; sink: RecordingSink; sync: FileStateGuest<'tags', Tag>; caughtUp: boolean }> {
        const joined = await join(name);
        const sink = new RecordingSink();
        const sync = new FileStateGuest(joined, TagFiles, sink);
        toDispose.push(sync);
        return { session: joined, sink, sync, caughtUp: await sync.start() };
    }

    /** Every announcement `session` receives from anyone, as the list of its files' paths. */
    function announcements(of: CollaborationSession): string[][] {
        const seen: string[][] = [];
        toDispose.push(of.onBroadcast(TagFiles.didChange, ({ files }) => seen.push(files.map(file => file.path))));
        return seen;
    }

    before(async () => {
        server = await startTestServer();
        workspace = createTestHostWorkspace('collab-file-state-', Object.fromEntries([...FILES, '.env'].map(file => [file, '//\n'])));
    });

    beforeEach(async () => {
        hostLogger = new QuietLogger();
        host = await (await client('Host', hostLogger)).createSession();
        host.onJoinRequest(request => request.admit('readwrite'));
        source = new MemoryTags();
        const sync = new FileStateHost(host, TagFiles, source, workspace.mapper, { key: tags => JSON.stringify(tags) });
        sync.start();
        toDispose.push(sync);
    });

    afterEach(() => {
        toDispose.splice(0).forEach(disposable => disposable.dispose());
        clients.splice(0).forEach(client => client.dispose());
    });

    after(async () => {
        await server?.close();
        workspace?.dispose();
    });

    it('a late joiner pages through every shared file that has items, within the file count and the budget', async () => {
        for (const file of FILES) {
            source.set(uriOf(`proj/${file}`), [`${file}-1`, `${file}-2`]);
        }
        // Alone within the budget: the page before it ends early.
        source.set(uriOf('proj/src/e.ts'), ['x'.repeat(400), 'y'.repeat(400), 'z'.repeat(400), 'w'.repeat(400), 'too many']);
        source.set(uriOf('proj/.env'), ['secret']);
        source.set(FileUri.create(path.join(workspace.base, 'outside.ts')).toString(), ['outside']);

        const late = await guest('Late');
        assert.strictEqual(late.caughtUp, true);
        assert.deepStrictEqual([...late.sink.shown.keys()].sort(), FILES.map(file => `proj/${file}`));
        assert.deepStrictEqual(late.sink.shown.get('proj/src/e.ts')?.length, 4, 'at most maxItemsPerFile items of a file');

        const pages: { files: string[]; next?: number }[] = [];
        for (let cursor: number | undefined = 0; cursor !== undefined && pages.length < 10;) {
            const page: FileStatesPage<'tags', Tag> = await late.session.sendRequest(TagFiles.all, { cursor });
            pages.push({ files: page.files.map(file => file.path.replace('proj/src/', '')), next: page.next });
            cursor = page.next;
        }
        assert.deepStrictEqual(pages, [
            { files: ['a.ts', 'b.ts', 'c.ts'], next: 3 },
            { files: ['d.ts'], next: 4 },
            { files: ['e.ts'], next: 5 },
            { files: ['f.ts', 'g.ts'], next: undefined }
        ]);
    });

    it('changes are announced in batches, debounced, only what changed; a file whose items went away is announced empty', async () => {
        const watcher = await guest('Watcher');
        const seen = announcements(watcher.session);
        for (const file of FILES) {
            source.set(uriOf(`proj/${file}`), ['draft']);
            source.set(uriOf(`proj/${file}`), [file]);
        }
        source.set(uriOf('proj/.env'), ['secret']);
        await until(() => watcher.sink.shown.size === FILES.length, 'every file to arrive');
        await sleep(150);
        assert.deepStrictEqual(seen.map(batch => batch.length), [3, 3, 1], 'one debounced flush in batches of at most three files');
        assert.deepStrictEqual(watcher.sink.calls.length, FILES.length, 'one update per file, none for the excluded one');

        // Unchanged items are not announced again; a cleared file is announced once, empty; a file never
        // announced and still empty is not announced at all.
        source.set(uriOf('proj/src/a.ts'), ['src/a.ts']);
        source.set(uriOf('proj/src/b.ts'), []);
        source.set(uriOf('proj/src/b.ts'), []);
        await until(() => !watcher.sink.shown.has('proj/src/b.ts'), 'b.ts to be cleared');
        source.set(uriOf('proj/.env'), []);
        await sleep(150);
        assert.deepStrictEqual(seen.slice(3), [['proj/src/b.ts']]);
        assert.deepStrictEqual(watcher.sink.calls.slice(FILES.length), ['proj/src/b.ts=']);
    });

    it('what a page gave a late joiner is cleared there when it goes away, also before it was ever announced', async () => {
        // Not announced (no change event yet): only the page tells the guest about c.ts.
        source.tags.set(uriOf('proj/src/c.ts'), [{ name: 'c' }]);
        const late = await guest('Late');
        assert.deepStrictEqual([...late.sink.shown], [['proj/src/c.ts', ['c']]]);
        source.set(uriOf('proj/src/c.ts'), []);
        await until(() => late.sink.shown.size === 0, 'the paged tags to be cleared');
    });

    it('malformed input is refused without crashing: bad pages asked, broadcasts from guests, bad answers from a host', async () => {
        source.set(uriOf('proj/src/a.ts'), ['a']);
        const honest = await guest('Honest');
        const rogue = await join('Rogue');
        const refusals: string[] = [];
        honest.session.onMessageError(error => refusals.push(error.code));
        const ask = async (params: unknown): Promise<string> => {
            try {
                await rogue.sendRequest(TagFiles.all, params as never);
                return 'ok';
            } catch (error) {
                return CollaborationError.from(error).code;
            }
        };
        assert.deepStrictEqual(await Promise.all([{ cursor: -1 }, { cursor: 'x' }, { cursor: 0.5 }, { cursor: 0, more: 1 }, [], null].map(ask)),
            ['invalid-params', 'invalid-params', 'invalid-params', 'invalid-params', 'invalid-params', 'invalid-params']);

        // A guest's announcement does not count, well-formed or not.
        await rogue.sendBroadcast(TagFiles.didChange, { files: [{ path: 'proj/src/a.ts', tags: [] }] });
        const malformed: unknown[] = [
            { files: [{ path: 'proj/../etc/passwd', tags: [] }] },
            { files: [{ path: 'proj/src/a.ts', tags: [{ name: 'a' }, { name: 'b' }, { name: 'c' }, { name: 'd' }, { name: 'e' }] }] },
            { files: [{ path: 'proj/src/a.ts', breakpoints: [] }] },
            { files: 'all' }
        ];
        for (const params of malformed) {
            await rogue.sendBroadcast(TagFiles.didChange, params as FileStates<'tags', Tag>);
        }
        await until(() => refusals.length === malformed.length, 'the malformed announcements to be refused');
        assert.deepStrictEqual(refusals, malformed.map(() => 'invalid-params'));
        assert.deepStrictEqual([...honest.sink.shown], [['proj/src/a.ts', ['a']]], 'the rogue guest changed nothing');
        // Both sides still work.
        source.set(uriOf('proj/src/b.ts'), ['b']);
        await until(() => honest.sink.shown.has('proj/src/b.ts'), 'the host\'s next announcement');
        assert.strictEqual(await ask({ cursor: 0 }), 'ok');

        // A host that answers pages wrongly: the guest gives up (logged), bounded, without throwing.
        const lying = new Map<string, () => unknown>([
            ['test/lies/garbage', () => ({ files: [{ path: '/etc/passwd', tags: [] }] })],
            ['test/lies/stuck', () => ({ files: [{ path: 'proj/src/a.ts', tags: [{ name: 'again' }] }], next: 0 })]
        ]);
        for (const [method, answer] of lying) {
            let asked = 0;
            const channel = { ...TagFiles, all: { ...TagFiles.all, method } };
            toDispose.push(host.onRequest(channel.all, () => {
                asked++;
                return answer() as never;
            }));
            const warnings: string[] = [];
            const sink = new RecordingSink();
            const sync = new FileStateGuest(rogue, channel, sink, { logger: { warn: (...args) => warnings.push(args.map(String).join(' ')) } });
            toDispose.push(sync);
            const caughtUp = await sync.start();
            assert.strictEqual(asked, 1, `${method}: asked once`);
            if (method.endsWith('garbage')) {
                assert.strictEqual(caughtUp, false);
                assert.match(warnings.join(), /could not get the host's tags.*Invalid result/);
                assert.deepStrictEqual(sink.calls, []);
            } else {
                assert.strictEqual(caughtUp, true, 'a cursor that does not move on ends the paging');
                assert.deepStrictEqual(sink.calls, ['proj/src/a.ts=again']);
            }
        }
        assert.deepStrictEqual(hostLogger.records.filter(record => record.includes('failed')), [], 'nothing failed on the host');
    });
});
