import * as assert from 'assert';
import * as fs from 'fs';
import {
    activeEditor, e2eSuite, editorText, endSession, IDE_FILES, languageMode, leaveSession, navigatorNode, openFile, openSharedFile,
    showExplorer, startCollaboration, suggestions, TheiaWindow, token, waitFor
} from './harness';

/**
 * The host's real TypeScript language server for a guest's rename and completion: a read-write guest's F2 on a
 * function used in two files renames it in both of the host's files (its editors and its disk); a read-only
 * guest's F2 is refused with a message and changes nothing; Ctrl+Space lists members from the language server.
 */
describe('rename and completion for guests (e2e)', function () {
    this.timeout(300_000);

    const suite = e2eSuite('ide-guest-language');
    let host: TheiaWindow;
    let guest: TheiaWindow;

    const hostDisk = (relative: string) => fs.readFileSync(suite.hostFile(relative), 'utf8');

    before(async function () {
        this.timeout(180_000);
        ({ host, guest } = await suite.setUp(async () => {
            const [hostBackend, guestBackend] = await suite.start([
                { name: 'ide-language-host', files: IDE_FILES, plugins: true },
                { name: 'ide-language-guest', files: { 'guest-only.txt': 'mine\n' }, plugins: true }
            ]);
            return { host: await suite.open(hostBackend, 'host'), guest: await suite.open(guestBackend, 'guest') };
        }));
    });

    async function join(permission: 'readwrite' | 'readonly'): Promise<void> {
        for (const window of [host, guest]) {
            await showExplorer(window);
        }
        await startCollaboration(host, guest, { permission });
        await waitFor(async () => navigatorNode(guest, 'src').isVisible(), 30_000, 'the host\'s files in the guest\'s navigator');
    }

    /** F2 on `target`, the new name typed into Monaco's rename box, Enter. */
    async function renameWithF2(window: TheiaWindow, target: ReturnType<typeof token>, newName: string): Promise<void> {
        const box = window.page.locator('.rename-box input').first();
        await waitFor(async () => {
            await target.click();
            await window.page.keyboard.press('F2');
            await box.waitFor({ state: 'visible', timeout: 3000 }).catch(() => undefined);
            return await box.isVisible() || undefined;
        }, 60_000, `${window.name}: the rename box after F2`, 1000);
        await box.fill(newName);
        await box.press('Enter');
    }

    it('a read-write guest\'s F2 renames a function in both of the host\'s files, in its editors and on its disk', async () => {
        await join('readwrite');
        await openSharedFile(host, 'main.ts', /addNumbers\(3, 4\)/);
        await openSharedFile(guest, 'main.ts', /addNumbers\(3, 4\)/);
        // Renamed where it is declared (at an import, TypeScript renames only the importing file's name, with an alias).
        const editor = await openSharedFile(guest, 'math.ts', /export function addNumbers/);
        await waitFor(async () => await languageMode(guest) === 'TypeScript', 30_000, 'the guest\'s language mode TypeScript');

        await renameWithF2(guest, token(editor, 'export function', 'addNumbers'), 'sumNumbers');
        await waitFor(async () => /sumNumbers\(3, 4\)/.test(hostDisk('src/main.ts')) && /export function sumNumbers/.test(hostDisk('src/math.ts')),
            60_000, 'both files renamed on the host\'s disk').catch(error => {
            throw new Error(`${error.message} (main.ts: ${hostDisk('src/main.ts')}; math.ts: ${hostDisk('src/math.ts')})`);
        });
        assert.ok(!/addNumbers/.test(hostDisk('src/main.ts')), hostDisk('src/main.ts'));
        assert.ok(!/addNumbers/.test(hostDisk('src/math.ts')), hostDisk('src/math.ts'));
        // The guest's editor and the host's editors show it too.
        await waitFor(async () => /export function sumNumbers/.test(await editorText(guest)), 20_000, 'the rename in the guest\'s math.ts');
        await openFile(guest, 'main.ts');
        await waitFor(async () => /sumNumbers\(3, 4\)/.test(await editorText(guest)), 20_000, 'the rename in the guest\'s main.ts');
        await guest.screenshot('ide-guest-rename-guest');
        await waitFor(async () => /sumNumbers\(3, 4\)/.test(await editorText(host)), 20_000, 'the rename in the host\'s main.ts editor');
        await openFile(host, 'math.ts');
        await waitFor(async () => /export function sumNumbers/.test(await editorText(host)), 20_000, 'the rename in the host\'s math.ts editor');
        await host.screenshot('ide-guest-rename-host');
    });

    it('the guest\'s Ctrl+Space lists a member from the host\'s language server', async () => {
        await openFile(guest, 'main.ts');
        const editor = activeEditor(guest);
        await editor.locator('.view-lines > .view-line').filter({ hasText: 'console.log' }).first().click();
        await guest.page.keyboard.press('End');
        await guest.page.keyboard.press('Enter');
        await guest.page.keyboard.type('total.to');
        const labels = await waitFor(async () => {
            let shown = await suggestions(guest);
            if (!shown.some(label => /^toFixed\b/.test(label))) {
                await guest.page.keyboard.press('Control+Space');
                await new Promise(resolve => setTimeout(resolve, 1500));
                shown = await suggestions(guest);
            }
            return shown.some(label => /^toFixed\b/.test(label)) ? shown : undefined;
        }, 60_000, 'toFixed (a member of number) in the guest\'s completion list');
        await guest.screenshot('ide-guest-completion');
        assert.ok(labels.some(label => /^toPrecision\b/.test(label)), labels.join(', '));
        console.log(`      completion: ${labels.slice(0, 6).join(', ')}`);
        await guest.page.keyboard.press('Escape');
        // Take the typed line out again.
        for (let i = 0; i < 3; i++) {
            await guest.page.keyboard.press('Control+Z');
        }
        await waitFor(async () => !/total\.to/.test(await editorText(guest)), 10_000, 'the typed line undone');
    });

    it('a read-only guest\'s F2 is refused with a message and changes nothing', async () => {
        await leaveSession(guest);
        await endSession(host);
        const mainBefore = hostDisk('src/main.ts');
        const mathBefore = hostDisk('src/math.ts');
        await join('readonly');
        const editor = await openSharedFile(guest, 'main.ts', /sumNumbers\(3, 4\)/);
        const message = await waitFor(async () => {
            await token(editor, 'total', 'sumNumbers').click();
            await guest.page.keyboard.press('F2');
            const shown = await guest.page.locator('.theia-notification-message').filter({ hasText: /rename/i }).allInnerTexts().catch(() => []);
            return shown.find(text => /read-only/i.test(text));
        }, 30_000, 'a notification that the read-only guest cannot rename', 1500);
        assert.match(message, /read-only/i);
        assert.strictEqual(await guest.page.locator('.rename-box input').isVisible(), false, 'no rename box for a read-only guest');
        await guest.screenshot('ide-guest-rename-readonly');
        await new Promise(resolve => setTimeout(resolve, 2000));
        assert.strictEqual(hostDisk('src/main.ts'), mainBefore);
        assert.strictEqual(hostDisk('src/math.ts'), mathBefore);
        assert.match(await editorText(guest), /sumNumbers\(3, 4\)/);
        console.log(`      read-only guest: ${message}`);
    });

    it('the guest leaves and the host ends the session', async () => {
        await leaveSession(guest);
        await endSession(host);
    });
});
