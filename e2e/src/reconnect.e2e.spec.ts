import * as assert from 'assert';
import { activeEditor, e2eSuite, editorText, openSharedFile, startSharedWorkspace, TheiaWindow, waitFor } from './harness';

/**
 * The guest's network goes away mid-typing (the browser goes offline for several seconds, longer than the
 * server's heartbeat allows) and comes back: the status bar says "Reconnecting…", then "Collaborating" again,
 * the guest is still the same participant, and both editors end with the same text, including everything
 * the guest typed while offline and everything the host typed meanwhile.
 */
describe('reconnecting (e2e)', function () {
    this.timeout(300_000);

    const INITIAL = 'export const marker = "INITIAL CONTENT";\nexport function greet(name: string) {\n    return name;\n}\n';
    const suite = e2eSuite('reconnect');
    let host: TheiaWindow;
    let guest: TheiaWindow;

    before(async function () {
        this.timeout(180_000);
        // A short heartbeat, so that a few seconds offline are a dropped connection, on both sides.
        ({ host, guest } = await suite.startHostAndGuest('reconnect', { 'src/shared.ts': INITIAL }, { pingIntervalMs: 1000, pingTimeoutMs: 1500 }));
    });

    it('the guest goes offline mid-typing and comes back; both editors end identical, nothing lost', async () => {
        await startSharedWorkspace(host, guest, { guestEntry: 'guest-only.txt', hostEntries: ['src'] });
        await openSharedFile(host, 'shared.ts', /INITIAL CONTENT/);
        await openSharedFile(guest, 'shared.ts', /INITIAL CONTENT/);
        for (const window of [host, guest]) {
            await activeEditor(window).locator('.view-lines').click();
            await window.page.keyboard.press('Control+Home');
            await window.page.keyboard.press('ArrowDown');
            await window.page.keyboard.press('End');
        }
        await guest.page.keyboard.press('Control+End');

        const hostWords = [' /* alice one */', ' /* alice two */', ' /* alice three */'];
        const guestOnline = '// bob before ';
        const guestOffline = 'bob-typed-while-offline ';
        const guestBack = 'bob-after-coming-back';
        const hostTyping = (async () => {
            for (const words of hostWords) {
                await host.page.keyboard.type(words, { delay: 60 });
                await new Promise(resolve => setTimeout(resolve, 1500));
            }
        })();
        await guest.page.keyboard.type(guestOnline, { delay: 40 });
        await guest.context.setOffline(true);
        await guest.page.keyboard.type(guestOffline, { delay: 60 });
        await guest.waitForStatusBarText('collaboration-status', /Reconnecting/, 20_000);
        await guest.screenshot('reconnect-guest-reconnecting');
        await new Promise(resolve => setTimeout(resolve, 1000));
        await guest.context.setOffline(false);
        await guest.waitForStatusBarText('collaboration-status', /Collaborating · 2 participants$/, 30_000);
        await guest.page.keyboard.type(guestBack, { delay: 40 });
        await hostTyping;

        const final = await waitFor(async () => {
            const [hostText, guestText] = await Promise.all([editorText(host), editorText(guest)]);
            return hostText === guestText && hostText.includes(guestBack) && hostText.includes(hostWords[2].trim()) ? hostText : undefined;
        }, 30_000, 'both editors to show the same text');
        for (const words of [...hostWords, guestOnline, guestOffline, guestBack]) {
            assert.ok(final.includes(words.trim()), `'${words.trim()}' is there:\n${final}`);
        }
        assert.strictEqual(final.split('INITIAL CONTENT').length - 1, 1, `the initial content once:\n${final}`);
        await host.waitForStatusBarText('collaboration-status', /Collaborating · 2 participants$/);
        const notices = [...await host.notifications(), ...await guest.notifications()];
        assert.ok(!notices.some(text => /ended|removed|Lost the connection/i.test(text)), `no session-ended notice: ${notices.join(' | ')}`);
        await guest.screenshot('reconnect-guest-back');
    });
});
