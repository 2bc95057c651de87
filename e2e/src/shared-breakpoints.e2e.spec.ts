import * as assert from 'assert';
import { Locator } from 'playwright-core';
import {
    activeEditor, e2eSuite, endSession, leaveSession, navigatorNode, openSharedFile, showExplorer, startCollaboration, TheiaWindow, waitFor
} from './harness';

/**
 * Shared breakpoints, end to end: a breakpoint the guest toggles (F9) in its `collab:` editor shows in the
 * host's editor of the same file, one the host toggles shows for the guest, and removing works both ways.
 */
describe('shared breakpoints (e2e)', function () {
    this.timeout(300_000);

    const suite = e2eSuite('breakpoints');
    let host: TheiaWindow;
    let guest: TheiaWindow;

    /** Lines that show a breakpoint glyph in the editor (matched to line numbers by their vertical position). */
    async function breakpointLines(editor: Locator): Promise<number[]> {
        const glyphs = await editor.locator('.margin [class*="codicon-debug-breakpoint"]').evaluateAll(nodes =>
            nodes.map(node => node.getBoundingClientRect().top));
        const numbers = await editor.locator('.margin .line-numbers').evaluateAll(nodes =>
            nodes.map(node => ({ line: Number(node.textContent?.trim()), top: node.getBoundingClientRect().top })));
        const lines = glyphs.map(top => numbers.reduce((best, candidate) => Math.abs(candidate.top - top) < Math.abs(best.top - top) ? candidate : best).line);
        return [...new Set(lines)].sort((a, b) => a - b);
    }

    async function waitForBreakpoints(window: TheiaWindow, editor: Locator, expected: number[]): Promise<void> {
        await waitFor(async () => (await breakpointLines(editor)).join() === expected.join(), 20_000,
            `${window.name}: breakpoints on lines ${expected.join(', ') || 'none'}`).catch(async error => {
            throw new Error(`${error.message} (shown: ${await breakpointLines(editor)})`);
        });
    }

    /** Puts the cursor on `line` and toggles a breakpoint there with F9. */
    async function toggleBreakpoint(window: TheiaWindow, editor: Locator, line: number): Promise<void> {
        await editor.locator('.view-lines').click();
        await window.page.keyboard.press('Control+Home');
        for (let i = 1; i < line; i++) {
            await window.page.keyboard.press('ArrowDown');
        }
        await window.page.keyboard.press('F9');
    }

    before(async function () {
        this.timeout(180_000);
        ({ host, guest } = await suite.startHostAndGuest('breakpoints', { 'src/main.js': 'const a = 1;\nconst b = a + 1;\nconsole.log(a, b);\n' }));
    });

    it('breakpoints set on either side show on both', async () => {
        for (const window of [host, guest]) {
            await showExplorer(window);
        }
        await waitFor(async () => navigatorNode(guest, 'guest-only.txt').isVisible(), 30_000, 'the guest\'s own workspace');
        await startCollaboration(host, guest, { permission: 'readwrite' });
        await waitFor(async () => navigatorNode(guest, 'src').isVisible(), 30_000, 'the host\'s files in the guest\'s navigator');

        const hostEditor = await openSharedFile(host, 'main.js', /console\.log/);
        const guestEditor = await openSharedFile(guest, 'main.js', /console\.log/);
        assert.deepStrictEqual(await breakpointLines(guestEditor), []);

        await toggleBreakpoint(guest, guestEditor, 2);
        await waitForBreakpoints(guest, guestEditor, [2]);
        await waitForBreakpoints(host, hostEditor, [2]);

        await toggleBreakpoint(host, hostEditor, 3);
        await waitForBreakpoints(guest, guestEditor, [2, 3]);
        await host.screenshot('breakpoints-host');
        await guest.screenshot('breakpoints-guest');

        await toggleBreakpoint(guest, guestEditor, 2);
        await waitForBreakpoints(host, hostEditor, [3]);
        await waitForBreakpoints(guest, guestEditor, [3]);
    });

    it('when the guest leaves, the session\'s breakpoints go with it; the host keeps its own', async () => {
        await leaveSession(guest);
        await new Promise(resolve => setTimeout(resolve, 1000));
        assert.deepStrictEqual(await breakpointLines(activeEditor(host)), [3]);
        await endSession(host);
        assert.deepStrictEqual(await breakpointLines(activeEditor(host)), [3]);
    });
});
