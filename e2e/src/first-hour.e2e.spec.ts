import * as assert from 'assert';
import * as fs from 'fs';
import {
    activeEditor, e2eSuite, editorText, endSession, leaveSession, navigatorNames, openSharedFile, pickQuickItem, quickPickRows,
    showParticipants, TheiaWindow, waitFor
} from './harness';

/**
 * A newcomer's first hour, end to end: the Explorer is open at start; Start Session asks nothing and copies
 * the invite; Join asks only for the invite (the name is filled in); Start/Join are hidden in a session; the
 * host hears who joins and leaves; a guest hears when its permission changes; a guest sees no host-only
 * actions nor `.gitignore`d files; guests' typing is not written to the host's disk at once; Share Terminal
 * offers the host's open terminal and marks its tab; ending or leaving is confirmed in a dialog, and stale
 * shared terminal tabs close.
 */
describe('first hour of a new user (e2e)', function () {
    this.timeout(300_000);

    const suite = e2eSuite('first-hour');
    let host: TheiaWindow;
    let guest: TheiaWindow;
    let inviteCode = '';

    async function waitForNotification(window: TheiaWindow, pattern: RegExp, timeoutMs = 15_000): Promise<string> {
        return waitFor(async () => (await window.notifications()).find(text => pattern.test(text)), timeoutMs,
            `${window.name}: a notification matching ${pattern}`);
    }

    async function menuLabels(window: TheiaWindow): Promise<string[]> {
        return (await window.menuItems('Collaborate')).map(item => item.label.trim());
    }

    async function join(name: string): Promise<void> {
        await guest.runMenu('Collaborate', 'Join Session...');
        const joinDialog = guest.dialog('collaboration-join-dialog');
        await joinDialog.waitFor({ state: 'visible' });
        await joinDialog.locator('input.collaboration-join-invite').fill(inviteCode);
        // The name is filled in already; it stays editable in the same dialog.
        await joinDialog.locator('input.collaboration-join-name').fill(name);
        await joinDialog.locator('button.main').click();
        const request = host.dialog('collaboration-join-request-dialog');
        await request.waitFor({ state: 'visible', timeout: 30_000 });
        await request.locator('button.collaboration-allow-readwrite').click();
        await guest.waitForStatusBarText('collaboration-status', /Collaborating · 2 participants$/);
    }

    async function startAgain(): Promise<void> {
        await host.runMenu('Collaborate', 'Start Session');
        const inviteDialog = host.dialog('collaboration-invite-dialog');
        await inviteDialog.waitFor({ state: 'visible', timeout: 30_000 });
        inviteCode = await inviteDialog.locator('input.collaboration-invite-code').inputValue();
        await inviteDialog.locator('button.main').click();
        await inviteDialog.waitFor({ state: 'detached' });
    }

    before(async function () {
        this.timeout(200_000);
        ({ host, guest } = await suite.setUp(() => suite.startHostAndGuest('first-hour', {
            '.gitignore': 'node_modules/\n*.log\n',
            'node_modules/left-pad/index.js': 'module.exports = 1;\n',
            'debug.log': 'noise\n',
            'src/app.ts': 'console.log("host");\n',
            'README.md': '# First hour\n'
        })));
    });

    it('the Explorer is open at start in both windows', async () => {
        for (const window of [host, guest]) {
            await window.page.locator('#files').waitFor({ state: 'visible', timeout: 20_000 });
        }
        await waitFor(async () => (await navigatorNames(guest)).includes('guest-only.txt'), 20_000, 'the guest\'s own files');
        await host.screenshot('first-hour-host-start');
    });

    it('Start Session starts at once with a default name, copies the invite; Start and Join are hidden meanwhile', async () => {
        await host.runMenu('Collaborate', 'Start Session');
        const inviteDialog = host.dialog('collaboration-invite-dialog');
        await inviteDialog.waitFor({ state: 'visible', timeout: 30_000 });
        assert.strictEqual(await host.dialog('collaboration-name-dialog').count(), 0, 'no name is asked');
        inviteCode = await inviteDialog.locator('input.collaboration-invite-code').inputValue();
        assert.strictEqual(await host.page.evaluate(() => navigator.clipboard.readText()), inviteCode);
        await host.screenshot('first-hour-host-invite');
        await inviteDialog.locator('button.main').click();
        await inviteDialog.waitFor({ state: 'detached' });
        await host.waitForStatusBarText('collaboration-status', /Collaborating · 1 participant$/);
        const labels = await menuLabels(host);
        assert.ok(!labels.includes('Start Session') && !labels.includes('Join Session...'), labels.join(', '));
        assert.ok(labels.includes('End Session') && labels.includes('Change Display Name...'), labels.join(', '));
    });

    it('Join asks only for the invite (the name is filled in); the host is told who joined', async () => {
        await guest.runMenu('Collaborate', 'Join Session...');
        const joinDialog = guest.dialog('collaboration-join-dialog');
        await joinDialog.waitFor({ state: 'visible' });
        const defaultName = await joinDialog.locator('input.collaboration-join-name').inputValue();
        assert.ok(defaultName.trim().length > 0, 'a name is filled in');
        await joinDialog.locator('input.collaboration-join-invite').fill(inviteCode);
        await guest.screenshot('first-hour-guest-join-dialog');
        await joinDialog.locator('button.main').click();
        const request = host.dialog('collaboration-join-request-dialog');
        await request.waitFor({ state: 'visible', timeout: 30_000 });
        assert.strictEqual((await request.locator('.collaboration-join-request-name').textContent())?.trim(), defaultName.trim());
        await request.locator('button.collaboration-allow-readwrite').click();
        await guest.waitForStatusBarText('collaboration-status', /Collaborating · 2 participants$/);
        await waitForNotification(host, new RegExp(`${defaultName.trim()} joined the session`));
        await host.screenshot('first-hour-host-guest-joined');
        // The guest leaves again (confirmed), to come back with a name of its choice; the host is told.
        await leaveSession(guest);
        await waitForNotification(host, new RegExp(`${defaultName.trim()} left the session`));
        await join('Bob');
        await waitForNotification(host, /Bob joined the session \(can edit\)/);
    });

    it('the guest sees the host\'s files in its open Explorer, without what .gitignore names', async () => {
        await guest.page.locator('#files').waitFor({ state: 'visible' });
        const names = await waitFor(async () => {
            const shown = await navigatorNames(guest);
            return shown.includes('src') && shown.includes('README.md') ? shown : undefined;
        }, 30_000, 'the host\'s files in the guest\'s navigator');
        assert.ok(!names.includes('node_modules'), `node_modules is hidden: ${names}`);
        assert.ok(!names.includes('debug.log'), `debug.log is hidden: ${names}`);
        assert.ok(names.includes('.gitignore'), `.gitignore itself is shared: ${names}`);
        await guest.screenshot('first-hour-guest-explorer');
    });

    it('the guest sees no host-only actions; it is told when the host changes its permission', async () => {
        await showParticipants(guest);
        assert.strictEqual(await guest.page.locator('.collab-participants .collab-focus-participants').count(), 0);
        assert.strictEqual(await guest.page.locator('.collab-participants .collab-offer-presenter').count(), 0);
        await guest.screenshot('first-hour-guest-participants');

        await showParticipants(host);
        const bob = host.page.locator('.collab-participant[data-peer-name="Bob"]');
        await bob.locator('.collab-toggle-permission').click();
        await waitForNotification(guest, /The host made you read-only: you can look but not edit\./);
        await guest.screenshot('first-hour-guest-made-read-only');
        await bob.locator('.collab-toggle-permission').click();
        await waitForNotification(guest, /The host made you read-write/);
    });

    it('the guest\'s typing reaches the host\'s disk not at once, but after a quiet moment or a save', async () => {
        await openSharedFile(guest, 'app.ts', /console\.log\("host"\)/);
        await activeEditor(guest).locator('.view-lines').click();
        await guest.page.keyboard.press('Control+End');
        await guest.page.keyboard.type('// typed by Bob', { delay: 20 });
        await waitFor(async () => (await editorText(guest)).includes('typed by Bob'), 10_000, 'guest: its typing');
        // The app auto-saves 0.5 s after a change; a guest's keystrokes wait for 5 s without guest edits.
        await new Promise(resolve => setTimeout(resolve, 2000));
        assert.ok(!fs.readFileSync(suite.hostFile('src/app.ts'), 'utf8').includes('typed by Bob'), 'not on the host\'s disk 2 s later');
        await waitFor(() => fs.readFileSync(suite.hostFile('src/app.ts'), 'utf8').includes('// typed by Bob'), 20_000,
            'the guest\'s typing on the host\'s disk after the quiet time');
    });

    it('Share Terminal offers the host\'s open terminal and marks its tab; guests get it', async () => {
        await host.runMenu('Terminal', 'New Terminal');
        await host.page.locator('.terminal-container:visible').first().waitFor({ state: 'visible', timeout: 20_000 });
        await host.runMenu('Terminal', 'Share Terminal');
        const rows = await quickPickRows(host);
        // The host's open terminals, the current one first, then a new one.
        assert.ok(rows.length >= 2 && /current/.test(rows[0]) && /New Terminal/.test(rows[rows.length - 1]), rows.join(' | '));
        await pickQuickItem(host, /current/);
        const sharedTab = host.page.locator('#theia-bottom-content-panel .lm-TabBar-tab.collaboration-shared-terminal');
        await sharedTab.waitFor({ state: 'visible', timeout: 15_000 });
        await guest.page.locator('.collaboration-guest-terminal').first().waitFor({ state: 'visible', timeout: 20_000 });
        await host.screenshot('first-hour-host-shared-terminal');
        await guest.screenshot('first-hour-guest-shared-terminal');
    });

    it('End Session is confirmed in a dialog saying guests are disconnected; the guest\'s terminal tab closes', async () => {
        await host.runMenu('Collaborate', 'End Session');
        const confirm = host.dialog('collaboration-end-dialog');
        await confirm.waitFor({ state: 'visible' });
        assert.match(await confirm.innerText(), /guest in it will be disconnected/);
        await host.screenshot('first-hour-host-end-confirm');
        await confirm.locator('button.main').click();
        await host.waitForStatusBarText('collaboration-status', /Collaborate$/);
        await waitForNotification(host, /You ended the collaboration session; the guest was disconnected\./);
        await waitForNotification(guest, /ended the collaboration session/);
        await waitFor(async () => await guest.page.locator('.collaboration-guest-terminal').count() === 0, 15_000, 'guest: no stale shared terminal tab');
        const labels = await menuLabels(host);
        assert.ok(labels.includes('Start Session') && labels.includes('Join Session...'), labels.join(', '));
        await host.screenshot('first-hour-host-ended');
        await guest.screenshot('first-hour-guest-ended');
    });

    it('a removed guest is told it was removed, and its shared terminal tab closes', async () => {
        await startAgain();
        await join('Bob');
        await host.page.locator('.terminal-container').first().click().catch(() => undefined);
        await host.runMenu('Terminal', 'Share Terminal');
        await pickQuickItem(host, /Terminal|bash|sh/);
        await guest.page.locator('.collaboration-guest-terminal').first().waitFor({ state: 'visible', timeout: 20_000 });
        await showParticipants(host);
        await host.page.locator('.collab-participant[data-peer-name="Bob"] .collab-remove').click();
        const confirm = host.dialog();
        await confirm.waitFor({ state: 'visible' });
        await confirm.locator('button.main').click();
        await waitForNotification(guest, /The host removed you from the collaboration session/);
        await waitFor(async () => await guest.page.locator('.collaboration-guest-terminal').count() === 0, 15_000, 'guest: no stale shared terminal tab');
        assert.ok(!(await guest.notifications()).some(text => /session ended; this terminal/.test(text)));
        await guest.screenshot('first-hour-guest-removed');
        await endSession(host);
    });
});
