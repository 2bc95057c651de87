import * as assert from 'assert';
import {
    activeEditor, e2eSuite, editorText, endSession, goToDefinition, hoverText, IDE_FILES, languageMode, leaveSession, navigatorNode,
    openSharedFile, showExplorer, startCollaboration, TheiaWindow, token, tokenColours, waitFor
} from './harness';

/**
 * The host's real language server for a guest: the host runs typescript-language-server (plugins/), the
 * guest's editor of the shared `src/main.ts` gets its hover and its go to definition across files through the
 * collaboration session.
 */
describe('a real IDE for a guest (e2e)', function () {
    this.timeout(300_000);

    const suite = e2eSuite('ide-guest');
    let host: TheiaWindow;
    let guest: TheiaWindow;

    before(async function () {
        this.timeout(180_000);
        ({ host, guest } = await suite.setUp(async () => {
            const [hostBackend, guestBackend] = await suite.start([
                { name: 'ide-guest-host', files: IDE_FILES, plugins: true },
                { name: 'ide-guest-guest', files: { 'guest-only.txt': 'mine\n' }, plugins: true }
            ]);
            return { host: await suite.open(hostBackend, 'host'), guest: await suite.open(guestBackend, 'guest') };
        }));
    });

    it('the guest joins and opens the host\'s main.ts, highlighted as TypeScript', async () => {
        for (const window of [host, guest]) {
            await showExplorer(window);
        }
        await waitFor(async () => navigatorNode(guest, 'guest-only.txt').isVisible(), 30_000, 'the guest\'s own workspace');
        await startCollaboration(host, guest, { permission: 'readwrite' });
        await waitFor(async () => navigatorNode(guest, 'src').isVisible(), 30_000, 'the host\'s files in the guest\'s navigator');
        // The host has the file open too, so its language server knows it.
        await openSharedFile(host, 'main.ts', /addNumbers\(3, 4\)/);
        const editor = await openSharedFile(guest, 'main.ts', /addNumbers\(3, 4\)/);
        await waitFor(async () => await languageMode(guest) === 'TypeScript', 30_000, 'the guest\'s language mode TypeScript');
        await waitFor(async () => (await tokenColours(editor)).length >= 4, 60_000, 'several token colours in the guest\'s main.ts');
    });

    it('hover in the guest\'s editor shows the type from the host\'s language server', async () => {
        const editor = activeEditor(guest);
        const text = await hoverText(guest, token(editor, 'total', 'addNumbers'), /addNumbers\(a: number, b: number\): number/, 90_000);
        await new Promise(resolve => setTimeout(resolve, 500));
        await guest.screenshot('ide-guest-hover');
        assert.match(text, /Adds two numbers/);
        await guest.page.keyboard.press('Escape');
    });

    it('F12 in the guest\'s editor opens the definition in the host\'s other file', async () => {
        const editor = activeEditor(guest);
        await goToDefinition(guest, token(editor, 'total', 'addNumbers'), 'math.ts', 90_000);
        await waitFor(async () => /export function addNumbers/.test(await editorText(guest)), 20_000, 'math.ts in the guest\'s editor');
        await guest.screenshot('ide-guest-definition');
    });

    it('the guest leaves and the host ends the session', async () => {
        await leaveSession(guest);
        await endSession(host);
    });
});
