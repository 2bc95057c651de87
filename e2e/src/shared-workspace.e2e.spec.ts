import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { Browser, Locator } from 'playwright-core';
import {
    launchBrowser, startCoordinationServer, startTheiaBackend, TestCoordinationServer, TheiaBackend, TheiaWindow, waitFor
} from './harness';

/**
 * The shared workspace, end to end: the guest's navigator shows the host's files (not its own, not the
 * excluded ones), a read-write guest's save lands on the host's disk, files the host creates appear for the
 * guest, the host's refusals reach the guest as notifications, and a read-only guest cannot change anything.
 */
describe('shared workspace (e2e)', function () {
    this.timeout(300_000);

    let server: TestCoordinationServer | undefined;
    let hostBackend: TheiaBackend;
    let guestBackend: TheiaBackend;
    const backends: TheiaBackend[] = [];
    let browser: Browser | undefined;
    const windows: TheiaWindow[] = [];
    let host: TheiaWindow;
    let guest: TheiaWindow;

    const hostFile = (relative: string) => path.join(hostBackend.workspace, relative);
    const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    /** A node of the guest's file navigator, by its exact name. */
    const navigatorNode = (window: TheiaWindow, name: string): Locator =>
        window.page.locator('#files .theia-TreeNodeSegmentGrow').filter({ hasText: new RegExp(`^${escapeRegExp(name)}$`) });
    /** Text of the first editor of a window; Monaco renders spaces as non-breaking ones. */
    const editorText = async (window: TheiaWindow): Promise<string> =>
        (await window.page.locator('#theia-main-content-panel .monaco-editor .view-lines').first().innerText()).replace(/\u00a0/g, ' ');
    const navigatorNames = async (window: TheiaWindow): Promise<string[]> =>
        (await window.page.locator('#files .theia-TreeNodeSegmentGrow').allTextContents()).map(text => text.trim());

    before(async function () {
        this.timeout(180_000);
        server = await startCoordinationServer();
        [hostBackend, guestBackend] = await Promise.all([
            startTheiaBackend({
                name: 'shared-ws-host', serverUrl: server.url, files: {
                    'README.md': '# Host workspace\n',
                    'src/app.ts': 'console.log("host");\n',
                    'config/settings.json': '{}\n',
                    'config/.env': 'TOKEN=never-shared\n',
                    '.env': 'SECRET=never-shared\n'
                }
            }),
            startTheiaBackend({ name: 'shared-ws-guest', serverUrl: server.url, files: { 'guest-only.txt': 'mine\n' } })
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
                await window.screenshot(`shared-ws-failed-${window.name}`).catch(() => undefined);
                window.saveConsole(`shared-ws-${window.name}-console.log`);
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

    it('the guest joins read-write and its navigator shows the host\'s files instead of its own', async () => {
        for (const window of [host, guest]) {
            await window.runMenu('View', 'Explorer');
            await window.page.locator('#files').waitFor({ state: 'visible' });
        }
        await waitFor(async () => (await navigatorNames(guest)).includes('guest-only.txt'), 30_000, 'the guest\'s own workspace');

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

        const names = await waitFor(async () => {
            const shown = await navigatorNames(guest);
            return shown.includes('README.md') && shown.includes('src') && shown.includes('config') ? shown : undefined;
        }, 30_000, 'the host\'s files in the guest\'s navigator');
        assert.ok(!names.includes('guest-only.txt'), `the guest's own files are replaced: ${names}`);
        assert.ok(!names.includes('.env'), `excluded files are not shown: ${names}`);
        // The page was not reloaded: the session is still there.
        assert.match(await guest.statusBarText('collaboration-status'), /Collaborating · 2 participants$/);
        await guest.screenshot('shared-ws-guest-navigator');
    });

    it('the guest opens a host file and its save changes the host\'s disk', async () => {
        await navigatorNode(guest, 'src').click();
        await navigatorNode(guest, 'app.ts').waitFor({ state: 'visible', timeout: 15_000 });
        await navigatorNode(guest, 'app.ts').click();
        const editor = guest.page.locator('#theia-main-content-panel .monaco-editor').first();
        await editor.waitFor({ state: 'visible', timeout: 20_000 });
        await waitFor(async () => /console\.log\("host"\)/.test(await editorText(guest)), 20_000, 'the host\'s content in the guest\'s editor');

        await editor.locator('.view-lines').click();
        await guest.page.keyboard.press('Control+End');
        await guest.page.keyboard.type('// edited by Bob');
        await guest.page.keyboard.press('Control+S');
        await waitFor(() => fs.readFileSync(hostFile('src/app.ts'), 'utf8').includes('// edited by Bob'), 20_000, 'the guest\'s save on the host\'s disk');
        assert.match(fs.readFileSync(hostFile('src/app.ts'), 'utf8'), /^console\.log\("host"\);\n\/\/ edited by Bob/);
        await guest.screenshot('shared-ws-guest-saved');
    });

    it('files the host creates or changes appear for the guest', async () => {
        fs.writeFileSync(hostFile('created-by-host.txt'), 'hello from the host\n');
        await navigatorNode(guest, 'created-by-host.txt').waitFor({ state: 'visible', timeout: 30_000 });

        fs.writeFileSync(hostFile('src/app.ts'), 'console.log("changed on the host");\n');
        await waitFor(async () => /changed on the host/.test(await editorText(guest)), 30_000,
            'the host\'s change in the guest\'s open editor');
        await guest.screenshot('shared-ws-guest-sees-host-file');
    });

    it('the host\'s refusal reaches the guest as a notification', async () => {
        // `config` holds `.env`, which the guest cannot see: the host refuses to delete the folder.
        await navigatorNode(guest, 'config').click();
        await guest.page.keyboard.press('Delete');
        const confirm = guest.dialog();
        await confirm.waitFor({ state: 'visible' });
        await confirm.locator('button.main').click();
        const notice = await waitFor(async () => (await guest.notifications()).find(text => /not shared with you/.test(text)), 20_000,
            'the host\'s refusal as a notification');
        assert.match(notice, /config/);
        assert.ok(fs.existsSync(hostFile('config/.env')) && fs.existsSync(hostFile('config/settings.json')), 'nothing was deleted');
        await guest.screenshot('shared-ws-guest-refused');
    });

    it('after the host makes the guest read-only, the guest cannot change the file', async () => {
        await host.page.keyboard.press('F1');
        const quickInput = host.page.locator('.quick-input-widget');
        await quickInput.waitFor({ state: 'visible' });
        await host.page.keyboard.type('Change Participant Permission');
        await quickInput.locator('.monaco-list-row').filter({ hasText: /Change Participant Permission/ }).first().click();
        await quickInput.locator('.monaco-list-row').filter({ hasText: /Bob/ }).first().click();
        await quickInput.locator('.monaco-list-row').filter({ hasText: /Read-Only/ }).first().click();
        await quickInput.waitFor({ state: 'hidden' });

        const before = fs.readFileSync(hostFile('src/app.ts'), 'utf8');
        const editor = guest.page.locator('#theia-main-content-panel .monaco-editor').first();
        // The guest's editor turns read-only and says why when the guest tries to type.
        const message = await waitFor(async () => {
            await editor.locator('.view-lines').click();
            await guest.page.keyboard.press('Control+End');
            await guest.page.keyboard.type('x');
            const overlay = guest.page.locator('.monaco-editor-overlaymessage');
            return await overlay.isVisible() ? (await overlay.innerText()).trim() : undefined;
        }, 20_000, 'the read-only message in the guest\'s editor', 500);
        assert.match(message, /read-only access/);
        await guest.page.keyboard.press('Control+S');
        await guest.screenshot('shared-ws-guest-read-only');
        await new Promise(resolve => setTimeout(resolve, 2000));
        assert.strictEqual(fs.readFileSync(hostFile('src/app.ts'), 'utf8'), before, 'the host\'s file is unchanged');
        assert.strictEqual((await editorText(guest)).trim(), 'console.log("changed on the host");', 'the guest\'s editor is unchanged');
    });

    it('when the guest leaves, its own workspace comes back and shared editors close', async () => {
        await guest.runMenu('Collaborate', 'Leave Session');
        await guest.waitForStatusBarText('collaboration-status', /Collaborate$/);
        await waitFor(async () => (await navigatorNames(guest)).includes('guest-only.txt'), 30_000, 'the guest\'s own workspace to return');
        assert.ok(!(await navigatorNames(guest)).includes('README.md'));
        await waitFor(async () => (await guest.page.locator('#theia-main-content-panel .monaco-editor').count()) === 0, 10_000,
            'the shared editor to close');
        await guest.screenshot('shared-ws-guest-left');
        await host.runMenu('Collaborate', 'End Session');
        await host.waitForStatusBarText('collaboration-status', /Collaborate$/);
    });
});
