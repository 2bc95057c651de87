import * as assert from 'assert';
import { Locator } from 'playwright-core';
import {
    activeEditor, e2eSuite, endSession, leaveSession, navigatorNode, openSharedFile, showExplorer, startCollaboration, TheiaWindow, waitFor
} from './harness';

/**
 * The host's language services for a guest, end to end. This app has no language extensions (no plugin host,
 * and Monaco's TypeScript worker is not part of @theia/monaco-editor-core), so the completion provider that
 * exists is Monaco's word-based one, which on the host draws on every model of the same language, including
 * files the guest never opened. The guest, typing in the shared `src/app.ts`, must see exactly the host's
 * completion labels, among them a word only the host's other file has.
 */
describe('language services (e2e)', function () {
    this.timeout(300_000);

    const suite = e2eSuite('language');
    let host: TheiaWindow;
    let guest: TheiaWindow;

    /** Ctrl+Space at the end of the editor's text; the labels the suggest widget lists. */
    async function completionLabels(window: TheiaWindow, editor: Locator, expected: string): Promise<string[]> {
        await editor.locator('.view-lines').click();
        await window.page.keyboard.press('Control+End');
        await window.page.keyboard.press('Escape');
        await window.page.keyboard.press('Control+Space');
        const widget = window.page.locator('.suggest-widget.visible');
        return waitFor(async () => {
            const labels = (await widget.locator('.monaco-list-row .label-name').allTextContents()).map(label => label.trim()).filter(Boolean);
            return labels.includes(expected) ? labels.sort() : undefined;
        }, 20_000, `${window.name}: '${expected}' among the completions`);
    }

    before(async function () {
        this.timeout(180_000);
        ({ host, guest } = await suite.startHostAndGuest('language', {
            'src/app.ts': 'export function hostHelper(greeting: string) {\n    return greeting;\n}\n',
            'src/other.ts': 'export const hostOnlyIdentifier = 42;\nexport const hostileTakeover = false;\n'
        }));
    });

    it('the guest joins and opens a host file; the host has another file open', async () => {
        for (const window of [host, guest]) {
            await showExplorer(window);
        }
        await waitFor(async () => navigatorNode(guest, 'guest-only.txt').isVisible(), 30_000, 'the guest\'s own workspace');
        await startCollaboration(host, guest, { permission: 'readwrite' });

        await waitFor(async () => navigatorNode(guest, 'src').isVisible(), 30_000, 'the host\'s files in the guest\'s navigator');
        // Opened once the session is up: the host's editors are bound to the shared documents as they open.
        await openSharedFile(host, 'other.ts', /hostOnlyIdentifier/);
        await openSharedFile(host, 'app.ts', /hostHelper/);
        await openSharedFile(guest, 'app.ts', /hostHelper/);
    });

    it('the guest\'s completion comes from the host and lists the same labels as the host\'s own', async () => {
        const guestEditor = activeEditor(guest);
        await guestEditor.locator('.view-lines').click();
        await guest.page.keyboard.press('Control+End');
        await guest.page.keyboard.type('host');
        await guest.page.keyboard.press('Escape');
        const hostEditor = activeEditor(host);
        // The co-edited text reaches the host's editor.
        await waitFor(async () => /^host$/m.test(await hostEditor.locator('.view-lines').innerText()), 20_000, 'the guest\'s typing on the host');

        const guestLabels = await completionLabels(guest, guestEditor, 'hostOnlyIdentifier');
        await guest.screenshot('language-guest-completion');
        await guest.page.keyboard.press('Escape');
        const hostLabels = await completionLabels(host, hostEditor, 'hostOnlyIdentifier');
        await host.screenshot('language-host-completion');
        await host.page.keyboard.press('Escape');
        const languageMode = (await guest.page.locator('#theia-statusBar').innerText()).replace(/\s+/g, ' ');
        console.log(`      guest completions: ${guestLabels.join(', ')}; host completions: ${hostLabels.join(', ')}; guest status bar: ${languageMode}`);
        assert.deepStrictEqual(guestLabels, hostLabels);
        assert.ok(guestLabels.includes('hostileTakeover') && guestLabels.includes('hostHelper'), `${guestLabels}`);
    });

    it('the guest leaves and the host ends the session', async () => {
        await leaveSession(guest);
        await endSession(host);
    });
});
