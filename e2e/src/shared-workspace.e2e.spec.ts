import * as assert from 'assert';
import * as fs from 'fs';
import {
    activeEditor, e2eSuite, editorText, endSession, leaveSession, navigatorNames, navigatorNode, startSharedWorkspace, TheiaWindow, waitFor
} from './harness';

/**
 * The shared workspace, end to end: the guest's navigator shows the host's files (not its own, not the
 * excluded ones), a read-write guest's save lands on the host's disk, files the host creates appear for the
 * guest, the host's refusals reach the guest as notifications, and a read-only guest cannot change anything.
 */
describe('shared workspace (e2e)', function () {
    this.timeout(300_000);

    const suite = e2eSuite('shared-ws');
    let host: TheiaWindow;
    let guest: TheiaWindow;

    before(async function () {
        this.timeout(180_000);
        ({ host, guest } = await suite.startHostAndGuest('shared-ws', {
            'README.md': '# Host workspace\n',
            'src/app.ts': 'console.log("host");\n',
            'config/settings.json': '{}\n',
            'config/.env': 'TOKEN=never-shared\n',
            '.env': 'SECRET=never-shared\n'
        }));
    });

    it('the guest joins read-write and its navigator shows the host\'s files instead of its own', async () => {
        const names = await startSharedWorkspace(host, guest, { guestEntry: 'guest-only.txt', hostEntries: ['README.md', 'src', 'config'] });
        assert.ok(!names.includes('.env'), `excluded files are not shown: ${names}`);
        // The page was not reloaded: the session is still there.
        assert.match(await guest.statusBarText('collaboration-status'), /Collaborating · 2 participants$/);
        await guest.screenshot('shared-ws-guest-navigator');
    });

    it('the guest opens a host file and its save changes the host\'s disk', async () => {
        await navigatorNode(guest, 'src').click();
        await navigatorNode(guest, 'app.ts').waitFor({ state: 'visible', timeout: 15_000 });
        await navigatorNode(guest, 'app.ts').click();
        const editor = activeEditor(guest);
        await editor.waitFor({ state: 'visible', timeout: 20_000 });
        await waitFor(async () => /console\.log\("host"\)/.test(await editorText(guest)), 20_000, 'the host\'s content in the guest\'s editor');

        await editor.locator('.view-lines').click();
        await guest.page.keyboard.press('Control+End');
        await guest.page.keyboard.type('// edited by Bob');
        await guest.page.keyboard.press('Control+S');
        await waitFor(() => fs.readFileSync(suite.hostFile('src/app.ts'), 'utf8').includes('// edited by Bob'), 20_000, 'the guest\'s save on the host\'s disk');
        assert.match(fs.readFileSync(suite.hostFile('src/app.ts'), 'utf8'), /^console\.log\("host"\);\n\/\/ edited by Bob/);
        await guest.screenshot('shared-ws-guest-saved');
    });

    it('files the host creates or changes appear for the guest', async () => {
        fs.writeFileSync(suite.hostFile('created-by-host.txt'), 'hello from the host\n');
        await navigatorNode(guest, 'created-by-host.txt').waitFor({ state: 'visible', timeout: 30_000 });

        fs.writeFileSync(suite.hostFile('src/app.ts'), 'console.log("changed on the host");\n');
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
        assert.ok(fs.existsSync(suite.hostFile('config/.env')) && fs.existsSync(suite.hostFile('config/settings.json')), 'nothing was deleted');
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

        const before = fs.readFileSync(suite.hostFile('src/app.ts'), 'utf8');
        const editor = activeEditor(guest);
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
        assert.strictEqual(fs.readFileSync(suite.hostFile('src/app.ts'), 'utf8'), before, 'the host\'s file is unchanged');
        assert.strictEqual((await editorText(guest)).trim(), 'console.log("changed on the host");', 'the guest\'s editor is unchanged');
    });

    it('when the guest leaves, its own workspace comes back and shared editors close', async () => {
        await leaveSession(guest);
        await waitFor(async () => (await navigatorNames(guest)).includes('guest-only.txt'), 30_000, 'the guest\'s own workspace to return');
        assert.ok(!(await navigatorNames(guest)).includes('README.md'));
        await waitFor(async () => (await guest.page.locator('#theia-main-content-panel .monaco-editor').count()) === 0, 10_000,
            'the shared editor to close');
        await guest.screenshot('shared-ws-guest-left');
        await endSession(host);
    });
});
