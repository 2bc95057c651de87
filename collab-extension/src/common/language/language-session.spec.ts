/**
 * The host's language services and diagnostics over a real coordination server and real protocol clients.
 * The host checks paths with the shared file system's real HostFileSystem on a temp folder; its "language
 * providers" are a small backend reading the real files (the Monaco one runs in the browser, see the e2e test).
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { FileUri } from '@theia/core/lib/common/file-uri';
import { CollaborationClient, CollaborationError, CollaborationSession, Disposable, Emitter } from '@theia-collab/protocol';
import { until } from '@theia-collab/test-kit';
import { ServerHandle, startServer } from '@theia-collab/server/lib/server';
import { nameRoots } from '../collaboration-uri';
import { createTestHostWorkspace, joinTestSession } from './language-test-fixture';
import { DiagnosticsGuest, DiagnosticsHost, DiagnosticsSource } from './language-diagnostics';
import { LanguageGuestClient } from './language-guest';
import { HostCompletionList, HostLocation, LanguageHost, LanguageHostBackend } from './language-host';
import { GuestPathMapper, HostPathMapper, hostUriOfWorkspacePath, workspacePathOfHostUri } from '../fs/host-path-mapper';
import { CompletionItem, Diagnostic, HoverItem, LanguageMessages, PositionParams, Range } from './language-protocol';

async function rejection(promise: Promise<unknown>): Promise<CollaborationError> {
    try {
        await promise;
    } catch (error) {
        return CollaborationError.from(error);
    }
    return assert.fail('expected a rejection');
}

function range(line: number, start: number, end: number): Range {
    return { startLineNumber: line, startColumn: start, endLineNumber: line, endColumn: end };
}

/** Words of a line with their 1-based columns. */
function wordAt(text: string, lineNumber: number, column: number): string | undefined {
    const line = text.split('\n')[lineNumber - 1] ?? '';
    for (const match of line.matchAll(/[A-Za-z_]\w*/g)) {
        if (match.index! + 1 <= column && column <= match.index! + 1 + match[0].length) {
            return match[0];
        }
    }
    return undefined;
}

/** Answers from the host's files on disk, as a language server would. */
class DiskBackend implements LanguageHostBackend {
    readonly aborted: string[] = [];
    readonly disposedLists: number[] = [];
    readonly asked: string[] = [];
    protected lists = 0;

    constructor(protected readonly mapper: HostPathMapper, protected readonly outside: string) { }

    protected read(params: { path: string }): string {
        this.asked.push(params.path);
        return fs.readFileSync(FileUri.fsPath(this.mapper.toHostUri(params.path)!), 'utf8');
    }

    protected slow<T>(signal: AbortSignal, what: string): Promise<T> {
        return new Promise((_, reject) => signal.addEventListener('abort', () => {
            this.aborted.push(what);
            reject(new Error('aborted'));
        }));
    }

    async hover(params: PositionParams, signal: AbortSignal): Promise<HoverItem[]> {
        const word = wordAt(this.read(params), params.position.lineNumber, params.position.column);
        if (word === 'slow') {
            return this.slow(signal, `hover ${params.path}`);
        }
        return word ? [{ contents: [{ value: `**${word}** from the host` }], range: range(params.position.lineNumber, 1, 2) }] : [];
    }

    async completion(params: PositionParams): Promise<HostCompletionList> {
        const text = this.read(params);
        const words = [...new Set(text.match(/[A-Za-z_]\w*/g) ?? [])].sort();
        const id = ++this.lists;
        const items: CompletionItem[] = words.map(word => ({ label: word, kind: 18, insertText: word }));
        return {
            incomplete: false,
            items,
            resolve: async index => ({ ...items[index], documentation: { value: `about ${items[index].label}` } }),
            dispose: () => this.disposedLists.push(id)
        };
    }

    async definition(params: PositionParams): Promise<HostLocation[]> {
        this.read(params);
        return [
            { uri: this.mapper.toHostUri('proj/src/lib.ts')!, range: range(1, 1, 5) },
            { uri: this.mapper.toHostUri('proj/.env')!, range: range(1, 1, 2) },
            { uri: this.outside, range: range(3, 1, 2) }
        ];
    }

