/**
 * The typist's own echo, in real Chromium: keydown -> the character rendered in the typist's own editor
 * (Monaco, same app, same file), with a session (host typing, guest typing; the other participant has the
 * file open) against the same apps and file without a session (the baseline, measured first in the same
 * run). Two paces: steady (one key every 120 ms) and bursts (20 keys as fast as the page takes them).
 * Marks are taken inside the pages (keydown in the capture phase; a MutationObserver on `.view-lines`).
 * Also each page's main-thread time (CDP Performance.getMetrics: TaskDuration, ScriptDuration) for the
 * same browsing (opening the file) and typing, with and without a session.
 *
 *   npm run bench -- echo        (needs `npm run build:browser`)
 */
import type { Page } from 'playwright-core';
import { BenchmarkDefinition, main } from './util/main';
import { loadAverage } from './util/proc';
import { quietSummary, waitQuiet } from './util/quiet';
import { log, Reporter } from './util/report';
import { Apps, navigatorNode, startApps, startSessionAndJoin, TheiaWindow, waitFor } from './util/browser-apps';
import { workspaceFiles } from './joinflow';
import {
    addThread, caretToLineEnd, ensureExplorer, installEditorWatch, keydowns, latencies, lineCount, lineTimes, MainThread, MainThreadMeter,
    OtherCpuMeter, ProfileSummary, profileGrowth, resetKeydowns, signed, startProfile
} from './util/editor-echo';
import { LatencySummary, ratio, round } from './util/stats';
import { sleep } from './util/time';

const QUICK = !!process.env.BENCH_QUICK;
const STEADY_KEYS = QUICK ? 30 : 150;
const STEADY_PAUSE_MS = 120;
const BURSTS = QUICK ? 2 : 8;
const BURST_SIZE = 20;
const BURST_GAP_MS = 1000;
const WARMUP_KEYS = 20;
const FILE = 'bench.txt';
/** Baseline lines (no session) and session lines: every phase types on a line of its own, starting empty. */
const LINES = { hostBase: 'HOSTBASE:', guestBase: 'GUESTBASE:', host: 'HOSTLINE:', guest: 'GUESTLINE:' };
const TEXT = `echo benchmark\n${Object.values(LINES).join('\n')}\nend\n`;
const ALL_MARKERS = Object.values(LINES);

type Mode = 'steady' | 'burst';
type Condition = 'baseline' | 'session';

interface PhaseResult {
    window: string;
    condition: Condition;
    mode: Mode;
    local: LatencySummary;
    missing: number;
    /** Session: characters that arrived in the other window (sanity: the other participant has them). */
    remoteArrived?: number;
    keys: number;
    otherCpuPercent: number;
    raw: number[];
}

/**
 * The letters typed on a marker's line: six of its own per line. Typing the same letters on every line made
 * the session rounds unlike the baseline: there the line typed before (same file) held a word starting like
 * the one being typed, so Monaco's word-based suggestions opened and re-filtered on every key (about 1.6 ms
 * of script per key plus the list's rendering, in profiles), which has nothing to do with collaboration.
 */
export function lettersOf(marker: string, markers: readonly string[]): (i: number) => string {
    const first = 97 + 6 * Math.max(0, markers.indexOf(marker));
    return i => String.fromCharCode(first + (i % 6));
}

async function openFile(window: TheiaWindow): Promise<void> {
    await navigatorNode(window, FILE).waitFor({ state: 'visible', timeout: 30_000 });
    await navigatorNode(window, FILE).dblclick();
    const lines = window.page.locator('#theia-main-content-panel .monaco-editor:visible .view-lines').first();
    await lines.waitFor({ state: 'visible', timeout: 30_000 });
    await waitFor(async () => (await lines.innerText()).includes(LINES.guest), 30_000, `${window.name}: ${FILE} in the editor`);
}

async function typeKeys(page: Page, mode: Mode, alphabet: (i: number) => string): Promise<number> {
    if (mode === 'steady') {
        for (let i = 0; i < STEADY_KEYS; i++) {
            await page.keyboard.press(alphabet(i));
            await sleep(STEADY_PAUSE_MS);
        }
        return STEADY_KEYS;
    }
    for (let b = 0; b < BURSTS; b++) {
        let text = '';
        for (let i = 0; i < BURST_SIZE; i++) {
            text += alphabet(b * BURST_SIZE + i);
        }
        await page.keyboard.type(text);
        await sleep(BURST_GAP_MS);
    }
    return BURSTS * BURST_SIZE;
}

