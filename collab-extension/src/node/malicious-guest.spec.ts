/**
 * A malicious guest against the host's request handlers (shared workspace, co-editing, chat, terminal),
 * over a real coordination server. The guest speaks the protocol directly: raw requests and notifications
 * with malformed params, path traversal, symlink escapes, excluded files, junk Yjs bytes, and a seeded
 * stream of random calls. The host must answer with errors, never crash, never read or write outside its
 * workspace, and keep serving an honest guest.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CollaborationClient, CollaborationError, CollaborationSession, Disposable, Emitter, Notification, Permission, Request } from '@theia-collab/protocol';
import type { MessageDefinition } from '@theia-collab/protocol/lib/messages';
import { prng } from '@theia-collab/test-kit';
import { until } from '@theia-collab/test-kit';
import { ServerHandle, startServer } from '@theia-collab/server/lib/server';
import { ChatChannel } from '../common/chat/chat-channel';
import { ChatMessages } from '../common/chat/chat-protocol';
import { BreakpointMessages } from '../common/debug/debug-breakpoint-protocol';
import { DebugSessionMessages } from '../common/debug/debug-session-protocol';
import { FollowMessages } from '../common/editor/editor-follow-protocol';
import { EditorHost } from '../common/editor/editor-host';
import { EditorMessages } from '../common/editor/editor-protocol';
import { registerFsRequestHandlers } from '../common/fs/fs-host-handlers';
import { FsMessages } from '../common/fs/fs-messages';
import { DEFAULT_EXCLUDED_FILES } from '../common/fs/host-file-system-protocol';
import { LanguageMessages } from '../common/language/language-protocol';
import { PortMessages } from '../common/ports/port-messages';
import { TerminalHost, TerminalSource } from '../common/terminal/terminal-host';
import { TerminalMessages } from '../common/terminal/terminal-protocol';
import { HostFileSystem } from './fs/host-file-system';

const SECRET_OUTSIDE = 'OUTSIDE-SECRET-9f2c';
const SECRET_EXCLUDED = 'EXCLUDED-SECRET-77ab';

class FakeTerminal implements TerminalSource {
    readonly title = 'bash';
    readonly dimensions = { cols: 80, rows: 24 };
    readonly typed: string[] = [];
    readonly output = new Emitter<string>();
    readonly closed = new Emitter<void>();
    readonly onOutput = this.output.event;
    readonly onClosed = this.closed.event;
    sendText(text: string): void { this.typed.push(text); }
}

/** A request as the attacker sends it: the method name only, no validation on its side. */
function raw(method: string): Request<unknown, unknown> {
    return Request.define(method);
}

type Outcome = { ok: true; value: unknown } | { ok: false; code: string; message: string };

async function attempt(session: CollaborationSession, method: string, params: unknown): Promise<Outcome> {
    try {
        return { ok: true, value: await session.sendRequest(raw(method), params, { timeout: 10_000 }) };
    } catch (error) {
        const { code, message } = CollaborationError.from(error);
        return { ok: false, code, message };
    }
}

/** Everything a value contains, as text (binary decoded as UTF-8), to look for leaked secrets. */
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

