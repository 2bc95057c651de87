import * as assert from 'assert';
import { Browser, Locator } from 'playwright-core';
import {
    launchBrowser, startCoordinationServer, startTheiaBackend, TestCoordinationServer, TheiaBackend, TheiaWindow, waitFor
} from './harness';

/**
 * The host's language services for a guest, end to end. This app has no language extensions (no plugin host,
 * and Monaco's TypeScript worker is not part of @theia/monaco-editor-core), so the completion provider that
 * exists is Monaco's word-based one, which on the host draws on every model of the same language, including
 * files the guest never opened. The guest, typing in the shared `src/app.ts`, must see exactly the host's
 * completion labels, among them a word only the host's other file has.
 */
describe('language services (e2e)', function () {
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

    /** Opens `src/<name>` from the navigator and waits for its text. */
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

    /** Ctrl+Space at the end of the editor's text; the labels the suggest widget lists. */
    async function completionLabels(window: TheiaWindow, editor: Locator, expected: string): Promise<string[]> {
        await editor.locator('.view-lines').click();
        await window.page.keyboard.press('Control+End');
        await window.page.keyboard.press('Escape');
        await window.page.keyboard.press('Control+Space');
        const widget = window.page.locator('.suggest-widget.visible');
        return waitFor(async () => {
            const labels = (await widget.locator('.monaco-list-row .label-name').allTextContents()).map(label => label.trim()).filter(Boolean);
            return labels.includes(expected) ? labels.sort() : undefined;
        }, 20_000, `${window.name}: '${expected}' among the completions`);
    }

    before(async function () {
        this.timeout(180_000);
        server = await startCoordinationServer();
        const [hostBackend, guestBackend] = await Promise.all([
            startTheiaBackend({
                name: 'language-host', serverUrl: server.url, files: {
                    'src/app.ts': 'export function hostHelper(greeting: string) {\n    return greeting;\n}\n',
                    'src/other.ts': 'export const hostOnlyIdentifier = 42;\nexport const hostileTakeover = false;\n'
                }
            }),
            startTheiaBackend({ name: 'language-guest', serverUrl: server.url, files: { 'guest-only.txt': 'mine\n' } })
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
                await window.screenshot(`language-failed-${window.name}`).catch(() => undefined);
                window.saveConsole(`language-${window.name}-console.log`);
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

    it('the guest joins and opens a host file; the host has another file open', async () => {
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
        // Opened once the session is up: the host's editors are bound to the shared documents as they open.
        await openFile(host, 'other.ts', /hostOnlyIdentifier/);
        await openFile(host, 'app.ts', /hostHelper/);
        await openFile(guest, 'app.ts', /hostHelper/);
    });

    it('the guest\'s completion comes from the host and lists the same labels as the host\'s own', async () => {
        const guestEditor = activeEditor(guest);
        await guestEditor.locator('.view-lines').click();
        await guest.page.keyboard.press('Control+End');
        await guest.page.keyboard.type('host');
        await guest.page.keyboard.press('Escape');
        const hostEditor = activeEditor(host);
        // The co-edited text reaches the host's editor.
        await waitFor(async () => /^host$/m.test(await hostEditor.locator('.view-lines').innerText()), 20_000, 'the guest\'s typing on the host');

        const guestLabels = await completionLabels(guest, guestEditor, 'hostOnlyIdentifier');
        await guest.screenshot('language-guest-completion');
        await guest.page.keyboard.press('Escape');
        const hostLabels = await completionLabels(host, hostEditor, 'hostOnlyIdentifier');
        await host.screenshot('language-host-completion');
        await host.page.keyboard.press('Escape');
        const languageMode = (await guest.page.locator('#theia-statusBar').innerText()).replace(/\s+/g, ' ');
        console.log(`      guest completions: ${guestLabels.join(', ')}; host completions: ${hostLabels.join(', ')}; guest status bar: ${languageMode}`);
        assert.deepStrictEqual(guestLabels, hostLabels);
        assert.ok(guestLabels.includes('hostileTakeover') && guestLabels.includes('hostHelper'), `${guestLabels}`);
    });

    it('the guest leaves and the host ends the session', async () => {
        await guest.runMenu('Collaborate', 'Leave Session');
        await guest.waitForStatusBarText('collaboration-status', /Collaborate$/);
        await host.runMenu('Collaborate', 'End Session');
        await host.waitForStatusBarText('collaboration-status', /Collaborate$/);
    });
});
