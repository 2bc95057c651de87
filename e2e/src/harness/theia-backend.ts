import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BROWSER_APP_MAIN, REPO_ROOT, TEST_RESULTS } from './paths';
import { freePort, withTimeout } from './wait';

export interface TheiaBackendOptions {
    /** Used for the temp folder and the log file name. */
    name: string;
    /** Coordination server the backend hands to its frontends (`COLLAB_SERVER_URL`). */
    serverUrl: string;
    /** Files to create in the fresh workspace, relative path → content. */
    files?: Record<string, string>;
    env?: Record<string, string>;
    startTimeoutMs?: number;
}

export interface TheiaBackend {
    readonly name: string;
    readonly url: string;
    readonly port: number;
    /** The workspace folder this backend opened (a fresh temp folder). */
    readonly workspace: string;
    /** Everything the backend printed so far. */
    output(): string;
    stop(): Promise<void>;
}

/**
 * Starts `browser-app/lib/backend/main.js` on a free port with its own temp workspace, HOME and Theia
 * config folder (so instances share no user settings), pointed at `serverUrl` with the embedded server off.
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
    const log = fs.createWriteStream(path.join(TEST_RESULTS, `${options.name}-backend.log`));
    const child = spawn(process.execPath, [BROWSER_APP_MAIN, workspace, '--hostname', '127.0.0.1', '--port', String(port)], {
        cwd: path.join(REPO_ROOT, 'browser-app'),
        env: {
            ...process.env,
            HOME: home,
            THEIA_CONFIG_DIR: configDir,
            COLLAB_SERVER_URL: options.serverUrl,
            COLLAB_EMBEDDED_SERVER: '0',
            ...options.env
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        // Its own process group, so stop() also ends the shells and helpers it spawned.
        detached: process.platform !== 'win32'
    });
    let output = '';
    const exited = new Promise<void>(resolve => child.once('exit', () => resolve()));
    const listening = new Promise<void>((resolve, reject) => {
        const onData = (chunk: Buffer) => {
            const text = chunk.toString();
            output += text;
            log.write(text);
            if (/listening on http:\/\/127\.0\.0\.1:\d+/.test(output)) {
                resolve();
            }
        };
        child.stdout!.on('data', onData);
        child.stderr!.on('data', onData);
        child.once('exit', code => reject(new Error(`Theia backend ${options.name} exited with ${code} before listening:\n${output.slice(-4000)}`)));
    });
    const backend: TheiaBackend = {
        name: options.name,
        url: `http://127.0.0.1:${port}`,
        port,
        workspace,
        output: () => output,
        stop: async () => {
            await stopProcess(child, exited);
            log.end();
            fs.rmSync(root, { recursive: true, force: true, maxRetries: 3 });
        }
    };
    try {
        await withTimeout(listening, options.startTimeoutMs ?? 60_000, `Theia backend ${options.name} to listen`);
    } catch (error) {
        await backend.stop();
        throw error;
    }
    return backend;
}

async function stopProcess(child: ChildProcess, exited: Promise<void>): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) {
        return;
    }
    const signal = (name: NodeJS.Signals) => {
        try {
            if (child.pid !== undefined && process.platform !== 'win32') {
                process.kill(-child.pid, name);
            } else {
                child.kill(name);
            }
        } catch {
            // already gone
        }
    };
    signal('SIGTERM');
    try {
        await withTimeout(exited, 10_000, 'the Theia backend to stop');
    } catch {
        signal('SIGKILL');
        await withTimeout(exited, 5_000, 'the Theia backend to be killed').catch(() => undefined);
    }
    // Whatever it left behind in its process group (terminal shells, helpers).
    signal('SIGKILL');
}
