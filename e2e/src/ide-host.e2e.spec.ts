import * as assert from 'assert';
import { Locator } from 'playwright-core';
import { activeEditor, currentEditorTab, e2eSuite, editorText, openFile, openSharedFile, TheiaWindow, waitFor } from './harness';

/** Files of the host's workspace: two TypeScript modules (one with a type error) and a Python program. */
export const IDE_FILES: Record<string, string> = {
    'tsconfig.json': JSON.stringify({ compilerOptions: { strict: true, target: 'ES2022', module: 'commonjs' }, include: ['src'] }, undefined, 2) + '\n',
    'src/math.ts': [
        '/** Adds two numbers. */',
        'export function addNumbers(a: number, b: number): number {',
        '    return a + b;',
        '}',
        ''
    ].join('\n'),
    'src/main.ts': [
        'import { addNumbers } from \'./math\';',
        '',
        'const total = addNumbers(1, 2);',
        'const label: string = addNumbers(3, 4);',
        'console.log(total, label);',
        ''
    ].join('\n'),
    'app.py': [
        'def greet(name):',
        '    message = "Hello, " + name',
        '    return message',
        '',
        '',
        'def main():',
        '    result = greet("world")',
        '    print(result)',
        '',
        '',
        'main()',
        ''
    ].join('\n'),
    '.theia/launch.json': JSON.stringify({
        version: '0.2.0',
        configurations: [{ type: 'python', request: 'launch', name: 'Python: app.py', program: '${workspaceFolder}/app.py', console: 'internalConsole' }]
    }, undefined, 2) + '\n'
};

/** The token `text` of `editor` on the (visible) line that contains `lineText`. */
export function token(editor: Locator, lineText: string, text: string): Locator {
    return editor.locator('.view-lines > .view-line').filter({ hasText: lineText }).first()
        .locator('span > span').filter({ hasText: new RegExp(`^${text}$`) }).first();
}

/** The distinct Monaco token classes (`mtk<n>`, one per colour) on the editor's visible lines. */
export async function tokenColours(editor: Locator): Promise<string[]> {
    return editor.locator('.view-lines').evaluate(container => [...new Set([...container.querySelectorAll('span[class*="mtk"]')]
        .flatMap(span => [...span.classList].filter(name => /^mtk\d+$/.test(name))))]);
}

/** Hovers `target` until Monaco's hover shows text matching `pattern`; returns that text. */
export async function hoverText(window: TheiaWindow, target: Locator, pattern: RegExp, ms = 60_000): Promise<string> {
    let last = '';
    return waitFor(async () => {
        await window.page.mouse.move(0, 0);
        await target.hover();
        const hover = window.page.locator('.monaco-hover').filter({ hasText: pattern }).first();
        await hover.waitFor({ state: 'visible', timeout: 3000 }).catch(() => undefined);
        last = (await window.page.locator('.monaco-hover').allInnerTexts().catch(() => [])).join(' | ');
        const text = await hover.innerText({ timeout: 1000 }).catch(() => '');
        return pattern.test(text) ? text : undefined;
    }, ms, `${window.name}: a hover matching ${pattern}`, 500).catch(error => {
        throw new Error(`${error.message} (hovers shown: ${last || 'none'})`);
    });
}

/** Clicks `target` (puts the cursor in it) and presses F12 until the editor tab `file` is current. */
export async function goToDefinition(window: TheiaWindow, target: Locator, file: string, ms = 60_000): Promise<void> {
    await waitFor(async () => {
        if (await currentEditorTab(window) === file) {
            return true;
        }
        await target.click();
        await window.page.keyboard.press('F12');
        await new Promise(resolve => setTimeout(resolve, 1000));
        return await currentEditorTab(window) === file || undefined;
    }, ms, `${window.name}: F12 opens ${file}`, 500);
}

describe('a real IDE on the host (e2e)', function () {
    this.timeout(300_000);

    const suite = e2eSuite('ide-host');
    let host: TheiaWindow;

    before(async function () {
        this.timeout(180_000);
        host = await suite.setUp(async () => {
            const [backend] = await suite.start([{ name: 'ide-host', files: IDE_FILES }]);
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