    async references(params: PositionParams & { includeDeclaration: boolean }): Promise<HostLocation[]> {
        const locations = await this.definition(params);
        return params.includeDeclaration ? [...locations, { uri: this.mapper.toHostUri(params.path)!, range: range(1, 1, 2) }] : locations;
    }

    async signatureHelp(): Promise<undefined> {
        return undefined;
    }

    async documentSymbols(params: { path: string }): Promise<[]> {
        this.read(params);
        return [];
    }
}

describe('language services over a real session', function () {
    this.timeout(30_000);
    let server: ServerHandle;
    let base: string;
    let outsideFile: string;
    let mapper: GuestPathMapper;
    const clients: CollaborationClient[] = [];
    const toDispose: Disposable[] = [];
    let host: CollaborationSession;
    let guest: CollaborationSession;

    async function connect(name: string): Promise<CollaborationClient> {
        const client = await CollaborationClient.connect({ serverUrl: server.url, name });
        clients.push(client);
        return client;
    }

    async function join(name: string): Promise<CollaborationSession> {
        return joinTestSession(await connect(name), host);
    }

    before(async () => {
        server = await startServer({
            hostname: '127.0.0.1', port: 0, logLevel: 'silent',
            loginRateLimit: { max: 10_000, windowMs: 60_000 }, joinRateLimit: { max: 10_000, windowMs: 60_000 }
        });
        ({ base, mapper } = createTestHostWorkspace('collab-language-', {
            'src/app.ts': 'const greeting = hello();\nslow();\nconsole.log(greeting);\n',
            'src/lib.ts': 'export function hello() { return "hi"; }\n',
            '.env': 'SECRET=1\n'
        }));
        outsideFile = path.join(base, 'outside.ts');
        fs.writeFileSync(outsideFile, 'export const outside = 1;\n');
    });

    beforeEach(async () => {
        host = await (await connect('Host')).createSession();
        host.onJoinRequest(request => request.admit(request.name.includes('read-only') ? 'readonly' : 'readwrite'));
        guest = await join('Guest');
    });

    afterEach(() => {
        toDispose.splice(0).forEach(disposable => disposable.dispose());
        clients.splice(0).forEach(client => client.dispose());
    });

    after(async () => {
        await server?.close();
        fs.rmSync(base, { recursive: true, force: true });
    });

    function startHost(): DiskBackend {
        const backend = new DiskBackend(mapper, FileUri.create(outsideFile).toString());
        const languageHost = new LanguageHost(host, backend, mapper);
        languageHost.start();
        toDispose.push(languageHost);
        return backend;
    }

    it('maps host URIs and workspace paths both ways, never out of a root', () => {
        const roots = nameRoots(['file:///home/me/proj', 'file:///home/me/proj/nested', 'file:///other/proj']);
        assert.deepStrictEqual(roots.map(root => root.name), ['proj', 'nested', 'proj-2']);
        assert.strictEqual(workspacePathOfHostUri(roots, 'file:///home/me/proj/src/a%20b.ts'), 'proj/src/a b.ts');
        assert.strictEqual(workspacePathOfHostUri(roots, 'file:///home/me/proj/nested/x.ts'), 'nested/x.ts', 'the innermost root wins');
        assert.strictEqual(workspacePathOfHostUri(roots, 'file:///other/proj/y.ts'), 'proj-2/y.ts');
        assert.strictEqual(workspacePathOfHostUri(roots, 'file:///home/me/project/a.ts'), undefined, 'a sibling with a common prefix is outside');
        assert.strictEqual(workspacePathOfHostUri(roots, 'file:///home/me/proj'), undefined, 'a root itself is no document');
        assert.strictEqual(workspacePathOfHostUri(roots, 'untitled:/home/me/proj/a.ts'), undefined);
        assert.strictEqual(hostUriOfWorkspacePath(roots, 'proj/src/a b.ts')?.toString(), 'file:///home/me/proj/src/a%20b.ts');
        assert.strictEqual(hostUriOfWorkspacePath(roots, 'proj-2/y.ts')?.toString(), 'file:///other/proj/y.ts');
        for (const bad of ['proj/../etc/passwd', 'proj/%2e%2e/x', '/proj/a.ts', 'unknown/a.ts', 'proj', 'proj/a\\b.ts']) {
            const mapped = hostUriOfWorkspacePath(roots, bad);
            assert.ok(mapped === undefined || new URL(mapped.toString()).pathname.startsWith('/home/me/proj/'), `${bad} → ${mapped}`);
        }
        assert.strictEqual(hostUriOfWorkspacePath(roots, 'proj/../etc/passwd'), undefined);
        assert.strictEqual(hostUriOfWorkspacePath(roots, 'unknown/a.ts'), undefined);
    });

    it('the guest gets the host\'s hover for a shared file', async () => {
        const backend = startHost();
        const client = new LanguageGuestClient(guest);
        const result = await client.request(LanguageMessages.Hover, {
            path: 'proj/src/app.ts', position: { lineNumber: 1, column: 8 }, lineText: 'const greeting = hello();'
        });
        assert.deepStrictEqual(result?.hovers, [{ contents: [{ value: '**greeting** from the host' }], range: range(1, 1, 2) }]);
        assert.deepStrictEqual(backend.asked, ['proj/src/app.ts']);
    });

    it('the host refuses excluded files, paths outside its roots and malformed paths', async () => {
        const backend = startHost();
        const ask = (filePath: string) => guest.sendRequest(LanguageMessages.Hover, { path: filePath, position: { lineNumber: 1, column: 1 } });
        assert.strictEqual((await rejection(ask('proj/.env'))).code, 'not-found');
        assert.strictEqual((await rejection(ask('elsewhere/src/app.ts'))).code, 'not-found');
        assert.strictEqual((await rejection(ask('proj/../outside.ts'))).code, 'invalid-params');
        assert.strictEqual((await rejection(ask('/etc/passwd'))).code, 'invalid-params');
        assert.strictEqual((await rejection(guest.sendRequest(LanguageMessages.Hover,
            { path: 'proj/src/app.ts', position: { lineNumber: 0, column: 1 } }))).code, 'invalid-params');
        assert.deepStrictEqual(backend.asked, [], 'the providers never saw a refused request');
        // Through the guest client a refusal is just "no hover".
        assert.strictEqual(await new LanguageGuestClient(guest).request(LanguageMessages.Hover, { path: 'proj/.env', position: { lineNumber: 1, column: 1 } }), undefined);
    });

    it('a question about a file the host has open starts while its path is resolved; answered only if it resolves to that file', async () => {
        // The backend's resolution waits for `open()`; the host "has every file open".
        let open!: () => void;
        let gate = new Promise<void>(resolve => open = resolve);
        const resolving: string[] = [];
        const slowMapper: GuestPathMapper = {
            ...mapper,
            resolveForGuest: async (filePath, access) => {
                resolving.push(filePath);
                await gate;
                return mapper.resolveForGuest(filePath, access);
            }
        };
        const worked: string[] = [];
        class OpenFilesBackend extends DiskBackend {
            isLoaded(): boolean {
                return true;
            }
            override async hover(params: PositionParams, signal: AbortSignal, uri?: string): Promise<HoverItem[]> {
                worked.push(path.basename(FileUri.fsPath(uri!)));
                const word = wordAt(fs.readFileSync(FileUri.fsPath(uri!), 'utf8'), params.position.lineNumber, params.position.column);
                return [{ contents: [{ value: `**${word}** in ${path.basename(FileUri.fsPath(uri!))}` }], range: range(1, 1, 2) }];
            }
        }
        const languageHost = new LanguageHost(host, new OpenFilesBackend(slowMapper, FileUri.create(outsideFile).toString()), slowMapper);
        languageHost.start();
        toDispose.push(languageHost);
        const client = new LanguageGuestClient(guest);

        let answered = false;
        const answer = client.request(LanguageMessages.Hover, { path: 'proj/src/app.ts', position: { lineNumber: 1, column: 8 } })
            .then(result => (answered = true, result));
        await until(() => worked.length === 1 && resolving.length === 1, 'the hover to start while the path is being resolved');
        await new Promise(resolve => setTimeout(resolve, 100));
        assert.strictEqual(answered, false, 'no answer before the path is resolved');
        open();
        assert.deepStrictEqual((await answer)?.hovers, [{ contents: [{ value: '**greeting** in app.ts' }], range: range(1, 1, 2) }]);
        assert.deepStrictEqual(worked, ['app.ts'], 'the early work is the answer');

        // Open on the host but excluded: refused, whatever the early work found.
        gate = new Promise<void>(resolve => open = resolve);
        const excluded = rejection(guest.sendRequest(LanguageMessages.Hover, { path: 'proj/.env', position: { lineNumber: 1, column: 2 } }));
        await until(() => worked.length === 2, 'the early work on .env');
        open();
        assert.strictEqual((await excluded).code, 'not-found');

        // A link inside the root: the early work on the link is dropped; the answer is about the file it resolves to.
        const link = path.join(base, 'proj', 'src', 'alias.ts');
        fs.symlinkSync('lib.ts', link);
        try {
            const linked = await client.request(LanguageMessages.Hover, { path: 'proj/src/alias.ts', position: { lineNumber: 1, column: 18 } });
            assert.deepStrictEqual(linked?.hovers.map(hover => hover.contents), [[{ value: '**hello** in lib.ts' }]]);
            assert.deepStrictEqual(worked.slice(2), ['alias.ts', 'lib.ts']);
        } finally {
            fs.rmSync(link);
        }
    });

    it('locations are mapped to workspace paths; outside the roots or excluded they are dropped', async () => {
        startHost();
        const client = new LanguageGuestClient(guest);
        const position = { path: 'proj/src/app.ts', position: { lineNumber: 1, column: 18 } };
        const definition = await client.request(LanguageMessages.Definition, position);
        assert.deepStrictEqual(definition?.locations, [{ path: 'proj/src/lib.ts', range: range(1, 1, 5) }]);
        const references = await client.request(LanguageMessages.References, { ...position, includeDeclaration: true });
        assert.deepStrictEqual(references?.locations.map(location => location.path), ['proj/src/lib.ts', 'proj/src/app.ts']);
        const serialized = JSON.stringify([definition, references]);
        assert.ok(!serialized.includes(base) && !serialized.includes('file:'), `no host path crosses: ${serialized}`);
    });

    it('completion lists are kept for resolve, a few per guest, and dropped when the guest leaves', async () => {
        const backend = startHost();
        const client = new LanguageGuestClient(guest);
        const params = { path: 'proj/src/app.ts', position: { lineNumber: 3, column: 1 }, context: { triggerKind: 0 as const } };
        const list = await client.request(LanguageMessages.Completion, params);
        assert.ok(list?.listId);
        assert.deepStrictEqual(list.items.map(item => item.label), ['console', 'const', 'greeting', 'hello', 'log', 'slow']);
        const resolved = await client.request(LanguageMessages.ResolveCompletion, { listId: list.listId, index: 2 });
        assert.deepStrictEqual(resolved?.item?.documentation, { value: 'about greeting' });
        assert.deepStrictEqual(await client.request(LanguageMessages.ResolveCompletion, { listId: 'c999', index: 0 }), {});
        assert.deepStrictEqual(await client.request(LanguageMessages.ResolveCompletion, { listId: list.listId, index: 99 }), {});
        for (let i = 0; i < 4; i++) {
            await client.request(LanguageMessages.Completion, params);
        }
        assert.deepStrictEqual(backend.disposedLists, [1], 'the oldest list is disposed once more than four are kept');
        assert.deepStrictEqual(await client.request(LanguageMessages.ResolveCompletion, { listId: list.listId, index: 2 }), {});
        await guest.leave();
        await until(() => backend.disposedLists.length === 5, 'the guest\'s lists to be disposed');
    });

    it('a cancelled request stops on the host; a slow one times out on the guest', async () => {
        const backend = startHost();
        const params = { path: 'proj/src/app.ts', position: { lineNumber: 2, column: 2 } };
        const controller = new AbortController();
        const started = Date.now();
        const answer = new LanguageGuestClient(guest).request(LanguageMessages.Hover, params, controller.signal);
        await until(() => backend.asked.length === 1, 'the host to start working');
        controller.abort();
        assert.strictEqual(await answer, undefined);
        await until(() => backend.aborted.length === 1, 'the host to stop working');
        assert.ok(Date.now() - started < 2000);

        const timed = Date.now();
        assert.strictEqual(await new LanguageGuestClient(guest, { timeout: 300 }).request(LanguageMessages.Hover, params), undefined);
        assert.ok(Date.now() - timed < 1500, 'the guest stops waiting after its timeout');
        await until(() => backend.aborted.length === 2, 'the timed-out request to be cancelled on the host');
        // Another guest cannot cancel someone else's request.
        const other = await join('Other');
        const pending = new LanguageGuestClient(guest).request(LanguageMessages.Hover, params);
        await until(() => backend.asked.length === 3, 'the third hover');
        for (let i = 1; i < 20; i++) {
            await other.sendNotification(LanguageMessages.Cancel, { requestId: `x-${i}` }, host.self.id);
        }
        await new Promise(resolve => setTimeout(resolve, 200));
        assert.strictEqual(backend.aborted.length, 2, 'another guest\'s cancellations have no effect');
        await guest.leave();
        await until(() => backend.aborted.length === 3, 'a leaving guest\'s requests to be aborted');
        assert.strictEqual(await pending, undefined);
    });

    it('diagnostics of shared files reach guests, debounced; excluded files\' do not; late joiners get all', async () => {
        const markers = new Map<string, Diagnostic[]>();
        const changed = new Emitter<string>();
        const source: DiagnosticsSource = {
            onDidChange: listener => changed.event(listener),
            get: uri => markers.get(uri) ?? [],
            uris: () => [...markers.keys()]
        };
        const set = (workspacePath: string, diagnostics: Diagnostic[], uri = mapper.toHostUri(workspacePath)!) => {
            if (diagnostics.length) {
                markers.set(uri, diagnostics);
            } else {
                markers.delete(uri);
            }
            changed.fire(uri);
        };
        const diagnosticsHost = new DiagnosticsHost(host, source, mapper, { debounceMs: 50 });
        diagnosticsHost.start();
        toDispose.push(diagnosticsHost);
        const seen = new Map<string, Diagnostic[]>();
        let updates = 0;
        const sink = {
            set: (workspacePath: string, diagnostics: Diagnostic[]) => {
                updates++;
                if (diagnostics.length) {
                    seen.set(workspacePath, diagnostics);
                } else {
                    seen.delete(workspacePath);
                }
            },
            clear: () => seen.clear()
        };
        const guestDiagnostics = new DiagnosticsGuest(guest, sink);
        await guestDiagnostics.start();
        toDispose.push(guestDiagnostics);

        const error: Diagnostic = { range: { start: { line: 0, character: 6 }, end: { line: 0, character: 14 } }, message: 'unused', severity: 2, source: 'ts' };
        set('proj/src/app.ts', [{ ...error, message: 'first' }]);
        set('proj/src/app.ts', [error]);
        set('proj/.env', [error]);
        changed.fire(FileUri.create(outsideFile).toString());
        markers.set(FileUri.create(outsideFile).toString(), [error]);
        await until(() => seen.has('proj/src/app.ts'), 'the diagnostics to arrive');
        await new Promise(resolve => setTimeout(resolve, 200));
        assert.deepStrictEqual([...seen], [['proj/src/app.ts', [error]]]);
        assert.strictEqual(updates, 1, 'two quick changes make one update');

        const late = await join('Late');
        const lateSeen = new Map<string, Diagnostic[]>();
        const lateDiagnostics = new DiagnosticsGuest(late, { set: (p, d) => lateSeen.set(p, d), clear: () => lateSeen.clear() });
        await lateDiagnostics.start();
        toDispose.push(lateDiagnostics);
        assert.deepStrictEqual([...lateSeen], [['proj/src/app.ts', [error]]]);

        set('proj/src/app.ts', []);
        await until(() => !seen.has('proj/src/app.ts') && lateSeen.get('proj/src/app.ts')?.length === 0, 'the cleared diagnostics to arrive');
        set('proj/src/lib.ts', [error]);
        await until(() => seen.has('proj/src/lib.ts'), 'the next file');
        guestDiagnostics.dispose();
        assert.strictEqual(seen.size, 0, 'leaving clears what the session showed');
    });
});
