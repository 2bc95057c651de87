import * as assert from 'assert';
import * as fs from 'fs';
import {
    activeEditor, currentEditorTab, e2eSuite, editorText, navigatorNode, openFile, openParticipantFile, showParticipants, startSharedWorkspace,
    TheiaWindow, waitFor
} from './harness';

const occurrences = (text: string, part: string) => text.split(part).length - 1;

/** Alice starts a session in `host`, Bob joins it read-write from `guest` and sees the host's files. */
const startAndJoin = (host: TheiaWindow, guest: TheiaWindow) =>
    startSharedWorkspace(host, guest, { guestEntry: 'guest-only.txt', hostEntries: ['src', 'README.md'] });

/**
 * Co-editing, end to end, with the app's auto-save on: host and guest type in the same file at the same time
 * and end with the same text (the initial content once), the guest's named caret shows in the host's editor,
 * and a guest following the host sees its editor switch files with the host's.
 */
describe('co-editing (e2e)', function () {
    this.timeout(300_000);

    const INITIAL = 'export const marker = "INITIAL CONTENT";\nexport function greet(name: string) {\n    return name;\n}\n';
    /** Over 1 MiB: more than one 512 KiB part, so the host stores it on the server for guests that open it later. */
    const BIG_LINES = 16_000;
    const BIG = Array.from({ length: BIG_LINES }, (_, i) => `big line ${i + 1} ${'~'.repeat(60)}`).join('\n') + '\n';
    const suite = e2eSuite('co-editing');
    let host: TheiaWindow;
    let guest: TheiaWindow;

    before(async function () {
        this.timeout(180_000);
        ({ host, guest } = await suite.startHostAndGuest('co-editing', {
            'src/shared.ts': INITIAL,
            'src/other.ts': 'export const other = 42;\n',
            'src/big.txt': BIG,
            'README.md': '# Co-editing\n'
        }));
        await suite.setUp(() => startAndJoin(host, guest));
    });

    it('host and guest type at the same time in the same file and end with the same text, the initial content once', async () => {
        await openFile(host, 'shared.ts');
        // The guest opens the file the host is in from the Participants view.
        await openParticipantFile(guest, 'Alice', 'shared.ts');
        for (const window of [host, guest]) {
            await waitFor(async () => (await editorText(window)).includes('INITIAL CONTENT'), 20_000, `${window.name}: the file content`);
        }
        // Both on line 2, at its end; then both type at once.
        const hostWords = ' /* alice types here */';
        const guestWords = ' /* bob types too */';
        for (const window of [host, guest]) {
            await activeEditor(window).locator('.view-lines').click();
            await window.page.keyboard.press('Control+Home');
            await window.page.keyboard.press('ArrowDown');
            await window.page.keyboard.press('End');
        }
        await Promise.all([
            host.page.keyboard.type(hostWords, { delay: 35 }),
            guest.page.keyboard.type(guestWords, { delay: 30 })
        ]);
        await Promise.all([
            (async () => { await host.page.keyboard.press('Enter'); await host.page.keyboard.type('// second line by alice', { delay: 20 }); })(),
            (async () => { await guest.page.keyboard.press('Control+End'); await guest.page.keyboard.type('// last line by bob', { delay: 20 }); })()
        ]);

        const final = await waitFor(async () => {
            const [hostText, guestText] = await Promise.all([editorText(host), editorText(guest)]);
            return hostText === guestText && hostText.includes('last line by bob') && hostText.includes('second line by alice') ? hostText : undefined;
        }, 30_000, 'both editors to show the same text');
        assert.strictEqual(occurrences(final, 'INITIAL CONTENT'), 1, `the initial content once:\n${final}`);
        assert.strictEqual(occurrences(final, 'export function greet'), 1, `the initial content once:\n${final}`);
        assert.ok(final.includes(hostWords.trim()), `Alice's words are intact:\n${final}`);
        assert.ok(final.includes(guestWords.trim()), `Bob's words are intact:\n${final}`);

        // Auto-save writes the converged text to the host's disk, with no dialog anywhere.
        await waitFor(() => {
            const disk = fs.readFileSync(suite.hostFile('src/shared.ts'), 'utf8');
            return disk.includes('last line by bob') && disk.includes('second line by alice') && disk.includes(guestWords.trim());
        }, 20_000, 'the converged text on the host\'s disk');
        await new Promise(resolve => setTimeout(resolve, 1500));
        for (const window of [host, guest]) {
            assert.strictEqual(await window.dialog().count(), 0, `${window.name}: no dialog (e.g. "file changed on disk")`);
            // Guests' edits are auto-saved once they have been quiet for 5 s (editor-guest-autosave.ts).
            const dirtyTab = window.page.locator('#theia-main-content-panel .lm-TabBar-tab.lm-mod-current.theia-mod-dirty');
            await waitFor(async () => await dirtyTab.count() === 0, 12_000, `${window.name}: the editor auto-saved`).catch(() => undefined);
            const dirty = await dirtyTab.count();
            assert.strictEqual(dirty, 0, `${window.name}: the editor was auto-saved`);
        }
        assert.strictEqual(fs.readFileSync(suite.hostFile('src/shared.ts'), 'utf8').trim(), final.trim(), 'the disk has what both see');
        await host.screenshot('co-editing-host-converged');
        await guest.screenshot('co-editing-guest-converged');
    });

    it('the guest\'s caret, with the guest\'s name, shows in the host\'s editor', async () => {
        await guest.page.keyboard.press('Control+Home');
        await guest.page.keyboard.press('ArrowDown');
        await guest.page.keyboard.press('ArrowDown');
        // Bob's caret moved to line 3, column 1, in Alice's editor.
        const caret = await waitFor(async () => {
            const carets = await activeEditor(host).locator('.collab-caret.collab-caret-primary').evaluateAll(nodes => nodes.map(node => {
                const box = node.getBoundingClientRect();
                const line = node.closest('.view-line') as HTMLElement | null;
                const tops = [...(line?.parentElement?.querySelectorAll<HTMLElement>(':scope > .view-line') ?? [])]
                    .map(candidate => parseFloat(candidate.style.top)).sort((a, b) => a - b);
                return {
                    label: getComputedStyle(node, '::after').content,
                    color: getComputedStyle(node).borderLeftColor,
                    width: getComputedStyle(node).borderLeftWidth,
                    height: box.height,
                    line: line ? tops.indexOf(parseFloat(line.style.top)) + 1 : -1,
                    offsetInLine: line ? box.left - line.getBoundingClientRect().left : -1
                };
            }));
            return carets.find(candidate => /Bob/.test(candidate.label) && candidate.line === 3 && candidate.offsetInLine < 4);
        }, 15_000, 'Bob\'s named caret at the start of line 3 of Alice\'s editor');
        assert.notStrictEqual(caret.color, 'rgba(0, 0, 0, 0)');
        assert.strictEqual(caret.width, '2px');
        assert.ok(caret.height > 5, `the caret is visible: ${JSON.stringify(caret)}`);
        await host.screenshot('co-editing-host-sees-guest-caret');
    });

    it('the participants view lists both, and following the host makes the guest\'s editor switch files', async () => {
        await showParticipants(guest);
        const alice = guest.page.locator('.collab-participant[data-peer-name="Alice"]');
        await alice.waitFor({ state: 'visible', timeout: 15_000 });
        await waitFor(async () => /shared\.ts/.test(await alice.innerText()), 15_000, 'Alice\'s current file in the participants view');
        assert.strictEqual(await guest.page.locator('.collab-participant[data-peer-name="Bob"]').count(), 1);
        await alice.locator('button.collab-follow').click();
        await guest.waitForStatusBarText('collaboration-following', /Following Alice/);
        await guest.screenshot('co-editing-guest-participants');

        await openFile(host, 'other.ts');
        await waitFor(async () => await currentEditorTab(guest) === 'other.ts', 20_000, 'the guest\'s editor to follow to other.ts');
        await waitFor(async () => (await editorText(guest)).includes('export const other = 42;'), 20_000, 'other.ts content for the guest');
        await openFile(host, 'shared.ts');
        await waitFor(async () => await currentEditorTab(guest) === 'shared.ts', 20_000, 'the guest\'s editor to follow back to shared.ts');
        await guest.screenshot('co-editing-guest-follows-host');

        // Moving the caret on one's own stops following.
        await activeEditor(guest).locator('.view-lines').click();
        await guest.page.keyboard.press('ArrowDown');
        await waitFor(async () => await guest.page.locator('#theia-statusBar .collaboration-following').count() === 0, 10_000, 'following to stop');
        await openFile(host, 'other.ts');
        await new Promise(resolve => setTimeout(resolve, 2000));
        assert.strictEqual(await currentEditorTab(guest), 'shared.ts', 'the guest stays where it is');

        // The host asks everyone to follow: the guest follows again and is taken to the host's file.
        await showParticipants(host);
        await host.page.locator('button.collab-focus-participants').click();
        await guest.waitForStatusBarText('collaboration-following', /Following Alice/);
        await waitFor(async () => await currentEditorTab(guest) === 'other.ts', 20_000, 'the guest\'s editor to go to the host\'s file');
        await guest.screenshot('co-editing-guest-focused');
    });

    it('undo in a shared editor reverts only one\'s own typing', async () => {
        await guest.page.locator('#theia-statusBar .collaboration-following').click();
        await waitFor(async () => await guest.page.locator('#theia-statusBar .collaboration-following').count() === 0, 10_000, 'following to stop');
        await openFile(host, 'shared.ts');
        await openParticipantFile(guest, 'Alice', 'shared.ts');
        await activeEditor(host).locator('.view-lines').click();
        await host.page.keyboard.press('Control+Home');
        await host.page.keyboard.press('End');
        await host.page.keyboard.type(' // ALPHA', { delay: 20 });
        await waitFor(async () => (await editorText(guest)).includes('// ALPHA'), 15_000, 'Alice\'s text at the guest');
        await activeEditor(guest).locator('.view-lines').click();
        await guest.page.keyboard.press('Control+End');
        await guest.page.keyboard.type(' // BETA', { delay: 20 });
        await waitFor(async () => (await editorText(host)).includes('// BETA'), 15_000, 'Bob\'s text at the host');
        await activeEditor(host).locator('.view-lines').click();
        await host.page.keyboard.press('Control+Z');
        for (const window of [host, guest]) {
            await waitFor(async () => {
                const text = await editorText(window);
                return !text.includes('ALPHA') && text.includes('// BETA') ? text : undefined;
            }, 15_000, `${window.name}: Alice's typing undone, Bob's kept`);
        }
        await host.page.keyboard.press('Control+Shift+Z');
        await waitFor(async () => (await editorText(guest)).includes('// ALPHA'), 15_000, 'redo reaches the guest');
        await host.screenshot('co-editing-host-undo-redo');
    });

    it('a change on the host\'s disk reaches the guest\'s open editor, also when the host has the file closed', async () => {
        await openFile(host, 'other.ts');
        await openParticipantFile(guest, 'Alice', 'other.ts');
        await host.page.locator('#theia-main-content-panel .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabCloseIcon').click();
        await waitFor(async () => await currentEditorTab(host) !== 'other.ts', 10_000, 'the host closed other.ts');
        await new Promise(resolve => setTimeout(resolve, 1000));
        fs.writeFileSync(suite.hostFile('src/other.ts'), 'export const other = 43; // changed on the host\'s disk\n');
        await waitFor(async () => (await editorText(guest)).includes('changed on the host\'s disk'), 20_000, 'the disk change in the guest\'s editor');
        assert.strictEqual(occurrences(await editorText(guest), 'export const other'), 1);
        await guest.screenshot('co-editing-guest-sees-disk-change');
    });

    it('a large file reaches the guest whole: from the host the first time, then from the server, where the host stored it sealed', async () => {
        const server = suite.server!;
        const served = async () => (await server.metrics.contentGets.get()).values.reduce((sum, value) => sum + value.value, 0);
        const showsWhole = async () => {
            await waitFor(async () => (await editorText(guest)).includes('big line 1 '), 30_000, 'the start of big.txt in the guest\'s editor');
            await activeEditor(guest).locator('.view-lines').click();
            await guest.page.keyboard.press('Control+End');
            await waitFor(async () => (await editorText(guest)).includes(`big line ${BIG_LINES} `), 20_000, 'the end of big.txt in the guest\'s editor');
        };
        const gets = await served();
        await openFile(guest, 'big.txt');
        await showsWhole();
        assert.strictEqual(await served(), gets, 'the first time, the host sends it');
        await waitFor(() => server.contentStore.size === 1 || undefined, 20_000, 'the host stores it on the server');
        const [roomId] = server.contentStore.roomIds();
        const stored = server.contentStore.partsOf(roomId, server.contentStore.contentIds(roomId)[0]);
        assert.ok(stored.length >= 2 && stored.every(part => !part.includes(Buffer.from('big line 2 '))), 'the server holds sealed parts only');

        await guest.page.locator('#theia-main-content-panel .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabCloseIcon').click();
        await waitFor(async () => await currentEditorTab(guest) !== 'big.txt' || undefined, 10_000, 'big.txt closed in the guest');
        await openFile(guest, 'big.txt');
        await showsWhole();
        assert.ok(await served() >= gets + 2, 'the second time, the guest fetches it from the server');
        await guest.screenshot('co-editing-guest-large-file');
    });
});