describe('a malicious guest against the host handlers', function (): void {
    this.timeout(120_000);
    let server: ServerHandle;
    let base: string;
    let root: string;
    let hostFs: HostFileSystem;
    let host: CollaborationSession;
    let terminal: FakeTerminal;
    const clients: CollaborationClient[] = [];
    const toDispose: Disposable[] = [];
    const permissions = new Map<string, Permission>();
    const crashes: unknown[] = [];
    const onCrash = (error: unknown) => crashes.push(error);

    async function join(name: string, permission: Permission): Promise<CollaborationSession> {
        permissions.set(name, permission);
        const client = await CollaborationClient.connect({ serverUrl: server.url, name, logger: { info: () => undefined, warn: () => undefined, error: () => undefined } });
        clients.push(client);
        const session = await client.joinSession(host.invite!.code);
        await until(() => host.getPeer(session.self.id) !== undefined, `the host sees ${name}`);
        return session;
    }

    before(async () => {
        process.on('unhandledRejection', onCrash);
        process.on('uncaughtException', onCrash);
        server = await startServer({
            hostname: '127.0.0.1', port: 0, logLevel: 'silent',
            loginRateLimit: { max: 10_000, windowMs: 60_000 }, joinRateLimit: { max: 10_000, windowMs: 60_000 },
            socketEventRateLimit: { max: 100_000, windowMs: 1000 }
        });
        base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'collab-malicious-')));
        root = path.join(base, 'proj');
        fs.mkdirSync(path.join(root, 'src'), { recursive: true });
        fs.mkdirSync(path.join(base, 'outside'));
        fs.writeFileSync(path.join(root, 'src', 'main.ts'), 'export const x = 1;\n');
        fs.writeFileSync(path.join(root, '.env'), `TOKEN=${SECRET_EXCLUDED}`);
        fs.writeFileSync(path.join(base, 'outside', 'secret.txt'), SECRET_OUTSIDE);
        fs.symlinkSync('../outside', path.join(root, 'out'));
        fs.symlinkSync(path.join(base, 'outside', 'secret.txt'), path.join(root, 'src', 'link.txt'));
        hostFs = new HostFileSystem({ roots: [{ name: 'proj', path: root }], exclude: [...DEFAULT_EXCLUDED_FILES] });
        const client = await CollaborationClient.connect({ serverUrl: server.url, name: 'Hosting Hana', logger: { info: () => undefined, warn: () => undefined, error: () => undefined } });
        clients.push(client);
        host = await client.createSession();
        host.onJoinRequest(request => request.admit(permissions.get(request.name) ?? 'readonly'));
        toDispose.push(...registerFsRequestHandlers(host, hostFs));
        const hostCaller = { peerId: host.self.id, permission: 'readwrite' as const };
        toDispose.push(new EditorHost(host, {
            read: async workspacePath => {
                const result = await hostFs.handle('fs/readFile', hostCaller, { path: workspacePath, offset: 0, length: 256 * 1024 });
                if (!result.ok) {
                    throw new CollaborationError(result.error.code, result.error.message);
                }
                return Buffer.from((result.value as { data: Uint8Array }).data).toString('utf8');
            },
            save: async () => false
        }, { logger: { warn: () => undefined, error: () => undefined } }));
        toDispose.push(new ChatChannel(host));
        terminal = new FakeTerminal();
        const terminalHost = new TerminalHost(host, { scrollbackBytes: 64 * 1024 });
        terminalHost.share(terminal);
        toDispose.push(terminalHost);
    });

    after(async () => {
        process.off('unhandledRejection', onCrash);
        process.off('uncaughtException', onCrash);
        toDispose.splice(0).forEach(disposable => disposable.dispose());
        clients.splice(0).forEach(client => client.dispose());
        await hostFs?.dispose();
        await server?.close();
        if (base) {
            fs.rmSync(base, { recursive: true, force: true });
        }
    });

    it('every message definition of every feature validates its params', () => {
        const namespaces: Record<string, Record<string, unknown>> = {
            EditorMessages, FollowMessages, FsMessages, ChatMessages, TerminalMessages, LanguageMessages, BreakpointMessages, DebugSessionMessages, PortMessages
        };
        let count = 0;
        for (const [name, namespace] of Object.entries(namespaces)) {
            for (const [key, value] of Object.entries(namespace)) {
                const definition = value as MessageDefinition;
                if (typeof definition === 'object' && definition !== null && !Array.isArray(definition) && typeof definition.method === 'string') {
                    assert.ok(definition.params, `${name}.${key} ('${definition.method}') validates its params`);
                    count++;
                }
            }
        }
        assert.ok(count > 40, `${count} definitions checked`);
    });

    it('refuses path traversal, symlink escapes and excluded files, for reading and writing', async () => {
        const mallory = await join('Mallory', 'readwrite');
        const sneaky = [
            'proj/../outside/secret.txt', '../outside/secret.txt', 'proj/out/secret.txt', 'proj/out', 'proj/src/link.txt',
            '/etc/passwd', 'proj//etc/passwd', 'proj/./../outside/secret.txt', 'proj/src/../../outside/secret.txt',
            'proj\\..\\outside\\secret.txt', 'proj/%2e%2e/outside/secret.txt', 'proj/src/main.ts\u0000.txt', `proj/${'../'.repeat(40)}etc/passwd`,
            `${base}/outside/secret.txt`, 'outside/secret.txt', 'proj/.env', 'proj/src/../.env', '', '.', 'proj/..', '~/.ssh/id_rsa'
        ];
        const leaks: string[] = [];
        const check = (what: string, outcome: Outcome) => {
            if (outcome.ok && /OUTSIDE-SECRET|EXCLUDED-SECRET/.test(textOf(outcome.value))) {
                leaks.push(what);
            }
            if (!outcome.ok) {
                assert.notStrictEqual(outcome.code, 'internal', `${what}: ${outcome.message}`);
            }
        };
        for (const sneak of sneaky) {
            check(`stat ${sneak}`, await attempt(mallory, 'fs/stat', { path: sneak }));
            check(`readdir ${sneak}`, await attempt(mallory, 'fs/readdir', { path: sneak }));
            const read = await attempt(mallory, 'fs/readFile', { path: sneak, offset: 0, length: 1024 });
            check(`readFile ${sneak}`, read);
            assert.strictEqual(read.ok, false, `reading '${sneak}' is refused`);
            check(`editor/open ${sneak}`, await attempt(mallory, 'editor/open', { path: sneak, stateVector: new Uint8Array([0]) }));
            check(`writeFile ${sneak}`, await attempt(mallory, 'fs/writeFile', { path: sneak.replace(/secret\.txt$/, 'pwned.txt'), data: Buffer.from('pwned'), create: true, overwrite: true }));
            check(`mkdir ${sneak}`, await attempt(mallory, 'fs/mkdir', { path: `${sneak}/pwned-dir` }));
            check(`copy ${sneak}`, await attempt(mallory, 'fs/copy', { from: sneak, to: 'proj/src/copied.txt', overwrite: true }));
            check(`rename ${sneak}`, await attempt(mallory, 'fs/rename', { from: 'proj/src/main.ts', to: sneak.replace(/secret\.txt$/, 'moved.ts'), overwrite: false }));
            check(`delete ${sneak}`, await attempt(mallory, 'fs/delete', { path: sneak, recursive: true }));
        }
        assert.deepStrictEqual(leaks, [], 'nothing from outside the workspace or excluded was returned');
        // Nothing changed outside the workspace; the secrets are intact; the excluded file too.
        assert.deepStrictEqual(fs.readdirSync(base).sort(), ['outside', 'proj']);
        assert.deepStrictEqual(fs.readdirSync(path.join(base, 'outside')), ['secret.txt']);
        assert.strictEqual(fs.readFileSync(path.join(base, 'outside', 'secret.txt'), 'utf8'), SECRET_OUTSIDE);
        assert.strictEqual(fs.readFileSync(path.join(root, '.env'), 'utf8'), `TOKEN=${SECRET_EXCLUDED}`);
        if (fs.existsSync(path.join(root, 'src', 'copied.txt'))) {
            assert.doesNotMatch(fs.readFileSync(path.join(root, 'src', 'copied.txt'), 'utf8'), /SECRET/);
        }
    });

    it('answers malformed params of every host method with errors, and a read-only guest cannot write', async () => {
        const mallory = await join('Mallory 2', 'readwrite');
        const reader = await join('Olaf RO', 'readonly');
        const methods = [...FsMessages.requests, EditorMessages.Open, EditorMessages.Fetch, EditorMessages.Save, ChatMessages.Send, ChatMessages.History,
            TerminalMessages.List, TerminalMessages.Snapshot, TerminalMessages.Input].map(definition => definition.method);
        let deep: unknown = 'bottom';
        for (let i = 0; i < 500; i++) {
            deep = { path: deep };
        }
        const junk: unknown[] = [undefined, null, 0, -1, 'text', true, [], [1, 2], {}, { path: 42 }, { path: 'x'.repeat(200_000) },
            { path: 'proj/src/main.ts', offset: -5, length: 1e12 }, { path: 'proj/src/main.ts', extra: 'field' }, deep,
            { id: 'nope', index: -1 }, { text: 'y'.repeat(1_000_000) }, { data: new Uint8Array(300 * 1024) }, { stateVector: 'not bytes' },
            { __proto__: { polluted: true } }, { constructor: { prototype: { polluted: true } } }];
        const internal: string[] = [];
        for (const method of methods) {
            for (const params of junk) {
                const outcome = await attempt(mallory, method, params);
                if (!outcome.ok && outcome.code === 'internal') {
                    internal.push(`${method}: ${outcome.message}`);
                }
            }
        }
        assert.deepStrictEqual(internal, [], 'no handler failed internally');
        assert.strictEqual(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution');

        // Junk notifications: Yjs updates that are not, for documents open or not; they are refused, not applied.
        await attempt(mallory, 'editor/open', { path: 'proj/src/main.ts', stateVector: new Uint8Array([0]) });
        for (const update of [new Uint8Array([255, 255, 255, 255]), new Uint8Array(1000).fill(7), new Uint8Array(0)]) {
            for (const docPath of ['proj/src/main.ts', 'proj/never-opened.ts', '../outside/secret.txt']) {
                await mallory.sendNotification(Notification.define('editor/update'), { path: docPath, update }).catch(() => undefined);
                await mallory.sendNotification(Notification.define('editor/update'), { path: docPath, update, part: { id: 'x', index: 99, count: 1 } }).catch(() => undefined);
            }
        }
        await mallory.sendNotification(Notification.define('editor/close'), { path: 42 }).catch(() => undefined);

        // Read-only: every write is refused and nothing changes on disk.
        const before = fs.readFileSync(path.join(root, 'src', 'main.ts'), 'utf8');
        for (const [method, params] of [
            ['fs/writeFile', { path: 'proj/src/main.ts', data: Buffer.from('ro'), create: true, overwrite: true }],
            ['fs/delete', { path: 'proj/src/main.ts', recursive: false }],
            ['fs/mkdir', { path: 'proj/ro-dir' }],
            ['fs/rename', { from: 'proj/src/main.ts', to: 'proj/src/ro.ts', overwrite: false }],
            ['terminal/input', { id: 'whatever', data: 'rm -rf /\r' }]
        ] as const) {
            const outcome = await attempt(reader, method, params);
            assert.strictEqual(outcome.ok, false, `${method} refused for a read-only guest`);
        }
        assert.strictEqual(fs.readFileSync(path.join(root, 'src', 'main.ts'), 'utf8'), before);
        assert.ok(!fs.existsSync(path.join(root, 'ro-dir')));
        assert.deepStrictEqual(terminal.typed, []);
    });

    it('survives a seeded stream of random calls, and keeps serving an honest guest', async () => {
        const seed = Number(process.env.COLLAB_FUZZ_SEED) || (Date.now() % 2147483647);
        console.log(`      malicious guest seed: ${seed}`);
        const random = prng(seed);
        const int = (n: number) => Math.floor(random() * n);
        const pick = <T>(items: readonly T[]): T => items[int(items.length)];
        const mallory = await join('Mallory 3', 'readwrite');
        const methods = [...FsMessages.requests.map(definition => definition.method), 'editor/open', 'editor/fetch', 'editor/save', 'chat/send',
            'chat/history', 'terminal/list', 'terminal/snapshot', 'terminal/input', 'fs/unknown', 'nope/nope', 'language/hover'];
        const paths = ['proj/src/main.ts', 'proj', 'proj/src', 'proj/../outside/secret.txt', 'proj/out/secret.txt', 'proj/.env', 'x', ''];
        const value = (depth: number): unknown => {
            switch (int(depth > 3 ? 5 : 9)) {
                case 0: return pick(paths);
                case 1: return int(2) ? int(1 << 20) : -int(1000);
                case 2: return random() < 0.5;
                case 3: return null;
                case 4: return new Uint8Array(int(4096)).map(() => int(256));
                case 5: return Array.from({ length: int(4) }, () => value(depth + 1));
                case 6: return 'z'.repeat(int(70_000));
                default: {
                    const object: Record<string, unknown> = {};
                    for (const key of ['path', 'from', 'to', 'offset', 'length', 'data', 'create', 'overwrite', 'recursive', 'cursor', 'id', 'index',
                        'uploadId', 'size', 'stateVector', 'generation', 'text']) {
                        if (int(3) === 0) {
                            object[key] = value(depth + 1);
                        }
                    }
                    return object;
                }
            }
        };
        const internal: string[] = [];
        let errors = 0;
        const calls = 400;
        for (let i = 0; i < calls; i++) {
            const method = pick(methods);
            const outcome = await attempt(mallory, method, value(0));
            if (!outcome.ok) {
                errors++;
                if (outcome.code === 'internal') {
                    internal.push(`${method}: ${outcome.message}`);
                }
            } else if (/OUTSIDE-SECRET|EXCLUDED-SECRET/.test(textOf(outcome.value))) {
                assert.fail(`${method} leaked a secret`);
            }
        }
        console.log(`      ${calls} random calls, ${errors} refused`);
        assert.deepStrictEqual(internal, [], 'no handler failed internally');
        assert.ok(errors > calls / 2);
        assert.deepStrictEqual(fs.readdirSync(path.join(base, 'outside')), ['secret.txt']);

        // The host is fine: an honest guest reads, opens a document, chats.
        assert.strictEqual(host.closed, false);
        const honest = await join('Honest Hal', 'readwrite');
        const read = await honest.sendRequest(FsMessages.ReadFile, { path: 'proj/src/main.ts', offset: 0, length: 1024 });
        assert.match(Buffer.from(read.data).toString('utf8'), /export const x/);
        const opened = await honest.sendRequest(EditorMessages.Open, { path: 'proj/src/main.ts', stateVector: new Uint8Array([0]) });
        assert.ok(opened.generation);
        const posted = await honest.sendRequest(ChatMessages.Send, { text: 'still here' });
        assert.strictEqual(posted.text, 'still here');
        assert.deepStrictEqual(crashes, [], 'no unhandled rejection or exception in the host process');
    });
});
