/**
 * A real IDE for guests, in real Chromium with two browser apps (the in-repo plugins on: typescript-language-server):
 *  (a) Quick Open (a file name typed -> that file listed) and Find in Files (Enter on a text query -> its match
 *      shown) on a generated 20,000-file workspace (nested folders of small .ts files, a `.env`, a node_modules
 *      folder), the guest's against the host's own; target: guest p50 <= 1.5x host p50.
 *  (b) Hover (mouse onto a name -> the language server's hover shown) and completion (Ctrl+Space -> a member
 *      listed), the guest's against the host's own; target: guest p50 <= host p50 + 20 ms.
 * Host and guest take turns query by query. Times are wall-clock marks taken inside the pages.
 *
 *   npm run bench -- ide        (needs `npm run build`)
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Locator } from 'playwright-core';
import {
    launchBrowser, openSharedFile, showExplorer, startCollaboration, startTheiaBackend, TheiaBackend, TheiaWindow, token, waitFor
} from '../../e2e/lib/harness';
import { armCondition, armInput, instrument, mark } from './util/browser-apps';
import { BenchmarkDefinition, main } from './util/main';
import { loadAverage } from './util/proc';
import { quietSummary, waitQuiet } from './util/quiet';
import { log, Reporter } from './util/report';
import { startCollabServer } from './util/servers';
import { round, Samples } from './util/stats';

const QUICK = !!process.env.BENCH_QUICK;
const SEARCH_QUERIES = QUICK ? 4 : 12;
const LANGUAGE_SAMPLES = QUICK ? 6 : 25;
const FOLDERS = [20, 20, 50] as const;
/** `editor.hover.delay` of both windows. */
const HOVER_DELAY_MS = 10; // 20 x 20 x 50 = 20,000 .ts files

const LANG_MAIN = [
    'import { addNumbers, Totals } from \'./math\';',
    '',
    'const total = addNumbers(1, 2);',
    'const totals: Totals = { count: 1, sum: total };',
    'console.log(total, totals);',
    'total.',
    ''
].join('\n');
const LANG_MATH = [
    '/** Adds two numbers. */',
    'export function addNumbers(a: number, b: number): number {',
    '    return a + b;',
    '}',
    '',
    '/** Running totals. */',
    'export interface Totals { count: number; sum: number }',
    ''
].join('\n');

/** The host's workspace: 20,000 small .ts files in nested folders, a .env, node_modules, and a small TypeScript project in lang/. */
export function ideWorkspace(): Record<string, string> {
    const files: Record<string, string> = {
        'README.md': '# Big host workspace\n',
        '.env': 'SECRET=needle-env-secret\n',
        'tsconfig.json': JSON.stringify({ compilerOptions: { strict: true, target: 'ES2022', module: 'commonjs' }, include: ['lang'] }) + '\n',
        'lang/main.ts': LANG_MAIN,
        'lang/math.ts': LANG_MATH
    };
    for (let a = 0; a < FOLDERS[0]; a++) {
        for (let b = 0; b < FOLDERS[1]; b++) {
            for (let c = 0; c < FOLDERS[2]; c++) {
                files[`src/pkg${a}/mod${b}/unit-${a}-${b}-${c}.ts`] =
                    `// unit ${a}/${b}/${c}\nexport const value${c} = 'tok${a}x${b}x${c}q';\nexport function fn${c}(input: number): number {\n    return input * ${c + 1};\n}\n`;
            }
        }
    }
    for (let p = 0; p < 20; p++) {
        for (let f = 0; f < 10; f++) {
            files[`node_modules/dep${p}/lib/file${f}.js`] = `module.exports = 'tok0x0x${f}q dependency ${p}';\n`;
        }
    }
    return files;
}

/** Deterministic, spread-out file coordinates for query `i`. */
function coordinates(i: number): [number, number, number] {
    return [(i * 7 + 3) % FOLDERS[0], (i * 11 + 5) % FOLDERS[1], (i * 17 + 9) % FOLDERS[2]];
}