/**
 * The host had the file open before it started the session: its already-open editor is shared too, so what a
 * guest types shows in it and reaches the host's disk through its auto-save.
 */
describe('co-editing of an editor the host opened before the session (e2e)', function () {
    this.timeout(300_000);

    const INITIAL = 'export const early = "OPEN BEFORE THE SESSION";\n';
    const suite = e2eSuite('co-editing-early');

    before(async function () {
        this.timeout(180_000);
        await suite.startHostAndGuest('co-editing-early', { 'src/early.ts': INITIAL, 'README.md': '# Early\n' });
    });

    it('the guest\'s typing reaches the host\'s already-open editor and, by auto-save, the host\'s disk', async () => {
        const [host, guest] = suite.windows;
        await openFile(host, 'early.ts');
        await waitFor(async () => (await editorText(host)).includes('OPEN BEFORE THE SESSION'), 20_000, 'host: the file content');
        await startAndJoin(host, guest);

        await openFile(guest, 'early.ts');
        await waitFor(async () => (await editorText(guest)).includes('OPEN BEFORE THE SESSION'), 20_000, 'guest: the file content');
        await activeEditor(guest).locator('.view-lines').click();
        await guest.page.keyboard.press('Control+End');
        await guest.page.keyboard.type('// typed by Bob into Alice\'s open editor', { delay: 20 });

        const hostText = await waitFor(async () => {
            const text = await editorText(host);
            return text.includes('typed by Bob into Alice') ? text : undefined;
        }, 20_000, 'Bob\'s typing in the host\'s already-open editor');
        assert.strictEqual(occurrences(hostText, 'OPEN BEFORE THE SESSION'), 1, hostText);
        await waitFor(() => fs.readFileSync(suite.hostFile('src/early.ts'), 'utf8').includes('// typed by Bob into Alice\'s open editor'),
            20_000, 'the host\'s auto-save to write Bob\'s typing to its disk');
        assert.strictEqual(fs.readFileSync(suite.hostFile('src/early.ts'), 'utf8'), INITIAL + '// typed by Bob into Alice\'s open editor');
        await host.screenshot('co-editing-early-host');
        await guest.screenshot('co-editing-early-guest');
    });

    it('the guest types right after opening a file and saves at once: every keystroke reaches the host\'s disk', async () => {
        const [, guest] = suite.windows;
        const closeCurrentEditor = async () => {
            await guest.page.locator('#theia-main-content-panel .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabCloseIcon').click();
            await waitFor(async () => await guest.page.locator('#theia-main-content-panel .monaco-editor').count() === 0, 10_000, 'guest: the editor closed');
        };
        await closeCurrentEditor();
        for (let round = 1; round <= 4; round++) {
            await openFile(guest, 'README.md');
            // No waiting for the content or the session: type as soon as the editor has the focus, save at once.
            await guest.page.locator('#theia-main-content-panel .monaco-editor.focused').waitFor({ state: 'visible', timeout: 20_000 });
            await guest.page.keyboard.press('Control+End');
            await guest.page.keyboard.type(`round ${round} typed at once;`);
            await guest.page.keyboard.press('Control+S');
            const disk = () => fs.readFileSync(suite.hostFile('README.md'), 'utf8');
            await waitFor(() => disk().includes(`round ${round} typed at once;`), 15_000, `round ${round}: all of the guest's keystrokes on the host's disk`)
                .catch(error => { throw new Error(`${error.message}; the disk has ${JSON.stringify(disk())}`); });
            await closeCurrentEditor();
        }
        assert.strictEqual(fs.readFileSync(suite.hostFile('README.md'), 'utf8'),
            '# Early\nround 1 typed at once;round 2 typed at once;round 3 typed at once;round 4 typed at once;');
        await guest.screenshot('co-editing-early-guest-saved');
    });

    it('renames move the open shared document (guest editors follow, the host\'s too), a deletion closes the guest\'s editor', async () => {
        const [host, guest] = suite.windows;
        const tabs = async (window: TheiaWindow) => (await window.page.locator('#theia-main-content-panel .lm-TabBar-tab .lm-TabBar-tabLabel').allInnerTexts())
            .map(label => label.trim());
        const rename = async (window: TheiaWindow, name: string, newName: string) => {
            await navigatorNode(window, name).click();
            await window.page.keyboard.press('F2');
            const dialog = window.dialog();
            await dialog.waitFor({ state: 'visible' });
            await dialog.locator('input').fill(newName);
            await window.page.keyboard.press('Enter');
            await dialog.waitFor({ state: 'detached' });
        };
        await openFile(guest, 'early.ts');
        await waitFor(async () => (await editorText(guest)).includes('OPEN BEFORE THE SESSION'), 20_000, 'guest: early.ts content');
        await openFile(host, 'early.ts');

        // The host renames the file: the guest's editor becomes renamed.ts, with the text, and co-editing goes on.
        await rename(host, 'early.ts', 'renamed.ts');
        await waitFor(async () => await currentEditorTab(guest) === 'renamed.ts', 20_000, 'guest: the editor switched to renamed.ts');
        assert.ok(!(await tabs(guest)).some(label => /early\.ts/.test(label)), `guest: no editor of the old name: ${await tabs(guest)}`);
        assert.ok((await editorText(guest)).includes('typed by Bob into Alice'), 'guest: the document\'s text');
        await activeEditor(guest).locator('.view-lines').click();
        await guest.page.keyboard.press('Control+End');
        await guest.page.keyboard.type(' // after the rename', { delay: 20 });
        await waitFor(async () => await currentEditorTab(host) === 'renamed.ts' && (await editorText(host)).includes('// after the rename'),
            20_000, 'host: Bob\'s typing in renamed.ts');
        await waitFor(() => fs.existsSync(suite.hostFile('src/renamed.ts')) &&
            fs.readFileSync(suite.hostFile('src/renamed.ts'), 'utf8').includes('// after the rename'), 20_000, 'renamed.ts on the host\'s disk');
        assert.ok(!fs.existsSync(suite.hostFile('src/early.ts')), 'the old file is not written again');
        await guest.screenshot('co-editing-early-guest-after-host-rename');

        // The guest renames it through the shared workspace: the host's editor follows too.
        await rename(guest, 'renamed.ts', 'by-guest.ts');
        await waitFor(async () => await currentEditorTab(host) === 'by-guest.ts', 20_000, 'host: the editor switched to by-guest.ts');
        await waitFor(async () => await currentEditorTab(guest) === 'by-guest.ts', 20_000, 'guest: by-guest.ts');
        assert.ok(!(await tabs(host)).some(label => /renamed\.ts/.test(label)), `host: no editor of the old name: ${await tabs(host)}`);
        await activeEditor(host).locator('.view-lines').click();
        await host.page.keyboard.press('Control+End');
        await host.page.keyboard.type(' // Alice after the guest\'s rename', { delay: 20 });
        await waitFor(async () => (await editorText(guest)).includes('Alice after the guest'), 20_000, 'guest: Alice\'s typing after the rename');
        await host.screenshot('co-editing-early-host-after-guest-rename');

        // The host deletes it (once auto-saved, or the dirty editor would write it again): the guest's editor
        // closes and the guest is told.
        await waitFor(async () => await host.page.locator('#theia-main-content-panel .lm-TabBar-tab.theia-mod-dirty').count() === 0 &&
            fs.readFileSync(suite.hostFile('src/by-guest.ts'), 'utf8').includes('Alice after the guest'), 20_000, 'host: by-guest.ts auto-saved');
        await navigatorNode(host, 'by-guest.ts').click();
        await host.page.keyboard.press('Delete');
        const confirm = host.dialog();
        await confirm.waitFor({ state: 'visible' });
        await confirm.locator('button.main').click();
        await waitFor(async () => !(await tabs(guest)).some(label => /by-guest\.ts/.test(label)), 20_000, 'guest: the deleted file\'s editor closed');
        await waitFor(async () => (await guest.notifications()).some(text => /by-guest\.ts.*deleted/.test(text)), 10_000, 'guest: told about the deletion');
        assert.ok(!fs.existsSync(suite.hostFile('src/by-guest.ts')));
        await guest.screenshot('co-editing-early-guest-after-delete');
    });
});
