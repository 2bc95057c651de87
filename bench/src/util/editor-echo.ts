/**
 * In-page instrumentation of one Monaco editor, shared by the echo and room30 benchmarks:
 * - every printable keydown (capture phase, before Monaco sees it) is marked with the page's wall clock;
 * - a MutationObserver on the visible editor's `.view-lines` marks when each line starting with a marker
 *   grew by one more character (the character is in the editor's DOM);
 * plus the main-thread time of a page (CDP Performance.getMetrics) and a CPU profile summary (CDP Profiler).
 * Wall clock = performance.timeOrigin + performance.now(): comparable between the pages of one browser.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { CDPSession, Page } from 'playwright-core';
import { cpuMs, descendants, machineBusyMs, REPO_ROOT } from './proc';
import { RESULTS_DIR } from './report';
import { LatencySummary, round, Samples } from './stats';

/** (Re)installs the watch on the visible editor whose text has one of `markers`; resets the marks. */
export async function installEditorWatch(page: Page, markers: string[]): Promise<void> {
    await page.evaluate((markerList: string[]) => {
        const w = window as any;
        const wall = () => performance.timeOrigin + performance.now();
        const echo = w.__echo ?? (w.__echo = { keydowns: [] as number[], lines: {}, observer: undefined as MutationObserver | undefined, wall });
        if (!echo.keyListener) {
            echo.keyListener = (event: KeyboardEvent) => {
                if (event.key.length === 1) {
                    echo.keydowns.push(wall());
                }
            };
            document.addEventListener('keydown', echo.keyListener, true);
        }
        echo.observer?.disconnect();
        echo.keydowns.length = 0;
        echo.lines = Object.fromEntries(markerList.map(marker => [marker, { count: 0, times: [] as number[] }]));
        const editors = [...document.querySelectorAll('#theia-main-content-panel .monaco-editor')]
            .filter(node => (node as HTMLElement).offsetParent !== null && node.querySelector('.view-lines'));
        const editor = editors.find(node => markerList.some(marker => (node.querySelector('.view-lines')!.textContent ?? '').replace(/\u00a0/g, ' ').includes(marker)));
        if (!editor) {
            throw new Error(`no visible editor shows ${markerList.join(', ')}`);
        }
        const root = editor.querySelector('.view-lines')!;
        const check = () => {
            const at = wall();
            for (const line of root.querySelectorAll('.view-line')) {
                const text = (line.textContent ?? '').replace(/\u00a0/g, ' ');
                for (const marker of markerList) {
                    if (text.startsWith(marker)) {
                        const state = echo.lines[marker];
                        const count = text.length - marker.length;
                        while (state.count < count) {
                            state.count++;
                            state.times[state.count] = at;
                        }
                    }
                }
            }
        };
        check();
        echo.observer = new MutationObserver(check);
        echo.observer.observe(root, { childList: true, subtree: true, characterData: true });
    }, markers);
}

export function resetKeydowns(page: Page): Promise<void> {
    return page.evaluate(() => { (window as any).__echo.keydowns.length = 0; });
}

export function keydowns(page: Page): Promise<number[]> {
    return page.evaluate(() => (window as any).__echo.keydowns.slice() as number[]);
}

export function lineCount(page: Page, marker: string): Promise<number> {
    return page.evaluate(m => (window as any).__echo.lines[m].count as number, marker);
}

export function lineTimes(page: Page, marker: string): Promise<number[]> {
    return page.evaluate(m => (window as any).__echo.lines[m].times.slice() as number[], marker);
}

/** Puts the caret at the end of the line starting with `marker` in the visible editor. */
export async function caretToLineEnd(page: Page, marker: string): Promise<void> {
    const line = page.locator('#theia-main-content-panel .monaco-editor:visible .view-line').filter({ hasText: marker }).first();
    await line.click({ timeout: 120_000 });
    await page.keyboard.press('End');
}

/** Per keystroke i: `times[start + i + 1] - downs[i]` (undefined entries are counted as missing). */
export function latencies(downs: number[], times: number[], start: number, count: number): { samples: Samples; missing: number; perKey: (number | undefined)[] } {
    const samples = new Samples();
    const perKey: (number | undefined)[] = [];
    let missing = 0;
    for (let i = 0; i < count; i++) {
        const k = downs[i];
        const t = times[start + i + 1];
        if (k === undefined || t === undefined) {
            missing++;
            perKey.push(undefined);
            continue;
        }
        samples.add(t - k);
        perKey.push(t - k);
    }
    return { samples, missing, perKey };
}

