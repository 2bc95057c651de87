import { Locator } from 'playwright-core';
import { TheiaWindow } from './browser';
import { currentEditorTab } from './collaboration';
import { waitFor } from './wait';

// Helpers for the language and debugging features the in-repo plugins (plugins/) bring.

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

/** The text of the language mode item of the status bar (e.g. 'TypeScript'). */
export async function languageMode(window: TheiaWindow): Promise<string> {
    return (await window.page.locator('#status-bar-editor-status-language').innerText().catch(() => '')).trim();
}

/** Labels of the rows of the editor's open suggest (completion) widget; [] when it is not shown. */
export async function suggestions(window: TheiaWindow): Promise<string[]> {
    const rows = window.page.locator('.editor-widget.suggest-widget.visible .monaco-list-row');
    return (await rows.evaluateAll(nodes => nodes.map(node =>
        (node.querySelector('.label-name')?.textContent ?? node.getAttribute('aria-label') ?? '').trim())).catch(() => [] as string[]))
        .filter(label => label);
}
