import * as assert from 'assert';
import { e2eSuite, endSession, leaveSession, setDisplayName, TheiaWindow, waitFor } from './harness';

/**
 * The foundation, end to end: one coordination server, two Theia backends with their own workspaces, two
 * browser windows. The host starts a session from the Collaborate menu, the guest joins with the invite
 * code and a name, the host allows read-write, and both status bars count two participants.
 */
/** The session items of the Collaborate menu that are enabled (features add their own items too). */
async function enabledSessionItems(window: TheiaWindow): Promise<string[]> {
    const sessionItems = ['Start Session', 'Join Session...', 'Cancel Joining', 'Leave Session', 'End Session', 'Copy Invite', 'Show Invite...'];
    return (await window.menuItems('Collaborate')).filter(item => item.enabled && sessionItems.includes(item.label)).map(item => item.label);
}

describe('collaboration foundation (e2e)', function () {
    this.timeout(240_000);

    const suite = e2eSuite('foundation');
    let host: TheiaWindow;
    let guest: TheiaWindow;

    before(async function () {
        this.timeout(180_000);
        const [hostBackend, guestBackend] = await suite.start([
            { name: 'foundation-host', files: { 'README.md': '# Host workspace\n' } },
            { name: 'foundation-guest', files: { 'notes.txt': 'guest only\n' } }
        ]);
        host = await suite.open(hostBackend, 'host');
        guest = await suite.open(guestBackend, 'guest');
    });

    it('shows an idle Collaborate menu and status bar item', async () => {
        assert.deepStrictEqual(await enabledSessionItems(host), ['Start Session', 'Join Session...']);
        assert.match(await host.statusBarText('collaboration-status'), /Collaborate$/);
    });

    let inviteCode = '';

    it('host starts a session and sees the invite code, copied to the clipboard', async () => {
        // (Before: Start Session asked for a name first. Now it starts at once with the display name, which
        // Collaborate > Change Display Name... sets; first-hour.e2e.spec covers the default name.)
        await setDisplayName(host, 'Alice');
        await host.runMenu('Collaborate', 'Start Session');

        const inviteDialog = host.dialog('collaboration-invite-dialog');
        await inviteDialog.waitFor({ state: 'visible', timeout: 30_000 });
        assert.strictEqual(await host.dialog('collaboration-name-dialog').count(), 0, 'no name is asked');
        inviteCode = await inviteDialog.locator('input.collaboration-invite-code').inputValue();
        assert.match(inviteCode, /^[A-Za-z0-9_-]{22,64}#[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{22}$/);
        const link = await inviteDialog.locator('input.collaboration-invite-link').inputValue();
        assert.ok(link.startsWith(`${suite.server!.url}/join/`) && link.endsWith(inviteCode.slice(inviteCode.indexOf('#'))), link);
        const clipboard = await host.page.evaluate(() => navigator.clipboard.readText());
        assert.strictEqual(clipboard, inviteCode);
        await host.screenshot('foundation-host-invite');
        await inviteDialog.locator('button.main').click();
        await inviteDialog.waitFor({ state: 'detached' });
        await host.waitForStatusBarText('collaboration-status', /Collaborating · 1 participant$/);
    });

    it('guest asks to join with the code and a name; the host allows read-write', async () => {
        await guest.runMenu('Collaborate', 'Join Session...');
        const joinDialog = guest.dialog('collaboration-join-dialog');
        await joinDialog.waitFor({ state: 'visible' });
        await joinDialog.locator('input.collaboration-join-invite').fill(inviteCode);
        await joinDialog.locator('input.collaboration-join-name').fill('Bob');
        await joinDialog.locator('button.main').click();
        await guest.waitForStatusBarText('collaboration-status', /Waiting for the host/);
        // The guest is told the fingerprint the host will see, to compare out of band.
        const waiting = await waitFor(async () => (await guest.notifications()).find(text => /Waiting for the host/.test(text)),
            15_000, 'the guest\'s waiting notification');
        const guestFingerprint = /([0-9A-F]{4}(?:-[0-9A-F]{4}){3})/.exec(waiting)?.[1];
        assert.ok(guestFingerprint, waiting);
        await guest.screenshot('foundation-guest-waiting');

        const request = host.dialog('collaboration-join-request-dialog');
        await request.waitFor({ state: 'visible', timeout: 30_000 });
        assert.strictEqual((await request.locator('.collaboration-join-request-name').textContent())?.trim(), 'Bob');
        assert.strictEqual((await request.locator('.collaboration-join-request-fingerprint').textContent())?.trim(), guestFingerprint);
        await host.screenshot('foundation-host-join-request');
        await request.locator('button.collaboration-allow-readwrite').click();
        await request.waitFor({ state: 'detached' });

        await host.waitForStatusBarText('collaboration-status', /Collaborating · 2 participants$/);
        await guest.waitForStatusBarText('collaboration-status', /Collaborating · 2 participants$/);
        await host.screenshot('foundation-host-connected');
        await guest.screenshot('foundation-guest-connected');
        // The waiting notification is gone once admitted.
        await waitFor(async () => !(await guest.notifications()).some(text => /Waiting for the host/.test(text)), 10_000,
            'the waiting notification to close');
    });

    it('the status bar item opens a quick menu listing the participants', async () => {
        await host.page.locator('#theia-statusBar .collaboration-status').click();
        const quickPick = host.page.locator('.quick-input-widget');
        await quickPick.waitFor({ state: 'visible' });
        const rows = quickPick.locator('.monaco-list-row');
        await waitFor(async () => (await rows.count()) >= 4, 10_000, 'the quick menu rows');
        const labels = (await rows.allTextContents()).join('\n');
        assert.match(labels, /Alice/);
        assert.match(labels, /Bob/);
        assert.match(labels, /End Session/);
        await host.screenshot('foundation-host-quick-menu');
        await host.page.keyboard.press('Escape');
        await quickPick.waitFor({ state: 'hidden' });
    });

    it('offers Leave to the guest and End to the host', async () => {
        assert.deepStrictEqual(await enabledSessionItems(guest), ['Leave Session']);
        assert.deepStrictEqual(await enabledSessionItems(host), ['End Session', 'Copy Invite', 'Show Invite...']);
    });

    it('guest leaves: the host counts one participant again', async () => {
        await leaveSession(guest);
        await host.waitForStatusBarText('collaboration-status', /Collaborating · 1 participant$/);
        await waitFor(async () => (await host.notifications()).find(text => /Bob left the session/.test(text)), 15_000, 'the host to be told Bob left');
        await endSession(host);
        await waitFor(async () => (await host.menuItems('Collaborate')).some(item => item.label === 'Start Session' && item.enabled),
            10_000, 'Start Session to be enabled again');
    });

    it('remembers names; a denied guest is told so and is back to idle', async () => {
        await host.runMenu('Collaborate', 'Start Session');
        // The host's name is remembered: straight to the invite.
        const inviteDialog = host.dialog('collaboration-invite-dialog');
        await inviteDialog.waitFor({ state: 'visible', timeout: 30_000 });
        const code = await inviteDialog.locator('input.collaboration-invite-code').inputValue();
        assert.notStrictEqual(code, inviteCode);
        await inviteDialog.locator('button.main').click();

        await guest.runMenu('Collaborate', 'Join Session...');
        const joinDialog = guest.dialog('collaboration-join-dialog');
        await joinDialog.waitFor({ state: 'visible' });
        assert.strictEqual(await joinDialog.locator('input.collaboration-join-name').inputValue(), 'Bob');
        await joinDialog.locator('input.collaboration-join-invite').fill(`Join me: ${code}`);
        await joinDialog.locator('button.main').click();

        const request = host.dialog('collaboration-join-request-dialog');
        await request.waitFor({ state: 'visible', timeout: 30_000 });
        await request.locator('button.collaboration-deny').click();
        await waitFor(async () => (await guest.notifications()).find(text => /declined/i.test(text)), 15_000, 'the guest to be told about the denial');
        await guest.waitForStatusBarText('collaboration-status', /Collaborate$/);
        assert.match(await host.statusBarText('collaboration-status'), /Collaborating · 1 participant$/);
        await guest.screenshot('foundation-guest-denied');
        await endSession(host);
    });
});
