import * as assert from 'assert';
import { e2eSuite, pickQuickItem, quickPickRows, startCollaboration, TheiaWindow, waitFor } from './harness';

/** Runs `label` from the command palette (F1), picking the row that shows it. */
async function runCommand(window: TheiaWindow, label: string): Promise<void> {
    const widget = window.page.locator('.quick-input-widget');
    await window.page.keyboard.press('F1');
    await widget.waitFor({ state: 'visible' });
    await window.page.keyboard.type(label);
    await widget.locator('.monaco-list-row').filter({ hasText: label }).first().click();
}

/** Answers the open quick input once it shows `prompt`: types `text` and presses Enter. */
async function answer(window: TheiaWindow, prompt: RegExp, text: string): Promise<void> {
    const widget = window.page.locator('.quick-input-widget');
    await widget.filter({ hasText: prompt }).waitFor({ state: 'visible', timeout: 15_000 });
    const input = widget.locator('input.input').first();
    await input.fill(text);
    await input.press('Enter');
}

/**
 * The example extension (examples/collab-poll) in the app, end to end: Alice hosts, Bob joins read-write.
 * Alice runs "Collaboration: Start Poll..." from the command palette (a question, then the options), Bob runs
 * "Collaboration: Vote..." and picks an option; both status bars show the same counts, and Alice's vote too.
 */
describe('example poll extension (e2e)', function () {
    this.timeout(300_000);

    const suite = e2eSuite('example-poll');
    let host: TheiaWindow;
    let guest: TheiaWindow;

    const POLL = 'example-poll-status';

    before(async function () {
        this.timeout(200_000);
        ({ host, guest } = await suite.startHostAndGuest('example-poll', { 'README.md': '# Poll\n' }));
        await suite.setUp(() => startCollaboration(host, guest));
    });

    it('the host starts a poll from the command palette, the guest votes, both see the result', async () => {
        await runCommand(host, 'Collaboration: Start Poll...');
        await answer(host, /The question to vote on/, 'Tabs or spaces?');
        await answer(host, /Option 1/, 'Tabs');
        await answer(host, /Option 2/, 'Spaces');
        await answer(host, /Option 3 \(leave empty to start the poll\)/, '');
        await host.page.locator('.quick-input-widget').waitFor({ state: 'hidden' });

        await host.waitForStatusBarText(POLL, /Tabs or spaces\? Tabs 0 · Spaces 0$/);
        await guest.waitForStatusBarText(POLL, /Tabs or spaces\? Tabs 0 · Spaces 0$/);
        await waitFor(async () => (await guest.notifications()).find(text => /New poll: Tabs or spaces\?/.test(text)), 15_000,
            'guest: the notification of the new poll');

        await runCommand(guest, 'Collaboration: Vote...');
        const rows = await quickPickRows(guest);
        assert.strictEqual(rows.length, 2, rows.join(' | '));
        assert.match(rows[0], /Tabs/);
        assert.match(rows[1], /Spaces/);
        await pickQuickItem(guest, /Tabs/);

        await guest.waitForStatusBarText(POLL, /Tabs 1 · Spaces 0$/);
        await host.waitForStatusBarText(POLL, /Tabs 1 · Spaces 0$/);
        await waitFor(async () => (await guest.notifications()).find(text => /You voted for Tabs/.test(text)), 15_000, 'guest: its vote confirmed');

        // Voting again counts once: the host refuses and the counts stay.
        await runCommand(guest, 'Collaboration: Vote...');
        await pickQuickItem(guest, /Spaces/);
        await waitFor(async () => (await guest.notifications()).find(text => /already voted/.test(text)), 15_000, 'guest: the second vote refused');

        await runCommand(host, 'Collaboration: Vote...');
        await pickQuickItem(host, /Spaces/);
        await host.waitForStatusBarText(POLL, /Tabs 1 · Spaces 1$/);
        await guest.waitForStatusBarText(POLL, /Tabs 1 · Spaces 1$/);
        await host.screenshot('example-poll-host');
        await guest.screenshot('example-poll-guest');
    });
});
