import { ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { spawnOwnedNode, stopOwnedProcess } from './owned-processes';
import { BROWSER_APP_MAIN, PLUGINS_DIR, REPO_ROOT, TEST_RESULTS } from './paths';
import { freePort } from './wait';

export interface TheiaBackendOptions {
    /** Used for the temp folder and the log file name. */
    name: string;
    /** Coordination server the backend hands to its frontends (`COLLAB_SERVER_URL`). */
    serverUrl: string;
    /** Files to create in the fresh workspace, relative path → content. */
    files?: Record<string, string>;
    env?: Record<string, string>;
    startTimeoutMs?: number;
    /**
     * Load the in-repo plugins (`plugins/`: grammars, language servers, the Python debugger), as `npm start` does.
     * Off by default: the specs written before the plugins type into plain editors (no auto-indent, brackets or
     * suggestions) and expect the lighter start of a backend without a plugin host.
     */
    plugins?: boolean;
}

export interface TheiaBackend {
    readonly name: string;
    readonly url: string;
    readonly port: number;
    /** The workspace folder this backend opened (a fresh temp folder). */
    readonly workspace: string;
    /** The backend's process id (leader of its process group). */
    readonly pid: number;
    /** Where its stdout and stderr go (kept after `stop()`). */
    readonly logFile: string;
    /** Everything the backend printed so far (read from `logFile`). */
    output(): string;
    stop(): Promise<void>;
}

/**
 * Starts `browser-app/lib/backend/main.js` on a free port with its own temp workspace, HOME and Theia
 * config folder (so instances share no user settings), pointed at `serverUrl` with the embedded server off.
 * It is ready when its port answers HTTP. It does not outlive this process (see `owned-processes.ts`).
 */
export async function startTheiaBackend(options: TheiaBackendOptions): Promise<TheiaBackend> {
    if (!fs.existsSync(BROWSER_APP_MAIN)) {
        throw new Error(`${BROWSER_APP_MAIN} is missing: run \`npm run build\` first`);
    }
    const root = fs.mkdtempSync(path.join(os.tmpdir(), `theia-collab-e2e-${options.name}-`));
    const workspace = path.join(root, 'workspace');
    const home = path.join(root, 'home');
    const configDir = path.join(home, '.theia');
    for (const dir of [workspace, configDir]) {
        fs.mkdirSync(dir, { recursive: true });
    }
    for (const [file, content] of Object.entries(options.files ?? {})) {
        const target = path.join(workspace, file);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, content);
    }
    const port = await freePort();
    fs.mkdirSync(TEST_RESULTS, { recursive: true });
    const logFile = path.join(TEST_RESULTS, `${options.name}-backend.log`);
    // stdout and stderr go straight to the log file, not through pipes to this process: the backend never
    // writes into a dead pipe when this process is gone, and the log is complete even then.
    const logFd = fs.openSync(logFile, 'w');
    let child: ChildProcess;
    try {
        const args = [BROWSER_APP_MAIN, workspace, '--hostname', '127.0.0.1', '--port', String(port)];
        if (options.plugins) {
            args.push(`--plugins=local-dir:${PLUGINS_DIR}`);
        }
        child = spawnOwnedNode(args, {
            cwd: path.join(REPO_ROOT, 'browser-app'),
            env: {
                ...process.env,
                HOME: home,
                THEIA_CONFIG_DIR: configDir,
                COLLAB_SERVER_URL: options.serverUrl,
                COLLAB_EMBEDDED_SERVER: '0',
                ...options.env
            },
            stdio: ['ignore', logFd, logFd]
        });
    } finally {
        // The child has its own copy of the descriptor.
        fs.closeSync(logFd);
    }
    const exited = new Promise<void>(resolve => child.once('exit', () => resolve()));
    const output = () => {
        try {
            return fs.readFileSync(logFile, 'utf8');
        } catch {
            return '';
        }
    };
    const backend: TheiaBackend = {
        name: options.name,
        url: `http://127.0.0.1:${port}`,
        port,
        workspace,
        pid: child.pid!,
        logFile,
        output,
        stop: async () => {
            await stopOwnedProcess(child, exited, `the Theia backend ${options.name}`);
            fs.rmSync(root, { recursive: true, force: true, maxRetries: 3 });
        }
    };
    try {
        await waitUntilServing(backend, child, options.startTimeoutMs ?? 60_000);
    } catch (error) {
        await backend.stop();
        throw error;
    }
    return backend;
}

/** Until `backend.url` answers HTTP (any status), or rejects when the backend exits first or after `ms`. */
async function waitUntilServing(backend: TheiaBackend, child: ChildProcess, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
        if (child.exitCode !== null || child.signalCode !== null) {
            throw new Error(`Theia backend ${backend.name} exited with ${child.exitCode ?? child.signalCode} before listening:\n${backend.output().slice(-4000)}`);
        }
        if (await answersHttp(backend.url)) {
            return;
        }
        await new Promise(resolve => setTimeout(resolve, 200));
    }
    throw new Error(`Timed out after ${ms} ms waiting for Theia backend ${backend.name} to listen:\n${backend.output().slice(-4000)}`);
}

function answersHttp(url: string): Promise<boolean> {
    return new Promise(resolve => {
        const request = http.get(url, { timeout: 2000 }, response => {
            response.resume();
            resolve(true);
        });
        request.on('timeout', () => request.destroy());
        request.on('error', () => resolve(false));
    });
}
