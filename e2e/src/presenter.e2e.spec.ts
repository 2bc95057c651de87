import * as assert from 'assert';
import {
    activeEditor, clickNotificationAction, closeMenus, currentEditorTab, e2eSuite, editorText, menuEntries, openFile, openMenu, pickQuickItem,
    quickPickRows, showParticipants, startSharedWorkspace, TheiaWindow, waitFor
} from './harness';

const PARTICIPANTS_MENU = ['Collaborate', 'Participants'] as const;

/** The labels of the enabled items of Collaborate > Participants ([] when the submenu is not shown). */
async function participantActions(window: TheiaWindow): Promise<string[]> {
    return (await menuEntries(window, ...PARTICIPANTS_MENU)).filter(item => item.enabled).map(item => item.label);
}

/**
 * Presenting and participant actions from the Collaborate menu, end to end: Alice hosts, Bob joins read-write.
 * The Participants submenu shows only in a session and host actions only to the host. Alice presents and
 * Bob's editor follows her from file to file until she stops; Alice offers Bob the presenter role, Bob
 * accepts and Alice's editor follows his until he stops; Alice makes Bob read-only and then removes him,
 * each time picking him in a quick pick.
 */
describe('presenter mode and participant actions from the Collaborate menu (e2e)', function () {
    this.timeout(300_000);

    const suite = e2eSuite('presenter');
    let host: TheiaWindow;
    let guest: TheiaWindow;

    const following = (window: TheiaWindow) => window.page.locator('#theia-statusBar .collaboration-following');

    async function waitForTab(window: TheiaWindow, name: string, text: string): Promise<void> {
        await waitFor(async () => await currentEditorTab(window) === name, 20_000, `${window.name}: its editor to follow to ${name}`);
        await waitFor(async () => (await editorText(window)).includes(text), 20_000, `${window.name}: the text of ${name}`);
    }

    async function notFollowing(window: TheiaWindow): Promise<void> {
        await waitFor(async () => await following(window).count() === 0, 15_000, `${window.name}: following to stop`);
    }

    before(async function () {
        this.timeout(200_000);
        ({ host, guest } = await suite.startHostAndGuest('presenter', {
            'src/intro.ts': 'export const intro = "INTRO";\n',
            'src/second.ts': 'export const second = "SECOND";\n',
            'src/third.ts': 'export const third = "THIRD";\n',
            'README.md': '# Presenting\n'
        }));
    });

    it('Collaborate > Participants shows only in a session, host actions only to the host', async () => {
        for (const window of [host, guest]) {
            assert.deepStrictEqual(await menuEntries(window, ...PARTICIPANTS_MENU), [], `${window.name}: no Participants submenu while idle`);
        }
        await startSharedWorkspace(host, guest, { guestEntry: 'guest-only.txt', hostEntries: ['src', 'README.md'] });

        assert.deepStrictEqual(await participantActions(host), [
            'Follow Participant...', 'Start Presenting', 'Offer Presenter Role...', 'Focus Participants (Everyone Follows Me)',
            'Change Participant Permission...', 'Remove Participant...'
        ]);
        // (Before: guests were offered 'Offer Presenter Role...' and 'Focus Participants' too; those are now the host's
        // and the presenter's, and hidden from other guests, in this menu and in the Participants view.)
        assert.deepStrictEqual(await participantActions(guest), ['Follow Participant...']);
        await showParticipants(guest);
        assert.strictEqual(await guest.page.locator('.collab-participants .collab-focus-participants').count(), 0, 'guest: no Focus Participants button');
        assert.strictEqual(await guest.page.locator('.collab-participants .collab-offer-presenter').count(), 0, 'guest: no Offer Presenter');
        await showParticipants(host);
        await host.page.locator('.collab-participants .collab-focus-participants').waitFor({ state: 'visible' });
        assert.strictEqual(await host.page.locator('.collab-participant[data-peer-name="Bob"] .collab-offer-presenter').count(), 1, 'host: Offer Presenter on Bob');
        await guest.screenshot('presenter-guest-participants-view');
        await openMenu(host, ...PARTICIPANTS_MENU);
        await host.screenshot('presenter-host-participants-menu');
        await closeMenus(host);
    });

    it('Alice presents from the menu; Bob\'s editor follows her to another file until she stops', async () => {
        await openFile(host, 'intro.ts');
        await host.runMenu(...PARTICIPANTS_MENU, 'Start Presenting');

        await guest.waitForStatusBarText('collaboration-following', /Following Alice/);
        await waitFor(async () => (await guest.notifications()).find(text => /Alice asked everyone to follow them/.test(text)), 15_000,
            'guest: the notification that Alice presents');
        await waitForTab(guest, 'intro.ts', 'INTRO');
        await showParticipants(guest);
        await guest.page.locator('.collab-participant[data-peer-name="Alice"] .collab-participant-badge.presenter').waitFor({ state: 'visible', timeout: 15_000 });

        await openFile(host, 'second.ts');
        await waitForTab(guest, 'second.ts', 'SECOND');
        await guest.screenshot('presenter-guest-follows-host');

        // Presenting: the host may stop, the guest may stop following but not end Alice's presentation.
        const hostActions = await participantActions(host);
        assert.ok(hostActions.includes('Stop Presenting') && !hostActions.includes('Start Presenting'), hostActions.join(', '));
        const guestActions = await participantActions(guest);
        assert.ok(guestActions.includes('Stop Following') && !guestActions.includes('Stop Presenting'), guestActions.join(', '));

        await host.runMenu(...PARTICIPANTS_MENU, 'Stop Presenting');
        await notFollowing(guest);
        await waitFor(async () => await guest.page.locator('.collab-participant-badge.presenter').count() === 0, 15_000, 'guest: no presenter badge');
        await openFile(host, 'third.ts');
        await new Promise(resolve => setTimeout(resolve, 2000));
        assert.strictEqual(await currentEditorTab(guest), 'second.ts', 'the guest stays where it is once Alice stopped presenting');
        await guest.screenshot('presenter-guest-stopped-following');
    });

    it('Alice offers Bob the presenter role from the menu, Bob accepts; Alice\'s editor follows his until he stops', async () => {
        await host.runMenu(...PARTICIPANTS_MENU, 'Offer Presenter Role...');
        // The participant is asked for with a quick pick (everyone but oneself).
        const rows = await quickPickRows(host);
        assert.strictEqual(rows.length, 1, rows.join(' | '));
        assert.match(rows[0], /Bob/);
        await pickQuickItem(host, /Bob/);

        await clickNotificationAction(guest, /Alice offers you the presenter role/, 'Accept');
        await host.waitForStatusBarText('collaboration-following', /Following Bob/);
        await waitForTab(host, 'second.ts', 'SECOND');
        await openFile(guest, 'intro.ts');
        await waitForTab(host, 'intro.ts', 'INTRO');
        await host.screenshot('presenter-host-follows-guest');

        const guestActions = await participantActions(guest);
        assert.ok(guestActions.includes('Stop Presenting'), guestActions.join(', '));
        await guest.runMenu(...PARTICIPANTS_MENU, 'Stop Presenting');
        await notFollowing(host);
        await openFile(guest, 'third.ts');
        await new Promise(resolve => setTimeout(resolve, 2000));
        assert.strictEqual(await currentEditorTab(host), 'intro.ts', 'the host stays where it is once Bob stopped presenting');
    });

    it('Alice makes Bob read-only from the menu; Bob\'s participants view and status menu say so', async () => {
        await host.runMenu(...PARTICIPANTS_MENU, 'Change Participant Permission...');
        await pickQuickItem(host, /Bob/);
        await pickQuickItem(host, /Read-Only/);
        await host.page.locator('.quick-input-widget').waitFor({ state: 'hidden' });

        await showParticipants(guest);
        const bob = guest.page.locator('.collab-participant[data-peer-name="Bob"] .collab-participant-permission');
        await waitFor(async () => /read-only/.test(await bob.innerText()), 15_000, 'guest: read-only in the participants view');
        await guest.screenshot('presenter-guest-read-only');
        await showParticipants(host);
        const bobAtHost = host.page.locator('.collab-participant[data-peer-name="Bob"] .collab-participant-permission');
        await waitFor(async () => /read-only/.test(await bobAtHost.innerText()), 15_000, 'host: read-only in the participants view');

        await guest.page.locator('#theia-statusBar .collaboration-status').click();
        const rows = await quickPickRows(guest);
        assert.ok(rows.some(row => /Bob/.test(row) && /you/.test(row) && /read-only/.test(row)), rows.join(' | '));
        await guest.page.keyboard.press('Escape');
        await guest.page.locator('.quick-input-widget').waitFor({ state: 'hidden' });

        // The guest's editor refuses typing now.
        const before = await editorText(guest);
        await activeEditor(guest).locator('.view-lines').click();
        await guest.page.keyboard.press('Control+End');
        await guest.page.keyboard.type('x');
        await guest.page.locator('.monaco-editor-overlaymessage').waitFor({ state: 'visible', timeout: 15_000 });
        assert.strictEqual(await editorText(guest), before);
    });

    it('Alice removes Bob from the menu; his window is out of the session and the submenu is gone', async () => {
        await host.runMenu(...PARTICIPANTS_MENU, 'Remove Participant...');
        await pickQuickItem(host, /Bob/);
        await guest.waitForStatusBarText('collaboration-status', /Collaborate$/);
        await host.waitForStatusBarText('collaboration-status', /Collaborating · 1 participant$/);
        assert.deepStrictEqual(await menuEntries(guest, ...PARTICIPANTS_MENU), []);
        // Without guests the host has nobody to follow, present to or manage.
        assert.deepStrictEqual(await menuEntries(host, ...PARTICIPANTS_MENU), []);
        await host.screenshot('presenter-host-after-remove');
    });
});
