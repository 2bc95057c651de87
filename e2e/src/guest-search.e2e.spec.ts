import * as assert from 'assert';
import { activeEditor, e2eSuite, editorText, endSession, leaveSession, quickPickRows, startSharedWorkspace, TheiaWindow, waitFor } from './harness';

const NEEDLE = 'needle4e2e';

/**
 * Guests search the host: the guest's Quick Open (Ctrl+P) lists the host's files and opens them; its Find in
 * Files shows matches in the host's files, never in the host's `.env`.
 */
describe('guests search the host (e2e)', function () {
    this.timeout(300_000);

    const suite = e2eSuite('guest-search');
    let host: TheiaWindow;
    let guest: TheiaWindow;

    before(async function () {
        this.timeout(180_000);
        ({ host, guest } = await suite.setUp(() => suite.startHostAndGuest('guest-search', {
            'README.md': '# Host workspace\n',
            'src/server-main.ts': `export const greeting = '${NEEDLE}';\n`,
            'src/other.ts': `// ${NEEDLE} twice ${NEEDLE}\n`,
            '.env': `SECRET=${NEEDLE}\n`
        })));
        await startSharedWorkspace(host, guest, { guestEntry: 'guest-only.txt', hostEntries: ['README.md', 'src'] });
    });

    it('the guest\'s Ctrl+P finds a host file and opens it', async () => {
        await guest.page.locator('#theia-app-shell').click({ position: { x: 600, y: 300 } }).catch(() => undefined);
        await guest.page.keyboard.press('Control+P');
        const input = guest.page.locator('.quick-input-widget input');
        await input.waitFor({ state: 'visible', timeout: 15_000 });
        await input.fill('server-main');
        const rows = await waitFor(async () => {
            const shown = await quickPickRows(guest).catch(() => []);
            return shown.some(row => /server-main\.ts/.test(row)) ? shown : undefined;
        }, 30_000, 'server-main.ts in the guest\'s Quick Open');
        await guest.screenshot('guest-search-quick-open');
        assert.ok(rows.some(row => /server-main\.ts/.test(row)), rows.join(' | '));
        await guest.page.keyboard.press('Enter');
        await activeEditor(guest).waitFor({ state: 'visible', timeout: 20_000 });
        await waitFor(async () => (await editorText(guest)).includes(NEEDLE), 20_000, 'the host\'s file in the guest\'s editor');

        await guest.page.keyboard.press('Control+P');
        await input.fill('.env');
        await new Promise(resolve => setTimeout(resolve, 3000));
        const envRows = (await guest.page.locator('.quick-input-widget .monaco-list-row').allInnerTexts()).map(text => text.replace(/\s+/g, ' '));
        assert.ok(!envRows.some(row => /\.env\b/.test(row)), `no .env in Quick Open: ${envRows.join(' | ')}`);
        await guest.page.keyboard.press('Escape');
    });

    it('the guest\'s Find in Files shows matches in the host\'s files, never .env', async () => {
        await guest.page.keyboard.press('Control+Shift+F');
        const input = guest.page.locator('#search-input-field');
        await input.waitFor({ state: 'visible', timeout: 20_000 });
        await input.fill(NEEDLE);
        await input.press('Enter');
        const view = guest.page.locator('#search-in-workspace');
        await waitFor(async () => await view.locator('.resultLine').count() >= 3, 30_000, 'three matches in the guest\'s Search view');
        const files = (await view.locator('.file-name').allInnerTexts()).map(text => text.trim());
        await guest.screenshot('guest-search-find-in-files');
        assert.ok(files.includes('server-main.ts') && files.includes('other.ts'), files.join(', '));
        assert.ok(!files.some(name => name.includes('.env')), `no .env: ${files.join(', ')}`);
        assert.strictEqual(await view.locator('.resultLine').count(), 3);
    });

    it('the guest leaves and the host ends the session', async () => {
        await leaveSession(guest);
        await endSession(host);
    });
});
