import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import {
    activeEditor, e2eSuite, editorText, navigatorNames, navigatorNode, openSharedFile, showExplorer, startSharedWorkspace, TheiaWindow, waitFor
} from './harness';
import { openWorkspace, workspaceFileContent } from './harness/workspace-file';

/**
 * A multi-root workspace, end to end: the host opens a `.theia-workspace` with two folders both named `app`
 * (in different parents); the guest's Explorer shows both roots under distinct names (`app`, `app-2`), opens a
 * file of the second root, and its save lands in that root on the host's disk.
 */
describe('multi-root shared workspace (e2e)', function () {
    this.timeout(300_000);

    const suite = e2eSuite('multi-root');
    let host: TheiaWindow;
    let guest: TheiaWindow;

    /** Expands the root `root` in the navigator until `child` shows. */
    async function expandRoot(window: TheiaWindow, root: string, child: string): Promise<void> {
        await showExplorer(window);
        await waitFor(async () => {
            if (await navigatorNode(window, child).isVisible()) {
                return true;
            }
            await navigatorNode(window, root).click();
            await navigatorNode(window, child).waitFor({ state: 'visible', timeout: 3000 }).catch(() => undefined);
            return await navigatorNode(window, child).isVisible() || undefined;
        }, 30_000, `${window.name}: ${child} in the root ${root}`);
    }

    before(async function () {
        this.timeout(240_000);
        ({ host, guest } = await suite.setUp(() => suite.startHostAndGuest('multi-root', {
            'host-folder-only.txt': 'not in the multi-root workspace\n',
            // Each root holds a file and a folder, so the navigator does not compress a root and its only folder.
            'one/app/src/main.ts': 'export const first = 1;\n',
            'one/app/README.md': '# first app\n',
            'one/app/.env': 'SECRET=one\n',
            'two/app/lib/util.ts': 'export const second = 2;\n',
            'two/app/NOTES.md': '# second app\n',
            'two/app/.env': 'SECRET=two\n',
            'multi.theia-workspace': workspaceFileContent(['one/app', 'two/app'])
        })));
        await suite.setUp(async () => {
            await openWorkspace(host, suite.hostFile('multi.theia-workspace'));
            await showExplorer(host);
            // Both roots are called `app` on the host.
            await waitFor(async () => (await navigatorNames(host)).filter(name => name === 'app').length === 2 || undefined, 30_000,
                'the host\'s two roots in its navigator');
        });
    });

    it('the guest\'s Explorer shows both host roots under distinct names', async () => {
        const names = await startSharedWorkspace(host, guest, { guestEntry: 'guest-only.txt', hostEntries: ['app', 'app-2'] });
        assert.ok(!names.includes('host-folder-only.txt'), `only the workspace's roots are shared: ${names}`);
        await expandRoot(guest, 'app', 'src');
        await expandRoot(guest, 'app-2', 'lib');
        const shown = await navigatorNames(guest);
        assert.ok(!shown.includes('.env'), `excluded files are not shown: ${shown}`);
        await guest.screenshot('multi-root-guest-navigator');
    });

    it('the guest opens a file of the second root and its save lands in that root', async () => {
        const editor = await openSharedFile(guest, 'util.ts', /second = 2/, 'lib');
        await editor.locator('.view-lines').click();
        await guest.page.keyboard.press('Control+End');
        await guest.page.keyboard.type('// edited in app-2');
        await guest.page.keyboard.press('Control+S');
        const hostUtil = suite.hostFile(path.join('two', 'app', 'lib', 'util.ts'));
        await waitFor(() => fs.readFileSync(hostUtil, 'utf8').includes('// edited in app-2'), 20_000, 'the guest\'s save on the host\'s disk');
        assert.match(fs.readFileSync(hostUtil, 'utf8'), /^export const second = 2;\n\/\/ edited in app-2/);
        assert.deepStrictEqual(fs.readdirSync(suite.hostFile(path.join('one', 'app'))).sort(), ['.env', 'README.md', 'src']);
        await guest.screenshot('multi-root-guest-second-root');
    });

    it('the guest opens a file of the first root: the same-named roots are not mixed up', async () => {
        await openSharedFile(guest, 'main.ts', /first = 1/, 'src');
        assert.strictEqual((await editorText(guest, activeEditor(guest))).trim(), 'export const first = 1;');
        await guest.screenshot('multi-root-guest-first-root');
    });
});
