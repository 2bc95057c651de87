/**
 * Test support for the agent specs: a real coordination server, and a real host in the test process running the
 * extension's host-side common code over a temp folder (`HostFileSystem` with the default exclusions answering
 * `fs/*`, `EditorHost` for shared documents, `ChatChannel`, `SessionAwareness`), admitting guests by name with
 * the permission the test chose. Call `useAgentHost` inside `describe`; everything a test starts is stopped after it.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ChildProcess, spawn } from 'child_process';
import { CollaborationClient, CollaborationError, CollaborationSession, Disposable, Permission } from '@theia-collab/protocol';
import { ServerHandle, startServer } from '@theia-collab/server/lib/server';
import { ChatChannel } from '@theia-collab/extension/lib/common/chat/chat-channel';
import { SessionAwareness } from '@theia-collab/extension/lib/common/editor/editor-awareness';
import { EditorHost } from '@theia-collab/extension/lib/common/editor/editor-host';
import { registerFsRequestHandlers } from '@theia-collab/extension/lib/common/fs/fs-host-handlers';
import { DEFAULT_EXCLUDED_FILES } from '@theia-collab/extension/lib/common/fs/host-file-system-protocol';
import { HostFileSystem } from '@theia-collab/extension/lib/node/fs/host-file-system';

export const CLI = path.resolve(__dirname, 'cli.js');
const QUIET = { info: () => undefined, warn: () => undefined, error: () => undefined };

export async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
        if (Date.now() > deadline) {
            throw new Error(`timed out waiting until ${what}`);
        }
        await new Promise(resolve => setTimeout(resolve, 20));
    }
}

export interface CliRun {
    child: ChildProcess;
    stdout: string;
    stderr: string;
    exited: Promise<number | null>;
}

export class AgentHost {
    server: ServerHandle;
    base: string;
    /** The shared root `proj` (real path). */
    root: string;
    hostFs: HostFileSystem;
    host: CollaborationSession;
    editor: EditorHost;
    chat: ChatChannel;
    awareness: SessionAwareness;
    /** Who asked to join, in order. */
    readonly requests: string[] = [];
    /** Who asked to join marked as a program, in order. */
    readonly programRequests: string[] = [];
    readonly permissions = new Map<string, Permission>();
    protected readonly clients: CollaborationClient[] = [];
    protected readonly toDispose: Disposable[] = [];
    protected readonly children: ChildProcess[] = [];
    protected readonly pids: number[] = [];

    async start(files: Record<string, string>): Promise<void> {
        this.server = await startServer({
            hostname: '127.0.0.1', port: 0, logLevel: 'silent',
            loginRateLimit: { max: 10_000, windowMs: 60_000 }, joinRateLimit: { max: 10_000, windowMs: 60_000 }
        });
        this.base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'collab-agent-')));
        this.root = path.join(this.base, 'proj');
        for (const [file, content] of Object.entries(files)) {
            fs.mkdirSync(path.dirname(path.join(this.root, file)), { recursive: true });
            fs.writeFileSync(path.join(this.root, file), content);
        }
        this.hostFs = new HostFileSystem({ roots: [{ name: 'proj', path: this.root }], exclude: [...DEFAULT_EXCLUDED_FILES] });
        const client = await CollaborationClient.connect({ serverUrl: this.server.url, name: 'Hosting Hana', logger: QUIET });
        this.clients.push(client);
        this.host = await client.createSession();
        this.host.onJoinRequest(request => {
            this.requests.push(request.name);
            if (request.program) {
                this.programRequests.push(request.name);
            }
            request.admit(this.permissions.get(request.name) ?? 'readonly').catch(() => undefined);
        });
        this.toDispose.push(...registerFsRequestHandlers(this.host, this.hostFs));
        const caller = { peerId: this.host.self.id, permission: 'readwrite' as const };
        this.editor = new EditorHost(this.host, {
            read: async workspacePath => {
                const result = await this.hostFs.handle('fs/readFile', caller, { path: workspacePath, offset: 0, length: 256 * 1024 });
                if (!result.ok) {
                    throw new CollaborationError(result.error.code, result.error.message);
                }
                return Buffer.from((result.value as { data: Uint8Array }).data).toString('utf8');
            },
            save: async (workspacePath, text) => {
                fs.writeFileSync(path.join(this.base, workspacePath), text);
                return true;
            },
            checkGuestAccess: async (workspacePath, access) => {
                const result = await this.hostFs.resolveForGuest(workspacePath, access);
                if (!result.ok) {
                    throw new CollaborationError(result.error.code, result.error.message);
                }
            }
        }, { logger: QUIET });
        this.chat = new ChatChannel(this.host);
        this.awareness = new SessionAwareness(this.host, { logger: QUIET });
        this.toDispose.push(this.editor, this.chat, this.awareness);
    }

    get invite(): string {
        return this.host.invite!.link;
    }

    /** The guest named `name`, once the host sees it. */
    peerNamed(name: string) {
        return this.host.peers.find(peer => peer.name === name);
    }

    /** Runs the built CLI (`node lib/cli.js ...args`); killed after the test if still running. */
    runCli(args: string[], stdin?: string): CliRun {
        const child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
        this.children.push(child);
        const run: CliRun = {
            child, stdout: '', stderr: '',
            exited: new Promise(resolve => child.once('exit', code => resolve(code)))
        };
        child.stdout!.on('data', chunk => run.stdout += chunk);
        child.stderr!.on('data', chunk => run.stderr += chunk);
        if (stdin !== undefined) {
            child.stdin!.end(stdin);
        }
        return run;
    }

    /** A process started elsewhere (e.g. by an MCP stdio transport), killed after the test if still running. */
    trackPid(pid: number | null): void {
        if (pid) {
            this.pids.push(pid);
        }
    }

    async stop(): Promise<void> {
        for (const child of this.children.splice(0)) {
            if (child.exitCode === null && child.signalCode === null) {
                child.kill('SIGKILL');
            }
        }
        for (const pid of this.pids.splice(0)) {
            try {
                process.kill(pid, 'SIGKILL');
            } catch {
                // already gone
            }
        }
        this.toDispose.splice(0).forEach(d => d.dispose());
        this.clients.splice(0).forEach(client => client.dispose());
        await this.hostFs?.dispose();
        await this.server?.close();
        if (this.base) {
            fs.rmSync(this.base, { recursive: true, force: true });
        }
    }
}

/** Registers the hooks: a fresh server, host and workspace per test. */
export function useAgentHost(files: Record<string, string>): AgentHost {
    const scope = { current: undefined as AgentHost | undefined };
    const proxy = new Proxy({} as AgentHost, {
        get: (_, key) => {
            const target = scope.current as unknown as Record<string | symbol, unknown>;
            const value = target[key];
            return typeof value === 'function' ? (value as Function).bind(target) : value;
        }
    });
    beforeEach(async () => {
        scope.current = new AgentHost();
        await scope.current.start(files);
    });
    afterEach(async () => {
        await scope.current?.stop();
        scope.current = undefined;
    });
    return proxy;
}
