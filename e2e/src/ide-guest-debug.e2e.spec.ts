import * as assert from 'assert';
import {
    activeEditor, currentEditorTab, e2eSuite, endSession, IDE_FILES, leaveSession, navigatorNode, openSharedFile, pickQuickItem,
    showExplorer, startCollaboration, TheiaWindow, waitFor
} from './harness';

/**
 * A real Python debug session (debugpy) the host starts, seen by guests: where it stopped, the call stack and the
 * variables; a read-write guest steps over (F10) and continues through the host, a read-only guest's F10 is refused.
 */
describe('the host\'s debug session for guests (e2e)', function () {
    this.timeout(300_000);

    const suite = e2eSuite('ide-guest-debug');
    let host: TheiaWindow;
    let guest: TheiaWindow;

    before(async function () {
        this.timeout(180_000);
        ({ host, guest } = await suite.setUp(async () => {
            const [hostBackend, guestBackend] = await suite.start([
                { name: 'ide-debug-host', files: IDE_FILES, plugins: true },
                { name: 'ide-debug-guest', files: { 'guest-only.txt': 'mine\n' }, plugins: true }
            ]);
            return { host: await suite.open(hostBackend, 'host'), guest: await suite.open(guestBackend, 'guest') };
        }));
    });

    async function join(permission: 'readwrite' | 'readonly'): Promise<void> {
        for (const window of [host, guest]) {
            await showExplorer(window);
        }
        await startCollaboration(host, guest, { permission });
        await waitFor(async () => navigatorNode(guest, 'app.py').isVisible(), 30_000, 'the host\'s files in the guest\'s navigator');
    }

    const hostFrames = async () => (await host.page.locator('.theia-debug-stack-frame .expression').allTextContents()).map(name => name.trim());
    const hostVariables = async () => (await host.page.locator('.theia-debug-console-variable').allTextContents()).map(text => text.trim());
    const guestView = () => guest.page.locator('#collaboration-debug-guest');
    const guestFrames = async () => (await guestView().locator('.collaboration-debug-guest-frame-name').allTextContents()).map(text => text.trim());
    const guestVariables = async () => (await guestView().locator('.collaboration-debug-guest-variable').allTextContents()).map(text => text.trim());

    /** The host starts its launch configuration and waits until it stops in greet (the breakpoint on line 2). */
    async function hostStartsDebugging(): Promise<void> {
        await host.runMenu('Run', 'Start Debugging');
        await waitFor(async () => (await hostFrames())[0] === 'greet', 90_000, 'the host\'s debugger stopped in greet');
    }

    it('a read-write guest sees where the host\'s debugger stopped, its call stack and variables', async () => {
        await join('readwrite');
        const editor = await openSharedFile(host, 'app.py', /def greet/, '');
        // Breakpoint on line 2 (`message = ...`).
        await editor.locator('.view-lines').click();
        await host.page.keyboard.press('Control+Home');
        await host.page.keyboard.press('ArrowDown');
        await host.page.keyboard.press('F9');
        await editor.locator('.margin [class*="codicon-debug-breakpoint"]').first().waitFor({ state: 'visible', timeout: 10_000 });
        await hostStartsDebugging();

        await guest.waitForStatusBarText('collaboration-debug-status', /Host paused · app\.py:2$/, 30_000);
        // The guest follows the host's position: app.py opens at the stopped line.
        await waitFor(async () => await currentEditorTab(guest) === 'app.py', 20_000, 'the guest\'s editor follows to app.py');
        await activeEditor(guest).locator('.margin .codicon-debug-stackframe').first().waitFor({ state: 'visible', timeout: 20_000 });
        await guestView().waitFor({ state: 'visible', timeout: 20_000 });
        const frames = await waitFor(async () => {
            const shown = await guestFrames();
            return shown[0] === 'greet' && shown.includes('main') ? shown : undefined;
        }, 30_000, 'greet < main in the guest\'s call stack').catch(async error => {
            throw new Error(`${error.message} (shown: ${await guestFrames()})`);
        });
        const variables = await waitFor(async () => {
            const shown = await guestVariables();
            return shown.some(text => /^name: 'world'$/.test(text)) ? shown : undefined;
        }, 30_000, 'name = \'world\' in the guest\'s variables').catch(async error => {
            throw new Error(`${error.message} (shown: ${await guestVariables()})`);
        });
        await guest.screenshot('ide-guest-debug-stopped');
        console.log(`      guest: call stack ${frames.join(' < ')}; variables ${variables.join(', ')}`);
    });

    it('the read-write guest steps over (F10) and continues through the host', async () => {
        await activeEditor(guest).locator('.view-lines').click();
        await guest.page.keyboard.press('F10');
        await guest.waitForStatusBarText('collaboration-debug-status', /Host paused · app\.py:3$/, 30_000);
        await waitFor(async () => (await guestVariables()).some(text => /^message: 'Hello, world'$/.test(text)), 30_000,
            'message = \'Hello, world\' in the guest\'s variables').catch(async error => {
            throw new Error(`${error.message} (shown: ${await guestVariables()})`);
        });
        // The host's own debugger moved too.
        await waitFor(async () => (await hostVariables()).some(text => /^message\s*:\s*'Hello, world'$/.test(text)), 30_000,
            'message in the host\'s Variables view').catch(async error => {
            throw new Error(`${error.message} (shown: ${await hostVariables()})`);
        });
        await host.screenshot('ide-guest-debug-host-after-step');
        await guest.screenshot('ide-guest-debug-stepped');

        // Continue: from the status bar item's actions.
        await guest.page.locator('#theia-statusBar .collaboration-debug-status').first().click();
        await pickQuickItem(guest, /Continue the Host's Debug Session/);
        await waitFor(async () => (await host.page.locator('.theia-debug-stack-frame').count()) === 0, 30_000, 'the host\'s program ran to its end');
        await waitFor(async () => !await guest.page.locator('#theia-statusBar .collaboration-debug-status').isVisible(), 30_000,
            'the guest\'s debug status item gone');
    });

    it('a read-only guest sees the stop but its F10 is refused', async () => {
        await leaveSession(guest);
        await endSession(host);
        await join('readonly');
        await hostStartsDebugging();
        await guest.waitForStatusBarText('collaboration-debug-status', /Host paused · app\.py:2$/, 30_000);
        await waitFor(async () => await currentEditorTab(guest) === 'app.py', 20_000, 'the guest\'s editor follows to app.py');
        await waitFor(async () => (await guestFrames())[0] === 'greet', 30_000, 'greet in the read-only guest\'s call stack');
        await activeEditor(guest).locator('.view-lines').click();
        await guest.page.keyboard.press('F10');
        const message = await waitFor(async () => (await guest.notifications()).find(text => /read-only/i.test(text)), 20_000,
            'a notification that the read-only guest cannot step');
        await guest.screenshot('ide-guest-debug-readonly');
        await new Promise(resolve => setTimeout(resolve, 2000));
        assert.match(await guest.statusBarText('collaboration-debug-status'), /app\.py:2$/);
        assert.strictEqual((await hostFrames())[0], 'greet');
        assert.ok((await hostVariables()).every(text => !/^message\s*:/.test(text)), 'the host did not step');
        console.log(`      read-only guest: ${message}`);
        await host.runMenu('Run', 'Stop');
        await waitFor(async () => (await host.page.locator('.theia-debug-stack-frame').count()) === 0, 30_000, 'the debug session to end');
        await guest.page.locator('#theia-statusBar .collaboration-debug-status').waitFor({ state: 'hidden', timeout: 30_000 });
    });

    it('the guest leaves and the host ends the session', async () => {
        await leaveSession(guest);
        await endSession(host);
    });
});