// ---- main-thread time (CDP) ----

export interface MainThread {
    /** All tasks on the renderer's main thread (ms). */
    taskMs: number;
    /** JavaScript execution (ms). */
    scriptMs: number;
    layoutMs: number;
    styleMs: number;
}

export class MainThreadMeter {
    protected constructor(protected readonly cdp: CDPSession) { }

    static async attach(page: Page): Promise<MainThreadMeter> {
        const cdp = await page.context().newCDPSession(page);
        await cdp.send('Performance.enable');
        return new MainThreadMeter(cdp);
    }

    async read(): Promise<MainThread> {
        const { metrics } = await this.cdp.send('Performance.getMetrics');
        const value = (name: string) => (metrics.find(metric => metric.name === name)?.value ?? NaN) * 1000;
        return { taskMs: value('TaskDuration'), scriptMs: value('ScriptDuration'), layoutMs: value('LayoutDuration'), styleMs: value('RecalcStyleDuration') };
    }

    /** Runs `body` and returns the main-thread time it took on this page. */
    async measure(body: () => Promise<void>): Promise<MainThread> {
        const before = await this.read();
        await body();
        const after = await this.read();
        return diff(after, before);
    }

    async detach(): Promise<void> {
        await this.cdp.detach().catch(() => undefined);
    }
}

export function diff(after: MainThread, before: MainThread): MainThread {
    return {
        taskMs: round(after.taskMs - before.taskMs, 1),
        scriptMs: round(after.scriptMs - before.scriptMs, 1),
        layoutMs: round(after.layoutMs - before.layoutMs, 1),
        styleMs: round(after.styleMs - before.styleMs, 1)
    };
}

export function addThread(a: MainThread, b: MainThread): MainThread {
    return { taskMs: round(a.taskMs + b.taskMs, 1), scriptMs: round(a.scriptMs + b.scriptMs, 1), layoutMs: round(a.layoutMs + b.layoutMs, 1), styleMs: round(a.styleMs + b.styleMs, 1) };
}

// ---- CPU profile (CDP Profiler) ----

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }; children?: number[] }
interface Profile { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }

export interface ProfileSummary {
    file: string;
    totalMs: number;
    /** Self time by function (name, file:line), highest first. */
    functions: { name: string; where: string; selfMs: number }[];
    /** Self time by script file, highest first. */
    files: { where: string; selfMs: number }[];
}

/** Starts the sampling profiler in `page`; the returned function stops it, saves the profile and summarises it. */
export async function startProfile(page: Page, name: string): Promise<(top?: number) => Promise<ProfileSummary>> {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 1000 });
    await cdp.send('Profiler.start');
    return async (top = 25) => {
        const { profile } = await cdp.send('Profiler.stop') as unknown as { profile: Profile };
        await cdp.detach().catch(() => undefined);
        fs.mkdirSync(RESULTS_DIR, { recursive: true });
        const file = path.join(RESULTS_DIR, `${name}-${new Date().toISOString().replace(/[:.]/g, '')}.cpuprofile`);
        fs.writeFileSync(file, JSON.stringify(profile));
        return summariseProfile(profile, file, top);
    };
}

