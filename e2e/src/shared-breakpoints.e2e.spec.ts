import * as assert from 'assert';
import { Browser, Locator } from 'playwright-core';
import {
    launchBrowser, startCoordinationServer, startTheiaBackend, TestCoordinationServer, TheiaBackend, TheiaWindow, waitFor
} from './harness';

/**
 * Shared breakpoints, end to end: a breakpoint the guest toggles (F9) in its `collab:` editor shows in the
 * host's editor of the same file, one the host toggles shows for the guest, and removing works both ways.
 */
describe('shared breakpoints (e2e)', function () {
    this.timeout(300_000);

    let server: TestCoordinationServer | undefined;
    const backends: TheiaBackend[] = [];
    let browser: Browser | undefined;
    const windows: TheiaWindow[] = [];
    let host: TheiaWindow;
    let guest: TheiaWindow;

    const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const navigatorNode = (window: TheiaWindow, name: string): Locator =>
        window.page.locator('#files .theia-TreeNodeSegmentGrow').filter({ hasText: new RegExp(`^${escapeRegExp(name)}$`) });
    const activeEditor = (window: TheiaWindow): Locator =>
        window.page.locator('#theia-main-content-panel .theia-editor:not(.lm-mod-hidden) .monaco-editor').first();

    async function openFile(window: TheiaWindow, name: string, text: RegExp): Promise<Locator> {
        if (!await navigatorNode(window, name).isVisible()) {
            await navigatorNode(window, 'src').click();
        }
        await navigatorNode(window, name).waitFor({ state: 'visible', timeout: 20_000 });
        await navigatorNode(window, name).dblclick();
        const editor = activeEditor(window);
        await waitFor(async () => text.test(await editor.locator('.view-lines').innerText()), 20_000, `${window.name}: ${name} in the editor`);
        return editor;
    }

    /** Lines that show a breakpoint glyph in the editor (matched to line numbers by their vertical position). */
    async function breakpointLines(editor: Locator): Promise<number[]> {
        const glyphs = await editor.locator('.margin [class*="codicon-debug-breakpoint"]').evaluateAll(nodes =>
            nodes.map(node => node.getBoundingClientRect().top));
        const numbers = await editor.locator('.margin .line-numbers').evaluateAll(nodes =>
            nodes.map(node => ({ line: Number(node.textContent?.trim()), top: node.getBoundingClientRect().top })));
        const lines = glyphs.map(top => numbers.reduce((best, candidate) => Math.abs(candidate.top - top) < Math.abs(best.top - top) ? candidate : best).line);
        return [...new Set(lines)].sort((a, b) => a - b);
    }

    async function waitForBreakpoints(window: TheiaWindow, editor: Locator, expected: number[]): Promise<void> {
        await waitFor(async () => (await breakpointLines(editor)).join() === expected.join(), 20_000,
            `${window.name}: breakpoints on lines ${expected.join(', ') || 'none'}`).catch(async error => {
            throw new Error(`${error.message} (shown: ${await breakpointLines(editor)})`);
        });
    }

    /** Puts the cursor on `line` and toggles a breakpoint there with F9. */
    async function toggleBreakpoint(window: TheiaWindow, editor: Locator, line: number): Promise<void> {
        await editor.locator('.view-lines').click();
        await window.page.keyboard.press('Control+Home');
        for (let i = 1; i < line; i++) {
            await window.page.keyboard.press('ArrowDown');
        }
        await window.page.keyboard.press('F9');
    }

    before(async function () {
        this.timeout(180_000);
        server = await startCoordinationServer();
        const [hostBackend, guestBackend] = await Promise.all([
            startTheiaBackend({
                name: 'breakpoints-host', serverUrl: server.url,
                files: { 'src/main.js': 'const a = 1;\nconst b = a + 1;\nconsole.log(a, b);\n' }
            }),
            startTheiaBackend({ name: 'breakpoints-guest', serverUrl: server.url, files: { 'guest-only.txt': 'mine\n' } })
        ]);
        backends.push(hostBackend, guestBackend);
        browser = await launchBrowser();
        host = await TheiaWindow.open(browser, hostBackend, 'host');
        windows.push(host);
        guest = await TheiaWindow.open(browser, guestBackend, 'guest');
        windows.push(guest);
    });

    afterEach(async function () {
        if (this.currentTest?.state === 'failed') {
            for (const window of windows) {
                await window.screenshot(`breakpoints-failed-${window.name}`).catch(() => undefined);
                window.saveConsole(`breakpoints-${window.name}-console.log`);
            }
        }
    });

    after(async function () {
        this.timeout(60_000);
        for (const window of windows) {
            await window.close();
        }
        await browser?.close().catch(() => undefined);
        await Promise.all(backends.map(backend => backend.stop()));
        await server?.close();
    });

    it('breakpoints set on either side show on both', async () => {
        for (const window of [host, guest]) {
            await window.runMenu('View', 'Explorer');
            await window.page.locator('#files').waitFor({ state: 'visible' });
        }
        await waitFor(async () => navigatorNode(guest, 'guest-only.txt').isVisible(), 30_000, 'the guest\'s own workspace');

        await host.runMenu('Collaborate', 'Start Session');
        const nameDialog = host.dialog('collaboration-name-dialog');
        await nameDialog.waitFor({ state: 'visible' });
        await nameDialog.locator('input.collaboration-name-input').fill('Alice');
        await nameDialog.locator('button.main').click();
        const inviteDialog = host.dialog('collaboration-invite-dialog');
        await inviteDialog.waitFor({ state: 'visible', timeout: 30_000 });
        const inviteCode = await inviteDialog.locator('input.collaboration-invite-code').inputValue();
        await inviteDialog.locator('button.main').click();
        await inviteDialog.waitFor({ state: 'detached' });

        await guest.runMenu('Collaborate', 'Join Session...');
        const joinDialog = guest.dialog('collaboration-join-dialog');
        await joinDialog.waitFor({ state: 'visible' });
        await joinDialog.locator('input.collaboration-join-invite').fill(inviteCode);
        await joinDialog.locator('input.collaboration-join-name').fill('Bob');
        await joinDialog.locator('button.main').click();
        const request = host.dialog('collaboration-join-request-dialog');
        await request.waitFor({ state: 'visible', timeout: 30_000 });
        await request.locator('button.collaboration-allow-readwrite').click();
        await guest.waitForStatusBarText('collaboration-status', /Collaborating · 2 participants$/);
        await waitFor(async () => navigatorNode(guest, 'src').isVisible(), 30_000, 'the host\'s files in the guest\'s navigator');

        const hostEditor = await openFile(host, 'main.js', /console\.log/);
        const guestEditor = await openFile(guest, 'main.js', /console\.log/);
        assert.deepStrictEqual(await breakpointLines(guestEditor), []);

        await toggleBreakpoint(guest, guestEditor, 2);
        await waitForBreakpoints(guest, guestEditor, [2]);
        await waitForBreakpoints(host, hostEditor, [2]);

        await toggleBreakpoint(host, hostEditor, 3);
        await waitForBreakpoints(guest, guestEditor, [2, 3]);
        await host.screenshot('breakpoints-host');
        await guest.screenshot('breakpoints-guest');

        await toggleBreakpoint(guest, guestEditor, 2);
        await waitForBreakpoints(host, hostEditor, [3]);
        await waitForBreakpoints(guest, guestEditor, [3]);
    });

    it('when the guest leaves, the session\'s breakpoints go with it; the host keeps its own', async () => {
        await guest.runMenu('Collaborate', 'Leave Session');
        await guest.waitForStatusBarText('collaboration-status', /Collaborate$/);
        await new Promise(resolve => setTimeout(resolve, 1000));
        assert.deepStrictEqual(await breakpointLines(activeEditor(host)), [3]);
        await host.runMenu('Collaborate', 'End Session');
        await host.waitForStatusBarText('collaboration-status', /Collaborate$/);
        assert.deepStrictEqual(await breakpointLines(activeEditor(host)), [3]);
    });
});