async function typePhase(typist: TheiaWindow, other: TheiaWindow | undefined, marker: string, condition: Condition, mode: Mode, extraPids: number[]): Promise<PhaseResult> {
    const page = typist.page;
    await caretToLineEnd(page, marker);
    await sleep(500);
    const start = await lineCount(page, marker);
    const otherStart = other ? await lineCount(other.page, marker) : 0;
    await resetKeydowns(page);
    const others = new OtherCpuMeter(extraPids);
    others.start();
    const keys = await typeKeys(page, mode, lettersOf(marker, ALL_MARKERS));
    await waitFor(async () => (await lineCount(page, marker)) >= start + keys, 15_000, `${typist.name}: all keys in its own editor`).catch(() => undefined);
    let remoteArrived: number | undefined;
    if (other) {
        await waitFor(async () => (await lineCount(other.page, marker)) >= otherStart + keys, 15_000, `${other.name}: all keys`).catch(() => undefined);
        remoteArrived = (await lineCount(other.page, marker)) - otherStart;
    }
    const otherCpuPercent = others.stop();
    await sleep(200);
    const { samples, missing } = latencies(await keydowns(page), await lineTimes(page, marker), start, keys);
    return { window: typist.name, condition, mode, local: samples.summary(), missing, remoteArrived, keys, otherCpuPercent, raw: samples.raw().map(v => round(v, 2)) };
}

/** Untimed keys first: the first keystrokes in an editor (or after joining) pay for compilation and lazy set-up. */
async function warmUp(typist: TheiaWindow, marker: string): Promise<void> {
    const alphabet = lettersOf(marker, ALL_MARKERS);
    await caretToLineEnd(typist.page, marker);
    for (let i = 0; i < WARMUP_KEYS; i++) {
        await typist.page.keyboard.press(alphabet(i));
        await sleep(60);
    }
    await typist.page.keyboard.type(Array.from({ length: 20 }, (_, i) => alphabet(i)).join(''));
    await sleep(1000);
}

function printProfile(reporter: Reporter, title: string, summary: ProfileSummary): void {
    reporter.table(`${title}: self time by function (profile ${summary.totalMs} ms busy, ${summary.file})`, ['function', 'where', 'self ms'],
        summary.functions.map(f => [f.name, f.where, f.selfMs]));
    reporter.table(`${title}: self time by source file`, ['file', 'self ms'], summary.files.map(f => [f.where, f.selfMs]));
}