async function focusShell(window: TheiaWindow): Promise<void> {
    await window.page.keyboard.press('Escape');
    await window.page.locator('#theia-statusBar').click({ position: { x: 600, y: 5 } }).catch(() => undefined);
}

/** Ctrl+P, the file name filled in: input event -> the file's row shown. */
async function quickOpen(window: TheiaWindow, name: string): Promise<number> {
    const page = window.page;
    await focusShell(window);
    await page.keyboard.press('Control+P');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: 15_000 });
    await input.fill('');
    await armInput(page, 'qo', 'input');
    await armCondition(page, 'qoShown', `return [...document.querySelectorAll('.quick-input-widget .monaco-list-row')].some(row => row.textContent.includes(${JSON.stringify(name + '.ts')}));`);
    await input.fill(name);
    const shown = await mark(page, 'qoShown', 120_000);
    const ms = shown - await mark(page, 'qo');
    await page.keyboard.press('Escape');
    return ms;
}

/** Find in Files: the query filled in, Enter keydown -> the matching file shown in the Search view. */
async function findInFiles(window: TheiaWindow, query: string, file: string): Promise<number> {
    const page = window.page;
    const input = page.locator('#search-input-field');
    if (!await input.isVisible()) {
        await focusShell(window);
        await page.keyboard.press('Control+Shift+F');
        await input.waitFor({ state: 'visible', timeout: 20_000 });
    }
    await input.fill(query);
    await armInput(page, 'fif', 'keydown');
    await armCondition(page, 'fifShown', `return [...document.querySelectorAll('#search-in-workspace .file-name')].some(node => node.textContent.trim() === ${JSON.stringify(file)});`);
    await input.press('Enter');
    const shown = await mark(page, 'fifShown', 120_000);
    return shown - await mark(page, 'fif');
}

/** Mouse onto `target` (after the mouse left and any hover closed): mousemove -> the hover with `text` shown. */
async function hover(window: TheiaWindow, target: Locator, text: string): Promise<number> {
    const page = window.page;
    for (let attempt = 1; ; attempt++) {
        await page.mouse.move(0, 0);
        await page.keyboard.press('Escape');
        await page.locator('.monaco-hover:not(.hidden)').filter({ hasText: text }).waitFor({ state: 'hidden', timeout: 5000 }).catch(() => undefined);
        const box = (await target.boundingBox())!;
        await armInput(page, 'hv', 'mousemove');
        await armCondition(page, 'hvShown', `return [...document.querySelectorAll('.monaco-hover')].some(node => node.offsetParent !== null && node.textContent.includes(${JSON.stringify(text)}));`);
        await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
        try {
            const shown = await mark(page, 'hvShown', 10_000);
            return shown - await mark(page, 'hv');
        } catch (error) {
            // The editor's layout moved under the mouse (e.g. the breadcrumbs appeared): not a measurement.
            if (attempt >= 3) {
                throw error;
            }
            log(`${window.name}: no hover for '${text}' (layout moved?), again`);
        }
    }
}

/** Ctrl+Space at the end of the `total.` line: keydown -> the suggest widget lists `member`. */
async function completion(window: TheiaWindow, line: Locator, member: string): Promise<number> {
    const page = window.page;
    await page.keyboard.press('Escape');
    await page.locator('.editor-widget.suggest-widget.visible').waitFor({ state: 'hidden', timeout: 5000 }).catch(() => undefined);
    await line.click();
    await page.keyboard.press('End');
    await armInput(page, 'cp', 'keydown');
    await armCondition(page, 'cpShown', `return [...document.querySelectorAll('.editor-widget.suggest-widget.visible .monaco-list-row .label-name')].some(node => node.textContent.trim() === ${JSON.stringify(member)});`);
    await page.keyboard.press('Control+Space');
    const shown = await mark(page, 'cpShown', 30_000);
    const ms = shown - await mark(page, 'cp');
    await page.keyboard.press('Escape');
    return ms;
}

