import * as assert from 'assert';
import { activeEditor, e2eSuite, editorText, goToDefinition, hoverText, IDE_FILES, openFile, openSharedFile, TheiaWindow, token, tokenColours, waitFor } from './harness';

describe('a real IDE on the host (e2e)', function () {
    this.timeout(300_000);

    const suite = e2eSuite('ide-host');
    let host: TheiaWindow;

    before(async function () {
        this.timeout(180_000);
        host = await suite.setUp(async () => {
            const [backend] = await suite.start([{ name: 'ide-host', files: IDE_FILES, plugins: true }]);
            return suite.open(backend, 'host');
        });
    });

    it('a .ts file opens as TypeScript, highlighted by its TextMate grammar', async () => {
        const editor = await openSharedFile(host, 'main.ts', /addNumbers\(3, 4\)/);
        const mode = await waitFor(async () => {
            const text = (await host.page.locator('#status-bar-editor-status-language').innerText().catch(() => '')).trim();
            return text === 'TypeScript' ? text : undefined;
        }, 60_000, 'the language mode TypeScript in the status bar');
        // Keywords, strings, identifiers and punctuation get different colours only from the grammar.
        let found: string[] = [];
        const colours = await waitFor(async () => {
            found = await tokenColours(editor);
            return found.length >= 4 ? found : undefined;
        }, 60_000, 'several token colours in main.ts').catch(error => {
            throw new Error(`${error.message} (colours: ${found.join(' ') || 'none'})`);
        });
        await host.screenshot('ide-host-typescript');
        console.log(`      language mode: ${mode}; token colours: ${colours.join(' ')}`);
    });

    it('hover on an imported function shows its type from the TypeScript language server', async () => {
        const editor = activeEditor(host);
        const text = await hoverText(host, token(editor, 'total', 'addNumbers'), /addNumbers\(a: number, b: number\): number/);
        await new Promise(resolve => setTimeout(resolve, 500)); // the hover's fade-in
        await host.screenshot('ide-host-hover');
        assert.match(text, /Adds two numbers/);
        await host.page.keyboard.press('Escape');
    });

    it('a type error from the language server is listed in Problems', async () => {
        await host.runMenu('View', 'Problems');
        const problems = host.page.locator('#problems');
        await problems.waitFor({ state: 'visible' });
        const text = await waitFor(async () => {
            const shown = await problems.innerText().catch(() => '');
            return /Type 'number' is not assignable to type 'string'/.test(shown) ? shown : undefined;
        }, 60_000, 'the type error in Problems');
        await host.screenshot('ide-host-problems');
        assert.match(text, /main\.ts/);
    });

    it('F12 on the imported function opens its definition in the other file', async () => {
        await openFile(host, 'main.ts');
        const editor = activeEditor(host);
        await goToDefinition(host, token(editor, 'total', 'addNumbers'), 'math.ts');
        await waitFor(async () => /export function addNumbers/.test(await editorText(host)), 20_000, 'math.ts in the editor');
        await host.screenshot('ide-host-definition');
    });

    it('a Python debug session (debugpy) stops at a breakpoint and shows the call stack and variables', async () => {
        const editor = await openSharedFile(host, 'app.py', /def greet/, '');
        await waitFor(async () => (await host.page.locator('#status-bar-editor-status-language').innerText().catch(() => '')).trim() === 'Python',
            30_000, 'the language mode Python');
        // Breakpoint on line 2 (`message = ...`), then Run > Start Debugging with the launch configuration.
        await editor.locator('.view-lines').click();
        await host.page.keyboard.press('Control+Home');
        await host.page.keyboard.press('ArrowDown');
        await host.page.keyboard.press('F9');
        await editor.locator('.margin [class*="codicon-debug-breakpoint"]').first().waitFor({ state: 'visible', timeout: 10_000 });
        await host.runMenu('Run', 'Start Debugging');

        const frameNames = async () => (await host.page.locator('.theia-debug-stack-frame .expression').allTextContents()).map(name => name.trim());
        await waitFor(async () => (await frameNames())[0] === 'greet', 90_000, 'the debugger stopped in greet');
        const variables = await waitFor(async () => {
            const shown = (await host.page.locator('.theia-debug-console-variable').allTextContents()).map(text => text.trim());
            return shown.some(text => /^name\s*:\s*'world'$/.test(text)) ? shown : undefined;
        }, 30_000, 'the variable name = \'world\'');
        // Theia shows the top frame first and loads the others after it, or on "Load More Stack Frames".
        let frames = await waitFor(async () => {
            const names = await frameNames();
            if (names.includes('main') && names.includes('<module>')) {
                return names;
            }
            const more = host.page.getByText('Load More Stack Frames');
            if (await more.isVisible()) {
                await more.click();
            }
            return undefined;
        }, 30_000, 'the frames below greet', 3000).catch(() => undefined);
        if (!frames) {
            // Step out of greet: the debugger stops in its caller.
            console.log(`      (the call stack showed ${await frameNames()}: stepping out to see the caller)`);
            await host.page.keyboard.press('Shift+F11');
            frames = await waitFor(async () => {
                const names = await frameNames();
                return names[0] === 'main' ? names : undefined;
            }, 30_000, 'the debugger stopped in main after stepping out of greet');
        }
        await host.screenshot('ide-host-debug');
        console.log(`      call stack: ${frames.join(' < ')}; variables: ${variables.join(', ')}`);

        await host.runMenu('Run', 'Stop');
        await waitFor(async () => (await host.page.locator('.theia-debug-stack-frame').count()) === 0, 30_000, 'the debug session to end');
    });
});