export const echo: BenchmarkDefinition = {
    name: 'echo',
    title: `The typist's own echo with and without a session (Chromium): ${STEADY_KEYS} steady keys + ${BURSTS}x${BURST_SIZE} burst keys per window and condition`,
    async run(reporter: Reporter) {
        reporter.note(`Two browser-app backends (host, guest), one headless Chromium (two contexts), the collab-server as a child process. Both workspaces have the same ${FILE}. Baseline: no session, each window types into its own ${FILE}. Session: the guest joins read-write, both open the host's ${FILE}; the host types, then the guest. Each phase: ${WARMUP_KEYS + 20} untimed warm-up keys, then ${STEADY_KEYS} keys ${STEADY_PAUSE_MS} ms apart, then ${BURSTS} bursts of ${BURST_SIZE} keys (keyboard.type, no delay) ${BURST_GAP_MS} ms apart, at the end of a line of its own, with six letters of its own (no word elsewhere in the file starts like it: no word suggestions in either condition). Echo = keydown (capture listener) -> the character in the typist's .view-lines (MutationObserver), wall clock inside the page.`);
        reporter.data.loadAverageAtStart = loadAverage();
        let apps: Apps | undefined;
        const phases: PhaseResult[] = [];
        const threads: Record<string, Record<string, MainThread>> = {};
        const profiles: Record<string, ProfileSummary> = {};
        const growth: Record<string, ReturnType<typeof profileGrowth>> = {};
        try {
            apps = await startApps('bench-echo', { ...workspaceFiles(), [FILE]: TEXT }, { 'guest-only.txt': 'mine\n', [FILE]: TEXT });
            const windows = [apps.host, apps.guest];
            const extraPids = [apps.server.pid];
            const meters = new Map<TheiaWindow, MainThreadMeter>();
            for (const window of windows) {
                meters.set(window, await MainThreadMeter.attach(window.page));
                await ensureExplorer(window);
            }
            const record = (condition: string, window: TheiaWindow, part: string, value: MainThread) => {
                const key = `${condition}/${window.name}`;
                threads[key] = { ...threads[key], [part]: value };
            };

            // ---- baseline: no session, the same file in each window's own workspace ----
            for (const [window, marker] of [[apps.host, LINES.hostBase], [apps.guest, LINES.guestBase]] as const) {
                await waitQuiet([], 60_000);
                record('baseline', window, 'open', await meters.get(window)!.measure(() => openFile(window)));
                await installEditorWatch(window.page, ALL_MARKERS);
                await warmUp(window, marker);
                for (const mode of ['steady', 'burst'] as Mode[]) {
                    let result!: PhaseResult;
                    record('baseline', window, mode, await meters.get(window)!.measure(async () => {
                        result = await typePhase(window, undefined, marker, 'baseline', mode, extraPids);
                    }));
                    phases.push(result);
                    log(`baseline ${window.name} ${mode}: echo p50 ${result.local.p50} ms, p95 ${result.local.p95} ms, missing ${result.missing}, others ${result.otherCpuPercent}% of a core`);
                }
            }

            // ---- unmeasured, profiled baseline rounds (the same keys as the profiled session rounds below) ----
            const baseProfiles: Record<string, ProfileSummary> = {};
            for (const [window, marker] of [[apps.host, LINES.hostBase], [apps.guest, LINES.guestBase]] as const) {
                const stop = await startProfile(window.page, `echo-${window.name}-baseline`);
                for (const mode of ['steady', 'burst'] as Mode[]) {
                    await typePhase(window, undefined, marker, 'baseline', mode, extraPids);
                }
                baseProfiles[window.name] = await stop(100_000);
            }

            // ---- session: the guest joins, both open the host's file; host types, then guest ----
            await startSessionAndJoin(apps, 'README.md');
            for (const window of windows) {
                record('session', window, 'open', await meters.get(window)!.measure(() => openFile(window)));
            }
            for (const window of windows) {
                await installEditorWatch(window.page, ALL_MARKERS);
            }
            await sleep(1500);
            for (const [typist, other, marker] of [[apps.host, apps.guest, LINES.host], [apps.guest, apps.host, LINES.guest]] as const) {
                await warmUp(typist, marker);
                await waitQuiet([], 60_000);
                for (const mode of ['steady', 'burst'] as Mode[]) {
                    const before = await Promise.all(windows.map(w => meters.get(w)!.read()));
                    const result = await typePhase(typist, other, marker, 'session', mode, extraPids);
                    const after = await Promise.all(windows.map(w => meters.get(w)!.read()));
                    windows.forEach((w, i) => record('session', w, `${typist.name} types ${mode}`, {
                        taskMs: round(after[i].taskMs - before[i].taskMs, 1), scriptMs: round(after[i].scriptMs - before[i].scriptMs, 1),
                        layoutMs: round(after[i].layoutMs - before[i].layoutMs, 1), styleMs: round(after[i].styleMs - before[i].styleMs, 1)
                    }));
                    phases.push(result);
                    log(`session ${typist.name} ${mode}: echo p50 ${result.local.p50} ms, p95 ${result.local.p95} ms, missing ${result.missing}, arrived at ${other.name}: ${result.remoteArrived}/${result.keys}, others ${result.otherCpuPercent}% of a core`);
                }
            }

            // ---- verdicts ----
            const find = (window: string, condition: Condition, mode: Mode) => phases.find(p => p.window === window && p.condition === condition && p.mode === mode)!;
            const missed: { window: TheiaWindow; marker: string }[] = [];
            for (const [window, marker] of [[apps.host, LINES.host], [apps.guest, LINES.guest]] as const) {
                let windowMissed = false;
                for (const mode of ['steady', 'burst'] as Mode[]) {
                    const base = find(window.name, 'baseline', mode);
                    const with_ = find(window.name, 'session', mode);
                    const d50 = round(with_.local.p50 - base.local.p50, 2);
                    const d95 = round(with_.local.p95 - base.local.p95, 2);
                    reporter.target(`echo, ${window.name} typing, ${mode}: p50 over no session`, '<= +1 ms', `${signed(d50)} ms (${with_.local.p50} vs ${base.local.p50})`, d50 <= 1);
                    reporter.target(`echo, ${window.name} typing, ${mode}: p95 over no session`, '<= +2 ms', `${signed(d95)} ms (${with_.local.p95} vs ${base.local.p95})`, d95 <= 2);
                    windowMissed ||= d50 > 1 || d95 > 2;
                    if (with_.missing || base.missing) {
                        reporter.partial = true;
                        reporter.note(`${window.name} ${mode}: ${base.missing} (baseline) / ${with_.missing} (session) keystrokes could not be matched`);
                    }
                }
                if (windowMissed) {
                    missed.push({ window, marker });
                }
            }

            // ---- where the time goes, when a target was missed: a profiled extra round (not counted) ----
            for (const { window, marker } of missed) {
                const stop = await startProfile(window.page, `echo-${window.name}-session`);
                for (const mode of ['steady', 'burst'] as Mode[]) {
                    await typePhase(window, window === apps.host ? apps.guest : apps.host, marker, 'session', mode, extraPids);
                }
                const full = await stop(100_000);
                profiles[window.name] = { ...full, functions: full.functions.slice(0, 25) };
                printProfile(reporter, `Profile of the ${window.name} page typing in the session (not counted)`, profiles[window.name]);
                const base = baseProfiles[window.name];
                growth[window.name] = profileGrowth(base, full);
                reporter.table(`${window.name} page, the same keys typed: self time with a session minus without (profiles ${base.totalMs} ms -> ${full.totalMs} ms busy)`,
                    ['function', 'where', 'no session ms', 'session ms', 'extra ms'], growth[window.name].map(g => [g.name, g.where, g.baseMs, g.otherMs, g.extraMs]));
            }
            for (const meter of meters.values()) {
                await meter.detach();
            }
        } catch (error) {
            if (apps) {
                for (const window of [apps.host, apps.guest]) {
                    await window.screenshot(`bench-echo-failed-${window.name}`).catch(() => undefined);
                    window.saveConsole(`bench-echo-${window.name}-console.log`);
                }
            }
            throw error;
        } finally {
            await apps?.close();
        }

        reporter.table('Own echo: keydown -> rendered in the typist\'s editor (ms)', ['window', 'condition', 'pace', 'p50', 'p95', 'p99', 'max', 'mean', 'samples', 'missing', 'others % core'],
            phases.map(p => [p.window, p.condition, p.mode, p.local.p50, p.local.p95, p.local.p99, p.local.max, p.local.mean, p.local.count, p.missing, p.otherCpuPercent]));

        // Main thread: the same browsing (open the file) and typing (both windows' keys) per page.
        const total = (key: string, parts: string[]) => parts.reduce((sum, part) => threads[key]?.[part] ? addThread(sum, threads[key][part]) : sum, { taskMs: 0, scriptMs: 0, layoutMs: 0, styleMs: 0 });
        const sessionParts = ['open', ...['host', 'guest'].flatMap(who => [`${who} types steady`, `${who} types burst`])];
        const typingParts = sessionParts.slice(1);
        const rows: (string | number)[][] = [];
        for (const [key, parts] of Object.entries(threads)) {
            for (const [part, value] of Object.entries(parts)) {
                rows.push([key, part, value.taskMs, value.scriptMs, value.layoutMs, value.styleMs]);
            }
        }
        const hostSession = total('session/host', sessionParts);
        const guestSession = total('session/guest', sessionParts);
        const hostTyping = total('session/host', typingParts);
        const guestTyping = total('session/guest', typingParts);
        rows.push(['session/host', 'TOTAL (open + all typing)', hostSession.taskMs, hostSession.scriptMs, hostSession.layoutMs, hostSession.styleMs]);
        rows.push(['session/guest', 'TOTAL (open + all typing)', guestSession.taskMs, guestSession.scriptMs, guestSession.layoutMs, guestSession.styleMs]);
        reporter.table('Main-thread time per page (ms, CDP Performance.getMetrics)', ['page', 'part', 'task', 'script', 'layout', 'style'], rows);
        const taskRatio = ratio(guestSession.taskMs, hostSession.taskMs);
        const scriptRatio = ratio(guestSession.scriptMs, hostSession.scriptMs);
        reporter.target('main thread, guest page vs host page (open + typing in the session), task time', '<= 1.5x',
            `${taskRatio}x (${guestSession.taskMs} vs ${hostSession.taskMs} ms; script ${scriptRatio}x; typing only ${ratio(guestTyping.taskMs, hostTyping.taskMs)}x)`, taskRatio <= 1.5);
        Object.assign(reporter.data, {
            steadyKeys: STEADY_KEYS, steadyPauseMs: STEADY_PAUSE_MS, bursts: BURSTS, burstSize: BURST_SIZE, phases, mainThread: threads,
            mainThreadTotals: { hostSession, guestSession, hostTyping, guestTyping }, profiles, profileGrowth: growth, quiet: quietSummary(), loadAverageAtEnd: loadAverage()
        });
    }
};

if (require.main === module) {
    main(echo);
}
