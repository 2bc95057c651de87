import * as path from 'path';
import { Browser } from 'playwright-core';
import { launchBrowser, TheiaWindow } from './browser';
import { startCoordinationServer, TestCoordinationServer } from './coordination-server';
import { startTheiaBackend, TheiaBackend, TheiaBackendOptions } from './theia-backend';

/**
 * The coordination server, Theia backends, browser and windows of one e2e suite. `e2eSuite` registers the
 * mocha hooks that save screenshots and consoles of a failed test and stop everything after the suite.
 */
export class E2eSuite {
    server: TestCoordinationServer | undefined;
    readonly backends: TheiaBackend[] = [];
    browser: Browser | undefined;
    readonly windows: TheiaWindow[] = [];

    /** `prefix` names the screenshots and console logs of failed tests. */
    constructor(readonly prefix: string) { }

    /**
     * Starts the coordination server (with `serverOptions`, e.g. a short heartbeat), one backend per entry (in
     * parallel) pointed at it, and the browser.
     */
    async start(backends: Omit<TheiaBackendOptions, 'serverUrl'>[], serverOptions?: Parameters<typeof startCoordinationServer>[0]): Promise<TheiaBackend[]> {
        const server = this.server = await startCoordinationServer(serverOptions);
        const started = await Promise.all(backends.map(options => startTheiaBackend({ ...options, serverUrl: server.url })));
        this.backends.push(...started);
        this.browser = await launchBrowser();
        return started;
    }

    /**
     * The usual pair: a host backend `<name>-host` with `hostFiles`, a guest backend `<name>-guest` whose own
     * workspace holds only `guest-only.txt` (so its navigator shows whose files it lists), a window on each.
     */
    async startHostAndGuest(
        name: string, hostFiles: Record<string, string>, serverOptions?: Parameters<typeof startCoordinationServer>[0]
    ): Promise<{ host: TheiaWindow; guest: TheiaWindow }> {
        const [hostBackend, guestBackend] = await this.start([
            { name: `${name}-host`, files: hostFiles },
            { name: `${name}-guest`, files: { 'guest-only.txt': 'mine\n' } }
        ], serverOptions);
        return { host: await this.open(hostBackend, 'host'), guest: await this.open(guestBackend, 'guest') };
    }

    /** The path of `relative` in the workspace of the first backend (the host's). */
    hostFile(relative: string): string {
        return path.join(this.backends[0].workspace, relative);
    }

    /** Opens a window of `backend`; it is closed after the suite. */
    async open(backend: TheiaBackend, name: string): Promise<TheiaWindow> {
        const window = await TheiaWindow.open(this.browser!, backend, name);
        this.windows.push(window);
        return window;
    }

    /** Screenshot (`<prefix>-<what>-<window>`) and browser console of every window, named after the failed test's suite. */
    async saveFailure(what = 'failed'): Promise<void> {
        for (const window of this.windows) {
            await window.screenshot(`${this.prefix}-${what}-${window.name}`).catch(() => undefined);
            window.saveConsole(`${this.prefix}-${window.name}-console.log`);
        }
    }

    /** Runs a set-up step of a `before` hook (whose failure `afterEach` does not see), saving the windows if it fails. */
    async setUp<T>(step: () => Promise<T>): Promise<T> {
        try {
            return await step();
        } catch (error) {
            await this.saveFailure('setup-failed');
            throw error;
        }
    }

    async stop(): Promise<void> {
        for (const window of this.windows) {
            await window.close();
        }
        await this.browser?.close().catch(() => undefined);
        await Promise.all(this.backends.map(backend => backend.stop()));
        await this.server?.close();
    }
}

/** An `E2eSuite` whose failure capture (afterEach) and teardown (after) are registered in the calling `describe`. */
export function e2eSuite(prefix: string): E2eSuite {
    const suite = new E2eSuite(prefix);
    afterEach(async function () {
        if (this.currentTest?.state === 'failed') {
            await suite.saveFailure();
        }
    });
    after(async function () {
        this.timeout(60_000);
        await suite.stop();
    });
    return suite;
}
