/**
 * 5. Keystroke latency in real Chromium with two browser apps: a key pressed in one window -> the
 * character shows in the other window's editor (a MutationObserver on `.view-lines`), next to the time
 * it takes to show in the typist's own editor. 200 keystrokes each way. Times are wall-clock marks
 * taken inside the pages (keydown listener in the capture phase; observers in both pages).
 *
 *   npm run bench -- keystroke        (needs `npm run build`)
 */
import type { Page } from 'playwright-core';
import { BenchmarkDefinition, main } from './util/main';
import { loadAverage } from './util/proc';
import { quietSummary, waitQuiet } from './util/quiet';
import { log, Reporter } from './util/report';
import { Apps, navigatorNode, openExplorer, startApps, startSessionAndJoin, TheiaWindow, waitFor } from './util/browser-apps';
import { workspaceFiles } from './joinflow';
import { LatencySummary, round, Samples } from './util/stats';
import { prng, sleep } from './util/time';

const KEYSTROKES = process.env.BENCH_QUICK ? 40 : 200;
const FILE = 'bench.txt';
const MARKERS = { host: 'HOSTLINE:', guest: 'GUESTLINE:' };
/** Pause between keystrokes: 60-100 ms (a fast typist). */
const PAUSE_MS = [60, 100];

async function installLineWatch(page: Page): Promise<void> {
    await page.evaluate((markers: string[]) => {
        const bench = (window as any).__bench;
        bench.lines = Object.fromEntries(markers.map(marker => [marker, { count: 0, times: [] as number[] }]));
        bench.keydowns = [] as number[];
        document.addEventListener('keydown', (event: KeyboardEvent) => {
            if (event.key.length === 1) {
                bench.keydowns.push(bench.wall());
            }
        }, true);
        const root = document.querySelector('#theia-main-content-panel .monaco-editor .view-lines');
        if (!root) {
            throw new Error('no editor');
        }
        const check = () => {
            const at = bench.wall();
            for (const line of root.querySelectorAll('.view-line')) {
                const text = (line.textContent ?? '').replace(/\u00a0/g, ' ');
                for (const marker of markers) {
                    if (text.startsWith(marker)) {
                        const state = bench.lines[marker];
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
        new MutationObserver(check).observe(root, { childList: true, subtree: true, characterData: true });
    }, Object.values(MARKERS));
}

async function openFile(window: TheiaWindow): Promise<void> {
    await navigatorNode(window, FILE).waitFor({ state: 'visible', timeout: 30_000 });
    await navigatorNode(window, FILE).dblclick();
    const lines = window.page.locator('#theia-main-content-panel .monaco-editor .view-lines').first();
    await lines.waitFor({ state: 'visible', timeout: 30_000 });
    await waitFor(async () => (await lines.innerText()).includes(MARKERS.guest), 30_000, `${window.name}: ${FILE} in the editor`);
}

interface Direction {
    from: string;
    to: string;
    local: LatencySummary;
    remote: LatencySummary;
    /** Per keystroke: remote minus local. */
    extra: LatencySummary;
    /** Per keystroke: keydown -> the first frame to the coordination server after it. */
    sent: LatencySummary;
    /** Per keystroke: keydown -> the first frame from the coordination server in the other window after it was sent. */
    received: LatencySummary;
    missing: number;
}

async function typeAndMeasure(typist: TheiaWindow, other: TheiaWindow, marker: string, seed: number): Promise<Direction> {
    const page = typist.page;
    await page.evaluate(() => { (window as any).__bench.keydowns.length = 0; (window as any).__bench.sends.length = 0; });
    await other.page.evaluate(() => { (window as any).__bench.received.length = 0; });
    const line = page.locator('#theia-main-content-panel .monaco-editor .view-line').filter({ hasText: marker }).first();
    await line.click();
    await page.keyboard.press('End');
    await sleep(300);
    const startCount = await page.evaluate(m => (window as any).__bench.lines[m].count as number, marker);
    const random = prng(seed);
    for (let i = 0; i < KEYSTROKES; i++) {
        await page.keyboard.press(String.fromCharCode(97 + (i % 26)));
        await sleep(PAUSE_MS[0] + random() * (PAUSE_MS[1] - PAUSE_MS[0]));
    }
    const target = startCount + KEYSTROKES;
    await waitFor(() => other.page.evaluate(([m, t]) => (window as any).__bench.lines[m].count >= t, [marker, target] as [string, number]), 30_000,
        `${other.name} to show all keystrokes`).catch(() => undefined);
    await sleep(200);
    const keydowns = await page.evaluate(() => (window as any).__bench.keydowns as number[]);
    const localTimes = await page.evaluate(m => (window as any).__bench.lines[m].times as number[], marker);
    const sends = await page.evaluate(() => (window as any).__bench.sends as number[]);
    const arrivals = await other.page.evaluate(() => (window as any).__bench.received as number[]);
    const remoteTimes = await other.page.evaluate(m => (window as any).__bench.lines[m].times as number[], marker);
    const local = new Samples();
    const remote = new Samples();
    const extra = new Samples();
    const sent = new Samples();
    const received = new Samples();
    let missing = 0;
    for (let i = 0; i < KEYSTROKES; i++) {
        const k = keydowns[i];
        const l = localTimes[startCount + i + 1];
        const r = remoteTimes[startCount + i + 1];
        if (k === undefined || l === undefined || r === undefined) {
            missing++;
            continue;
        }
        local.add(l - k);
        remote.add(r - k);
        extra.add(r - l);
        const firstSend = sends.find(at => at >= k);
        if (firstSend !== undefined && firstSend <= r) {
            sent.add(firstSend - k);
            const arrival = arrivals.find(at => at >= firstSend);
            if (arrival !== undefined && arrival <= r) {
                received.add(arrival - k);
            }
        }
    }
    return { from: typist.name, to: other.name, local: local.summary(), remote: remote.summary(), extra: extra.summary(), sent: sent.summary(), received: received.summary(), missing };
}

export const keystroke: BenchmarkDefinition = {
    name: 'keystroke',
    title: `Keystroke latency between two browser apps (Chromium): ${KEYSTROKES} keystrokes each way`,
    async run(reporter: Reporter) {
        reporter.note(`Two browser-app backends, one headless Chromium (two contexts), the collab-server as a child process. The guest joins read-write, both open ${FILE}; each window types ${KEYSTROKES} letters (${PAUSE_MS[0]}-${PAUSE_MS[1]} ms apart) at the end of its own line. Local = keydown -> the letter rendered in the typist's editor; remote = keydown -> rendered in the other window's editor.`);
        reporter.data.loadAverageAtStart = loadAverage();
        let apps: Apps | undefined;
        const directions: Direction[] = [];
        try {
            apps = await startApps('bench-keys', { ...workspaceFiles(), [FILE]: `keystroke benchmark\n${MARKERS.host}\n${MARKERS.guest}\nend\n` });
            await openExplorer(apps.host);
            await openExplorer(apps.guest);
            await startSessionAndJoin(apps, 'README.md');
            await openFile(apps.host);
            await openFile(apps.guest);
            await installLineWatch(apps.host.page);
            await installLineWatch(apps.guest.page);
            await sleep(1000);
            for (const [typist, other, marker, seed] of [[apps.host, apps.guest, MARKERS.host, 1], [apps.guest, apps.host, MARKERS.guest, 2]] as const) {
                await waitQuiet([], 60_000);
                const result = await typeAndMeasure(typist, other, marker, seed);
                directions.push(result);
                log(`${result.from} -> ${result.to}: remote p50 ${result.remote.p50} ms, local p50 ${result.local.p50} ms, missing ${result.missing}`);
            }
        } catch (error) {
            if (apps) {
                for (const window of [apps.host, apps.guest]) {
                    await window.screenshot(`bench-keystroke-failed-${window.name}`).catch(() => undefined);
                    window.saveConsole(`bench-keystroke-${window.name}-console.log`);
                }
            }
            throw error;
        } finally {
            await apps?.close();
        }
        reporter.table('Keystroke -> rendered (ms)', ['direction', 'where', 'p50', 'p95', 'p99', 'max', 'samples'], directions.flatMap(d => [
            [`${d.from} -> ${d.to}`, 'typist\'s own editor (local)', d.local.p50, d.local.p95, d.local.p99, d.local.max, d.local.count],
            ['', 'other window (remote)', d.remote.p50, d.remote.p95, d.remote.p99, d.remote.max, d.remote.count],
            ['', 'remote - local, per keystroke', d.extra.p50, d.extra.p95, d.extra.p99, d.extra.max, d.extra.count],
            ['', 'keydown -> sent to the server', d.sent.p50, d.sent.p95, d.sent.p99, d.sent.max, d.sent.count],
            ['', 'keydown -> arrived in the other window', d.received.p50, d.received.p95, d.received.p99, d.received.max, d.received.count]
        ]));
        for (const d of directions) {
            const p50 = round(d.remote.p50 - d.local.p50, 1);
            const p95 = round(d.remote.p95 - d.local.p95, 1);
            const signed = (value: number) => `${value >= 0 ? '+' : ''}${value}`;
            reporter.target(`keystroke ${d.from} -> ${d.to}: p50 over local`, '<= 4 ms', `${signed(p50)} ms (remote ${d.remote.p50} vs local ${d.local.p50})`, p50 <= 4);
            reporter.target(`keystroke ${d.from} -> ${d.to}: p95 over local`, '<= 8 ms', `${signed(p95)} ms (remote ${d.remote.p95} vs local ${d.local.p95})`, p95 <= 8);
            if (d.missing) {
                reporter.note(`${d.from} -> ${d.to}: ${d.missing} keystrokes could not be matched`);
                reporter.partial = true;
            }
        }
        Object.assign(reporter.data, { keystrokes: KEYSTROKES, pauseMs: PAUSE_MS, directions, quiet: quietSummary(), loadAverageAtEnd: loadAverage() });
    }
};

if (require.main === module) {
    main(keystroke);
}