/** Runs `measure` `count` times per window, host and guest taking turns; the first `warmup` rounds are not kept. */
async function alternate(label: string, count: number, warmup: number, host: TheiaWindow, guest: TheiaWindow,
    measure: (window: TheiaWindow, i: number) => Promise<number>): Promise<{ host: Samples; guest: Samples }> {
    const result = { host: new Samples(), guest: new Samples() };
    for (let i = 0; i < count + warmup; i++) {
        for (const [side, window] of [['host', host], ['guest', guest]] as const) {
            const ms = await measure(window, i);
            if (i >= warmup) {
                result[side].add(ms);
            } else {
                log(`${label} warm-up ${side}: ${round(ms, 1)} ms`);
            }
        }
    }
    log(`${label}: host p50 ${result.host.summary().p50} ms, guest p50 ${result.guest.summary().p50} ms`);
    return result;
}

export const ide: BenchmarkDefinition = {
    name: 'ide',
    title: 'A real IDE for guests: Quick Open / Find in Files on 20,000 files, hover / completion, guest vs host (Chromium)',
    async run(reporter: Reporter) {
        reporter.note(`Two browser-app backends with the in-repo plugins (typescript-language-server), one headless Chromium, the collab-server as a child process. Host workspace: ${FOLDERS.join(' x ')} = 20,000 .ts files, a .env and node_modules (200 files). ${SEARCH_QUERIES} Quick Open and Find in Files queries and ${LANGUAGE_SAMPLES} hovers (editor.hover.delay ${HOVER_DELAY_MS} ms in both windows, so the round trip is not hidden by Monaco's default 300 ms) and completions per side, host and guest taking turns, after one warm-up each. Marks are taken inside the pages.`);
        reporter.data.loadAverageAtStart = loadAverage();
        const closers: (() => Promise<void>)[] = [];
        let windows: TheiaWindow[] = [];
        const rows: (string | number)[][] = [];
        const targets: { name: string; target: string; host: Samples; guest: Samples; check: (host: number, guest: number) => boolean; limit: string }[] = [];
        try {
            const t0 = Date.now();
            const files = ideWorkspace();
            const server = await startCollabServer({ config: { allowedOrigins: ['*'] } });
            closers.push(() => server.stop());
            const backends: TheiaBackend[] = await Promise.all([
                startTheiaBackend({ name: 'bench-ide-host', serverUrl: server.url, files, plugins: true, startTimeoutMs: 180_000 }),
                startTheiaBackend({ name: 'bench-ide-guest', serverUrl: server.url, files: { 'guest-only.txt': 'mine\n' }, plugins: true, startTimeoutMs: 180_000 })
            ]);
            closers.push(...backends.map(backend => () => backend.stop()));
            log(`workspace of ${Object.keys(files).length} files generated and backends started in ${round((Date.now() - t0) / 1000, 1)} s`);
            // Both users' settings: a short hover delay (Monaco's default 300 ms would hide the guest's round trip).
            for (const backend of backends) {
                const settings = path.join(path.dirname(backend.workspace), 'home', '.theia', 'settings.json');
                fs.mkdirSync(path.dirname(settings), { recursive: true });
                fs.writeFileSync(settings, JSON.stringify({ 'editor.hover.delay': HOVER_DELAY_MS }) + '\n');
            }
            const browser = await launchBrowser();
            closers.push(() => browser.close());
            const host = await TheiaWindow.open(browser, backends[0], 'host');
            const guest = await TheiaWindow.open(browser, backends[1], 'guest');
            windows = [host, guest];
            for (const window of windows) {
                await instrument(window.page);
                await showExplorer(window);
            }
            await startCollaboration(host, guest, { permission: 'readwrite' });
            await waitFor(async () => guest.page.locator('#files .theia-TreeNodeSegmentGrow').filter({ hasText: /^lang$/ }).isVisible(), 60_000, 'the host\'s files at the guest');

            // (a) search
            await waitQuiet([], 60_000);
            const quick = await alternate('Quick Open', SEARCH_QUERIES, 1, host, guest, (window, i) => {
                const [a, b, c] = coordinates(i);
                return quickOpen(window, `unit-${a}-${b}-${c}`);
            });
            await waitQuiet([], 60_000);
            const find = await alternate('Find in Files', SEARCH_QUERIES, 1, host, guest, (window, i) => {
                const [a, b, c] = coordinates(i + 100);
                return findInFiles(window, `tok${a}x${b}x${c}q`, `unit-${a}-${b}-${c}.ts`);
            });

            // (b) language: both have lang/main.ts open (the host's language server knows it)
            const editors: Record<string, { editor: Locator; line: Locator }> = {};
            for (const window of [host, guest]) {
                await focusShell(window);
                const editor = await openSharedFile(window, 'main.ts', /addNumbers\(1, 2\)/, 'lang');
                editors[window.name] = { editor, line: editor.locator('.view-lines > .view-line').filter({ hasText: /^total\.\s*$/ }).first() };
            }
            for (const window of [host, guest]) {
                await waitFor(async () => (await window.page.locator('#status-bar-editor-status-language').innerText().catch(() => '')).trim() === 'TypeScript',
                    60_000, `${window.name}: TypeScript`);
            }
            await new Promise(resolve => setTimeout(resolve, 3000)); // breadcrumbs, lightbulbs: the editors' layout settles
            await waitQuiet([], 60_000);
            const hovers = await alternate('hover', LANGUAGE_SAMPLES, 2, host, guest, (window, i) => i % 2 === 0
                ? hover(window, token(editors[window.name].editor, 'const total', 'addNumbers'), 'Adds two numbers')
                : hover(window, token(editors[window.name].editor, 'const totals', 'Totals'), 'Running totals'));
            const completions = await alternate('completion', LANGUAGE_SAMPLES, 2, host, guest, window => completion(window, editors[window.name].line, 'toFixed'));

            const ratioCheck = (h: number, g: number) => g <= 1.5 * h;
            const plus20 = (h: number, g: number) => g <= h + 20;
            targets.push(
                { name: 'guest Quick Open on 20,000 files', target: '<= 1.5x host p50', host: quick.host, guest: quick.guest, check: ratioCheck, limit: '1.5x' },
                { name: 'guest Find in Files on 20,000 files', target: '<= 1.5x host p50', host: find.host, guest: find.guest, check: ratioCheck, limit: '1.5x' },
                { name: 'guest hover (language server)', target: '<= host p50 + 20 ms', host: hovers.host, guest: hovers.guest, check: plus20, limit: '+20 ms' },
                { name: 'guest completion (language server)', target: '<= host p50 + 20 ms', host: completions.host, guest: completions.guest, check: plus20, limit: '+20 ms' }
            );
            for (const t of targets) {
                const h = t.host.summary();
                const g = t.guest.summary();
                rows.push([t.name.replace(/^guest /, ''), h.p50, h.p95, g.p50, g.p95, round(g.p50 / h.p50, 2), round(g.p50 - h.p50, 1)]);
            }
        } catch (error) {
            for (const window of windows) {
                await window.screenshot(`bench-ide-failed-${window.name}`).catch(() => undefined);
                window.saveConsole(`bench-ide-${window.name}-console.log`);
            }
            throw error;
        } finally {
            for (const window of windows) {
                await window.close();
            }
            for (const closer of closers.reverse()) {
                await closer().catch(() => undefined);
            }
        }
        reporter.table('Guest vs host (ms)', ['operation', 'host p50', 'host p95', 'guest p50', 'guest p95', 'guest/host', 'guest-host'], rows);
        for (const t of targets) {
            const h = t.host.summary().p50;
            const g = t.guest.summary().p50;
            reporter.target(t.name, t.target, `guest ${g} ms vs host ${h} ms (${round(g / h, 2)}x, ${g - h >= 0 ? '+' : ''}${round(g - h, 1)} ms)`, t.check(h, g));
        }
        Object.assign(reporter.data, {
            files: 20_000 + 205,
            results: Object.fromEntries(targets.map(t => [t.name, { host: t.host.summary(), guest: t.guest.summary() }])),
            quiet: quietSummary(),
            loadAverageAtEnd: loadAverage()
        });
    }
};

if (require.main === module) {
    main(ide);
}