/** Maps frames of the app's frontend bundle to their source files (browser-app/lib/frontend/*.js.map). */
const consumers = new Map<string, { originalPositionFor(pos: { line: number; column: number }): { source?: string | null; line?: number | null } } | null>();
function original(url: string, line: number, column: number): { source: string; line: number } | undefined {
    const file = /\/([\w.-]+\.js)(?:\?.*)?$/.exec(url)?.[1];
    // Off unless asked for: positions mapped through browser-app/lib/frontend/bundle.js.map came out wrong (another build's map?).
    if (!file || !process.env.BENCH_SOURCEMAP) {
        return undefined;
    }
    if (!consumers.has(file)) {
        try {
            const { SourceMapConsumer } = require('source-map-js') as typeof import('source-map-js');
            const raw = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'browser-app', 'lib', 'frontend', `${file}.map`), 'utf8'));
            consumers.set(file, new SourceMapConsumer(raw));
        } catch {
            consumers.set(file, null);
        }
    }
    const position = consumers.get(file)?.originalPositionFor({ line: line + 1, column });
    return position?.source ? { source: position.source.replace(/^webpack:\/\/[^/]*\//, '').replace(/^(\.\.\/)+/, '').replace(/.*node_modules\//, 'node_modules/'), line: position.line ?? 0 } : undefined;
}

function shortUrl(url: string): string {
    if (!url) {
        return '(native)';
    }
    return url.replace(/^https?:\/\/[^/]+\//, '').replace(/^webpack:\/\/\/?/, '');
}

export function summariseProfile(profile: Profile, file: string, top = 25): ProfileSummary {
    const byId = new Map(profile.nodes.map(node => [node.id, node]));
    const self = new Map<number, number>();
    for (let i = 0; i < profile.samples.length; i++) {
        const delta = (profile.timeDeltas[i + 1] ?? 0) / 1000;
        self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + delta);
    }
    const functions = new Map<string, { name: string; where: string; selfMs: number }>();
    const files = new Map<string, number>();
    let total = 0;
    for (const [id, ms] of self) {
        const frame = byId.get(id)!.callFrame;
        if (frame.functionName === '(idle)') {
            continue;
        }
        total += ms;
        const mapped = frame.url ? original(frame.url, frame.lineNumber, frame.columnNumber) : undefined;
        const where = mapped ? `${mapped.source}:${mapped.line}` : frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}:${frame.columnNumber + 1}` : '';
        const key = `${frame.functionName}@${where}`;
        const entry = functions.get(key) ?? { name: frame.functionName || '(anonymous)', where, selfMs: 0 };
        entry.selfMs += ms;
        functions.set(key, entry);
        const fileKey = mapped ? mapped.source : frame.url ? shortUrl(frame.url) : frame.functionName;
        files.set(fileKey, (files.get(fileKey) ?? 0) + ms);
    }
    return {
        file,
        totalMs: round(total, 1),
        functions: [...functions.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, top).map(f => ({ ...f, selfMs: round(f.selfMs, 1) })),
        files: [...files].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([where, ms]) => ({ where, selfMs: round(ms, 1) }))
    };
}

// ---- the rest of the machine ----

/** CPU of processes other than this one and its descendants (+ extra pids) between start and stop, % of one core. */
export class OtherCpuMeter {
    protected busy0 = 0;
    protected own0 = 0;
    protected at0 = 0;
    protected pids: number[] = [];
    constructor(protected readonly extraPids: number[] = []) { }

    protected own(): number {
        const self = process.cpuUsage();
        return (self.user + self.system) / 1000 + this.pids.reduce((sum, pid) => {
            try {
                return sum + cpuMs(pid);
            } catch {
                return sum;
            }
        }, 0);
    }

    start(): void {
        this.pids = [...new Set([...descendants(), ...this.extraPids])];
        this.busy0 = machineBusyMs();
        this.own0 = this.own();
        this.at0 = Date.now();
    }

    /** Others' CPU in % of one core (processes that exited meanwhile are counted as others: read it while they run). */
    stop(): number {
        const other = machineBusyMs() - this.busy0 - (this.own() - this.own0);
        const elapsed = Date.now() - this.at0;
        return elapsed > 0 ? round(Math.max(0, other) / elapsed * 100, 0) : NaN;
    }
}

/** Functions whose self time grew most from `base` to `other` (same work, e.g. the same keys typed), highest first. */
export function profileGrowth(base: ProfileSummary, other: ProfileSummary, top = 25): { name: string; where: string; baseMs: number; otherMs: number; extraMs: number }[] {
    const key = (f: { name: string; where: string }) => `${f.name}@${f.where}`;
    const baseBy = new Map(base.functions.map(f => [key(f), f.selfMs]));
    return other.functions.map(f => ({ name: f.name, where: f.where, baseMs: baseBy.get(key(f)) ?? 0, otherMs: f.selfMs, extraMs: round(f.selfMs - (baseBy.get(key(f)) ?? 0), 1) }))
        .sort((a, b) => b.extraMs - a.extraMs).slice(0, top);
}

export function signed(value: number): string {
    return `${value >= 0 ? '+' : ''}${value}`;
}

export type { LatencySummary };

/** Shows the file explorer (View > Explorer toggles it: only used while it is hidden), retried. */
export async function ensureExplorer(window: { page: Page; runMenu(...labels: string[]): Promise<void> }): Promise<void> {
    const files = window.page.locator('#files');
    for (let attempt = 0; attempt < 5; attempt++) {
        if (await files.isVisible().catch(() => false)) {
            return;
        }
        await window.runMenu('View', 'Explorer').catch(() => undefined);
        try {
            await files.waitFor({ state: 'visible', timeout: 5000 });
            return;
        } catch {
            // toggled the wrong way, or still loading: look again
        }
    }
    await files.waitFor({ state: 'visible', timeout: 10_000 });
}
