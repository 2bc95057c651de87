import * as assert from 'assert';
import { Browser, Locator } from 'playwright-core';
import {
    launchBrowser, startCoordinationServer, startTheiaBackend, TestCoordinationServer, TheiaBackend, TheiaWindow, waitFor
} from './harness';

const editorOf = (window: TheiaWindow): Locator => window.page.locator('#theia-main-content-panel .monaco-editor').first();
/** The text of the (small) file shown in a window's editor: Monaco's line nodes, in the order of their `top`. */
const editorText = async (window: TheiaWindow): Promise<string> =>
    (await editorOf(window).locator('.view-lines').evaluate(container => [...container.querySelectorAll<HTMLElement>(':scope > .view-line')]
        .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top))
        .map(line => line.innerText)
        .join('\n'))).replace(/\u00a0/g, ' ');
const currentEditorTab = (window: TheiaWindow): Promise<string> =>
    window.page.locator('#theia-main-content-panel .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel').first().innerText();
const navigatorNode = (window: TheiaWindow, name: string): Locator =>
    window.page.locator('#files .theia-TreeNodeSegmentGrow').filter({ hasText: new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) });

/**
 * The guest's network goes away mid-typing (the browser goes offline for several seconds, longer than the
 * server's heartbeat allows) and comes back: the status bar says "Reconnecting…", then "Collaborating" again,
 * the guest is still the same participant, and both editors end with the same text, including everything
 * the guest typed while offline and everything the host typed meanwhile.
 */
describe('reconnecting (e2e)', function () {
    this.timeout(300_000);

    const INITIAL = 'export const marker = "INITIAL CONTENT";\nexport function greet(name: string) {\n    return name;\n}\n';
    let server: TestCoordinationServer | undefined;
    const backends: TheiaBackend[] = [];
    let browser: Browser | undefined;
    const windows: TheiaWindow[] = [];
    let host: TheiaWindow;
    let guest: TheiaWindow;

    before(async function () {
        this.timeout(180_000);
        // A short heartbeat, so that a few seconds offline are a dropped connection, on both sides.
        server = await startCoordinationServer({ pingIntervalMs: 1000, pingTimeoutMs: 1500 });
        const [hostBackend, guestBackend] = await Promise.all([
            startTheiaBackend({ name: 'reconnect-host', serverUrl: server.url, files: { 'src/shared.ts': INITIAL } }),
            startTheiaBackend({ name: 'reconnect-guest', serverUrl: server.url, files: { 'guest-only.txt': 'mine\n' } })
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
                await window.screenshot(`reconnect-failed-${window.name}`).catch(() => undefined);
                window.saveConsole(`reconnect-${window.name}-console.log`);
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

    async function showExplorer(window: TheiaWindow): Promise<void> {
        if (!await window.page.locator('#files').isVisible()) {
            await window.runMenu('View', 'Explorer');
            await window.page.locator('#files').waitFor({ state: 'visible' });
        }
    }

    async function openShared(window: TheiaWindow): Promise<void> {
        await showExplorer(window);
        await navigatorNode(window, 'src').waitFor({ state: 'visible', timeout: 20_000 });
        // A click toggles the folder; the tree may still be loading its children: try again until they show.
        await waitFor(async () => {
            if (await navigatorNode(window, 'shared.ts').isVisible()) {
                return true;
            }
            await navigatorNode(window, 'src').click();
            await navigatorNode(window, 'shared.ts').waitFor({ state: 'visible', timeout: 3000 }).catch(() => undefined);
            return await navigatorNode(window, 'shared.ts').isVisible() || undefined;
        }, 30_000, `${window.name}: shared.ts in the navigator`);
        await navigatorNode(window, 'shared.ts').dblclick();
        await waitFor(async () => (await currentEditorTab(window)).trim() === 'shared.ts', 20_000, `${window.name}: shared.ts in the editor`);
        await waitFor(async () => (await editorText(window)).includes('INITIAL CONTENT'), 20_000, `${window.name}: the file content`);
    }

    it('the guest goes offline mid-typing and comes back; both editors end identical, nothing lost', async () => {
        for (const window of [host, guest]) {
            await showExplorer(window);
        }
        await host.runMenu('Collaborate', 'Start Session');
        const nameDialog = host.dialog('collaboration-name-dialog');
        await nameDialog.waitFor({ state: 'visible' });
        await nameDialog.locator('input.collaboration-name-input').fill('Alice');
        await nameDialog.locator('button.main').click();
        const inviteDialog = host.dialog('collaboration-invite-dialog');
        await inviteDialog.waitFor({ state: 'visible', timeout: 30_000 });
        const inviteCode = await inviteDialog.locator('input.collaboration-invite-code').inputValue();
        await inviteDialog.locator('button.main').click();
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

        await openShared(host);
        await openShared(guest);
        for (const window of [host, guest]) {
            await editorOf(window).locator('.view-lines').click();
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
