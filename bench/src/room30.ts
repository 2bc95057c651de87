/**
 * A room of 30, in real Chromium: two browser windows (host and guest) type, while 28 headless
 * participants (the protocol client with the extension's EditorGuest and SessionAwareness, in forked worker
 * processes) hold the same document and move their carets (awareness updates). Measured: keydown in one
 * window -> the character rendered in the other window, against the typist's own echo in the same run (and,
 * as a reference, the same with only the two windows in the room, measured first). Also the collab-server's
 * CPU per keystroke over the typing phases, and with awareness only (no typing) for the same time.
 *
 *   npm run bench -- room30        (needs `npm run build:browser`)
 */
import * as path from 'path';
import type { Page } from 'playwright-core';
import { BenchmarkDefinition, main } from './util/main';
import { BENCH_LIB, Child, cpuMs, forkNode, loadAverage } from './util/proc';
import { quietSummary, waitQuiet } from './util/quiet';
import { log, Reporter } from './util/report';
import { Apps, navigatorNode, startApps, startSessionAndJoin, TheiaWindow, waitFor } from './util/browser-apps';
import { workspaceFiles } from './joinflow';
import {
    caretToLineEnd, ensureExplorer, installEditorWatch, keydowns, latencies, lineCount, lineTimes, MainThread, MainThreadMeter, OtherCpuMeter,
    ProfileSummary, resetKeydowns, signed, startProfile
} from './util/editor-echo';
import { LatencySummary, round, Samples } from './util/stats';
import { prng, sleep, withTimeout } from './util/time';
import type { ParticipantCommand } from './workers/room-participants';
import { lettersOf } from './echo';

const QUICK = !!process.env.BENCH_QUICK;
const KEYSTROKES = QUICK ? 40 : 200;
/** Pause between keystrokes: 60-100 ms (a fast typist), as in the keystroke benchmark. */
const PAUSE_MS = [60, 100];
const HEADLESS = Number(process.env.BENCH_ROOM_HEADLESS ?? 28);
const WORKERS = Math.min(HEADLESS, 4);
const AWARENESS_HZ = Number(process.env.BENCH_ROOM_HZ ?? 5);
const IDLE_MS = QUICK ? 5000 : 15_000;
const IDLE_PROFILE_MS = 5000;
const FILE = 'bench.txt';
const LINES = { host2: 'HOST2:', guest2: 'GUEST2:', host: 'HOSTLINE:', guest: 'GUESTLINE:' };
const ALL_MARKERS = Object.values(LINES);
const TEXT = `room benchmark\n${ALL_MARKERS.join('\n')}\nend\n` + Array.from({ length: 40 }, (_, i) => `line ${i}: the quick brown fox jumps over the lazy dog`).join('\n') + '\n';

interface Direction {
    room: string;
    from: string;
    to: string;
    local: LatencySummary;
    remote: LatencySummary;
    /** Per keystroke: remote minus local. */
    extra: LatencySummary;
    missing: number;
    otherCpuPercent: number;
    serverCpuMs: number;
    durationMs: number;
    mainThread: Record<string, MainThread>;
}

async function openFile(window: TheiaWindow): Promise<void> {
    await navigatorNode(window, FILE).waitFor({ state: 'visible', timeout: 30_000 });
    await navigatorNode(window, FILE).dblclick();
    const lines = window.page.locator('#theia-main-content-panel .monaco-editor:visible .view-lines').first();
    await lines.waitFor({ state: 'visible', timeout: 30_000 });
    await waitFor(async () => (await lines.innerText()).includes(LINES.guest), 30_000, `${window.name}: ${FILE} in the editor`);
}

async function typeAndMeasure(room: string, typist: TheiaWindow, other: TheiaWindow, marker: string, seed: number, serverPid: number,
    extraPids: number[], meters: Map<TheiaWindow, MainThreadMeter>): Promise<Direction> {
    const page: Page = typist.page;
    await caretToLineEnd(page, marker);
    await sleep(500);
    const start = await lineCount(page, marker);
    const otherStart = await lineCount(other.page, marker);
    await resetKeydowns(page);
    const random = prng(seed);
    // Letters of the line's own (see the echo benchmark): no word of another line starts like the one typed.
    const letters = lettersOf(marker, ALL_MARKERS);
    const others = new OtherCpuMeter(extraPids);
    const threads0 = await Promise.all([typist, other].map(w => meters.get(w)!.read()));
    others.start();
    const server0 = cpuMs(serverPid);
    const t0 = Date.now();
    for (let i = 0; i < KEYSTROKES; i++) {
        await page.keyboard.press(letters(i));
        await sleep(PAUSE_MS[0] + random() * (PAUSE_MS[1] - PAUSE_MS[0]));
    }
    await waitFor(async () => (await lineCount(other.page, marker)) >= otherStart + KEYSTROKES, 30_000, `${other.name} to show all keystrokes`).catch(() => undefined);
    const durationMs = Date.now() - t0;
    const serverCpuMs = cpuMs(serverPid) - server0;
    const otherCpuPercent = others.stop();
    const threads1 = await Promise.all([typist, other].map(w => meters.get(w)!.read()));
    await sleep(200);
    const downs = await keydowns(page);
    const localTimes = await lineTimes(page, marker);
    const remoteTimes = await lineTimes(other.page, marker);
    const local = latencies(downs, localTimes, start, KEYSTROKES);
    // The other window's line may have had a different length: index its times from its own start.
    const remote = latencies(downs, remoteTimes, otherStart, KEYSTROKES);
    const extra = new Samples();
    for (let i = 0; i < KEYSTROKES; i++) {
        const l = local.perKey[i];
        const r = remote.perKey[i];
        if (l !== undefined && r !== undefined) {
            extra.add(r - l);
        }
    }
    const mainThread: Record<string, MainThread> = {};
    [typist, other].forEach((w, i) => {
        mainThread[w.name] = {
            taskMs: round(threads1[i].taskMs - threads0[i].taskMs, 1), scriptMs: round(threads1[i].scriptMs - threads0[i].scriptMs, 1),
            layoutMs: round(threads1[i].layoutMs - threads0[i].layoutMs, 1), styleMs: round(threads1[i].styleMs - threads0[i].styleMs, 1)
        };
    });
    return {
        room, from: typist.name, to: other.name, local: local.samples.summary(), remote: remote.samples.summary(), extra: extra.summary(),
        missing: Math.max(local.missing, remote.missing), otherCpuPercent, serverCpuMs, durationMs, mainThread
    };
}

class Worker {
    protected pending: ((message: any) => void)[] = [];
    constructor(readonly child: Child) {
        child.process.on('message', message => this.pending.shift()?.(message));
    }
    static start(index: number): Worker {
        return new Worker(forkNode(`room-participants-${index}`, path.join(BENCH_LIB, 'workers', 'room-participants.js')));
    }
    ask(command: ParticipantCommand, timeoutMs = 120_000): Promise<any> {
        return withTimeout(new Promise<any>((resolve, reject) => {
            this.pending.push(message => message && message.error ? reject(new Error(`${this.child.name}: ${message.error}`)) : resolve(message));
            this.child.process.send(command);
        }), timeoutMs, `${this.child.name} to answer '${command.cmd}'`);
    }
    async stop(): Promise<void> {
        try {
            this.child.process.send({ cmd: 'stop' } satisfies ParticipantCommand);
        } catch {
            // gone
        }
        await withTimeout(this.child.exited, 5000, 'worker exit').catch(() => this.child.stop());
    }
}

/** Clicks Allow (read-write) in the host's join request dialogs (one after the other, the same overlay) until `count` guests were admitted. */
async function admit(host: TheiaWindow, count: number, timeoutMs = 180_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const admitted = new Set<string>();
    const dialog = host.dialog('collaboration-join-request-dialog');
    const button = dialog.locator('button.collaboration-allow-readwrite');
    while (admitted.size < count) {
        if (Date.now() > deadline) {
            throw new Error(`admitted ${admitted.size} of ${count} guests in ${timeoutMs} ms`);
        }
        const text = await dialog.locator('.dialogContent').first().textContent({ timeout: 1000 }).catch(() => undefined);
        const name = text && /(Bot \d+)/.exec(text)?.[1];
        if (!name || admitted.has(name)) {
            await sleep(50);
            continue;
        }
        await button.click({ timeout: 5000 }).then(() => admitted.add(name), () => undefined);
    }
}

function printProfile(reporter: Reporter, title: string, summary: ProfileSummary): void {
    reporter.table(`${title}: self time by function (${summary.totalMs} ms busy; ${summary.file})`, ['function', 'where', 'self ms'],
        summary.functions.map(f => [f.name, f.where, f.selfMs]));
    reporter.table(`${title}: self time by source file`, ['file', 'self ms'], summary.files.map(f => [f.where, f.selfMs]));
}

export const room30: BenchmarkDefinition = {
    name: 'room30',
    title: `A room of ${HEADLESS + 2}: keystroke between two browser windows while ${HEADLESS} headless participants hold the document and move their carets`,
    async run(reporter: Reporter) {
        reporter.note(`Two browser-app backends (host, guest), one headless Chromium (two contexts), the collab-server as a child process, ${HEADLESS} headless participants (CollaborationClient + EditorGuest + SessionAwareness) in ${WORKERS} forked worker processes, each moving its caret ${AWARENESS_HZ} times a second. Each window types ${KEYSTROKES} letters (${PAUSE_MS[0]}-${PAUSE_MS[1]} ms apart) at the end of its own line, six letters of the line's own; first with only the two windows in the room (reference), then with all ${HEADLESS + 2}. Local = keydown -> rendered in the typist's editor; remote = keydown -> rendered in the other window's editor.`);
        reporter.data.loadAverageAtStart = loadAverage();
        let apps: Apps | undefined;
        const workers: Worker[] = [];
        const directions: Direction[] = [];
        const profiles: Record<string, ProfileSummary> = {};
        let idle: { serverCpuMs: number; workersCpuMs: number; durationMs: number; otherCpuPercent: number } | undefined;
        let workerReport: unknown;
        const idleThreads: Record<string, MainThread> = {};
        const statuses: { after: string; host: string; guest: string }[] = [];
        const lag: Record<string, unknown> = {};
        try {
            apps = await startApps('bench-room30', { ...workspaceFiles(), [FILE]: TEXT });
            const { host, guest } = apps;
            const meters = new Map<TheiaWindow, MainThreadMeter>();
            for (const window of [host, guest]) {
                meters.set(window, await MainThreadMeter.attach(window.page));
                await ensureExplorer(window);
            }
            await startSessionAndJoin(apps, 'README.md');
            await openFile(host);
            await openFile(guest);
            await installEditorWatch(host.page, ALL_MARKERS);
            await installEditorWatch(guest.page, ALL_MARKERS);
            await sleep(1000);
            const serverPid = apps.server.pid;

            // ---- reference: two participants ----
            for (const [typist, other, marker, seed] of [[host, guest, LINES.host2, 1], [guest, host, LINES.guest2, 2]] as const) {
                await waitQuiet([], 60_000);
                const d = await typeAndMeasure('2', typist, other, marker, seed, serverPid, [], meters);
                directions.push(d);
                log(`room of 2, ${d.from} -> ${d.to}: local p50 ${d.local.p50} / p95 ${d.local.p95}, remote p50 ${d.remote.p50} / p95 ${d.remote.p95} ms, missing ${d.missing}, others ${d.otherCpuPercent}%`);
            }

            // ---- 28 headless participants join (the host clicks Allow for each) and open the document ----
            await host.runMenu('Collaborate', 'Show Invite...');
            const inviteDialog = host.dialog('collaboration-invite-dialog');
            const invite = await inviteDialog.locator('input.collaboration-invite-code').inputValue();
            await inviteDialog.locator('button.main').click();
            await inviteDialog.waitFor({ state: 'detached' });
            for (let w = 0; w < WORKERS; w++) {
                workers.push(Worker.start(w));
            }
            const names = Array.from({ length: HEADLESS }, (_, i) => `Bot ${i + 1}`);
            const joinStarted = Date.now();
            const joined = Promise.all(workers.map((worker, w) => worker.ask({ cmd: 'join', url: apps!.server.url, invite, names: names.filter((_, i) => i % WORKERS === w) }, 240_000)));
            await admit(host, HEADLESS);
            await joined;
            log(`${HEADLESS} headless participants joined in ${Date.now() - joinStarted} ms`);
            await host.waitForStatusBarText('collaboration-status', new RegExp(`${HEADLESS + 2} participants`), 30_000).catch(() => undefined);
            const docPath = `${path.basename(apps.hostBackend.workspace)}/${FILE}`;
            const opened = await Promise.all(workers.map(worker => worker.ask({ cmd: 'open', path: docPath, hz: AWARENESS_HZ })));
            log(`headless participants opened ${docPath}: ${JSON.stringify(opened)}`);
            await sleep(3000);
            const workerPids = workers.map(worker => worker.child.pid);

            // ---- awareness only, no typing: the server's background CPU ----
            {
                const others = new OtherCpuMeter(workerPids);
                others.start();
                const s0 = cpuMs(serverPid);
                const w0 = workerPids.reduce((sum, pid) => sum + cpuMs(pid), 0);
                const t0 = Date.now();
                const pages0 = await Promise.all([host, guest].map(w => meters.get(w)!.read()));
                await Promise.all([host, guest].map(w => w.page.evaluate(() => {
                    const probe = (window as any).__lagProbe = { lags: [] as number[], stop: false };
                    let last = performance.now();
                    const tick = () => {
                        const at = performance.now();
                        probe.lags.push(at - last - 50);
                        last = at;
                        if (!probe.stop) {
                            setTimeout(tick, 50);
                        }
                    };
                    setTimeout(tick, 50);
                })));
                await sleep(IDLE_MS);
                for (const w of [host, guest]) {
                    const lags = await w.page.evaluate(() => { const probe = (window as any).__lagProbe; probe.stop = true; return probe.lags as number[]; });
                    lag[w.name] = { ...Samples.of(lags.map(v => Math.max(0, v))).summary(), expectedTicks: Math.round(IDLE_MS / 50) };
                }
                log(`awareness only, page timer lag (setTimeout 50 ms, ms late): ${JSON.stringify(lag)}`);
                const pages1 = await Promise.all([host, guest].map(w => meters.get(w)!.read()));
                [host, guest].forEach((w, i) => { idleThreads[w.name] = { taskMs: round(pages1[i].taskMs - pages0[i].taskMs, 1), scriptMs: round(pages1[i].scriptMs - pages0[i].scriptMs, 1), layoutMs: round(pages1[i].layoutMs - pages0[i].layoutMs, 1), styleMs: round(pages1[i].styleMs - pages0[i].styleMs, 1) }; });
                idle = { serverCpuMs: cpuMs(serverPid) - s0, workersCpuMs: workerPids.reduce((sum, pid) => sum + cpuMs(pid), 0) - w0, durationMs: Date.now() - t0, otherCpuPercent: others.stop() };
                log(`awareness only: server ${idle.serverCpuMs} ms CPU, the ${HEADLESS} headless participants' workers ${idle.workersCpuMs} ms CPU, in ${idle.durationMs} ms; others ${idle.otherCpuPercent}%`);
            }
            log(`awareness only, main thread: ${JSON.stringify(idleThreads)}`);
            // Where a page's time goes (1 ms sampling; before typing, as the pages may not survive the typing phases) with 28 carets moving and nobody typing (not part of any measured phase).
            {
                const stops = await Promise.all([host, guest].map(w => startProfile(w.page, `room30-${w.name}-awareness-only`)));
                await sleep(IDLE_PROFILE_MS);
                const [hostProfile, guestProfile] = await Promise.all(stops.map(stop => stop()));
                profiles['host, awareness only'] = hostProfile;
                profiles['guest, awareness only'] = guestProfile;
                printProfile(reporter, `Profile of the host page, ${HEADLESS} carets moving, no typing (${IDLE_PROFILE_MS} ms)`, hostProfile);
                printProfile(reporter, `Profile of the guest page, ${HEADLESS} carets moving, no typing (${IDLE_PROFILE_MS} ms)`, guestProfile);
            }

            // ---- the room of 30 ----
            for (const [typist, other, marker, seed] of [[host, guest, LINES.host, 3], [guest, host, LINES.guest, 4]] as const) {
                await waitQuiet(workerPids, 60_000);
                try {
                    const d = await typeAndMeasure(String(HEADLESS + 2), typist, other, marker, seed, serverPid, workerPids, meters);
                    directions.push(d);
                    log(`room of ${HEADLESS + 2}, ${d.from} -> ${d.to}: local p50 ${d.local.p50} / p95 ${d.local.p95}, remote p50 ${d.remote.p50} / p95 ${d.remote.p95} ms, missing ${d.missing}, others ${d.otherCpuPercent}%`);
                } catch (error) {
                    reporter.partial = true;
                    reporter.note(`room of ${HEADLESS + 2}, ${typist.name} typing: could not be measured: ${String((error as Error).message ?? error).split('\n')[0]}`);
                    await typist.screenshot(`bench-room30-${typist.name}-typing-failed`).catch(() => undefined);
                }
                const status = await Promise.all([host, guest].map(w => w.statusBarText('collaboration-status').catch(() => '?')));
                statuses.push({ after: `${typist.name} typed`, host: status[0], guest: status[1] });
                log(`status bars after ${typist.name} typed: host '${status[0]}', guest '${status[1]}'`);
                if (!/participants/.test(status[1])) {
                    reporter.note(`after ${typist.name} typed, the guest window is no longer in the session (status bar '${status[1]}'); its console: test-results/bench-room30-guest-console.log`);
                    guest.saveConsole('bench-room30-guest-console.log');
                }
            }
            workerReport = (await Promise.all(workers.map(worker => worker.ask({ cmd: 'report', markers: ALL_MARKERS })))) as unknown;

            // ---- where the time goes, when a target was missed: a profiled extra round (not counted) ----
            const room = directions.filter(d => d.room !== '2');
            const missedTo = room.filter(d => d.remote.p50 - d.local.p50 > 4 || d.remote.p95 - d.local.p95 > 8);
            for (const d of missedTo) {
                const [typist, other, marker] = d.from === 'host' ? [host, guest, LINES.host] : [guest, host, LINES.guest];
                const stopReceiver = await startProfile(other.page, `room30-${other.name}-receiving`);
                const stopTypist = await startProfile(typist.page, `room30-${typist.name}-typing`);
                await typeAndMeasure('profiled', typist, other, marker, 9, serverPid, workerPids, meters);
                profiles[`${typist.name} typing`] = await stopTypist();
                profiles[`${other.name} receiving`] = await stopReceiver();
                printProfile(reporter, `Profile of the ${other.name} page receiving (room of ${HEADLESS + 2}, not counted)`, profiles[`${other.name} receiving`]);
                printProfile(reporter, `Profile of the ${typist.name} page typing (room of ${HEADLESS + 2}, not counted)`, profiles[`${typist.name} typing`]);
            }
            for (const meter of meters.values()) {
                await meter.detach();
            }
        } catch (error) {
            if (apps) {
                for (const window of [apps.host, apps.guest]) {
                    await window.screenshot(`bench-room30-failed-${window.name}`).catch(() => undefined);
                    window.saveConsole(`bench-room30-${window.name}-console.log`);
                }
            }
            throw error;
        } finally {
            await Promise.all(workers.map(worker => worker.stop()));
            await apps?.close();
        }

        reporter.table('Keystroke -> rendered (ms)', ['room', 'direction', 'where', 'p50', 'p95', 'p99', 'max', 'samples', 'others % core'], directions.flatMap(d => [
            [d.room, `${d.from} -> ${d.to}`, 'typist\'s own editor (local)', d.local.p50, d.local.p95, d.local.p99, d.local.max, d.local.count, d.otherCpuPercent],
            ['', '', 'other window (remote)', d.remote.p50, d.remote.p95, d.remote.p99, d.remote.max, d.remote.count, ''],
            ['', '', 'remote - local, per keystroke', d.extra.p50, d.extra.p95, d.extra.p99, d.extra.max, d.extra.count, '']
        ]));
        if (Object.keys(lag).length) {
            reporter.table(`Awareness only (${HEADLESS} carets moving, nobody typing): how late a 50 ms timer fires in each page (ms)`, ['page', 'p50', 'p95', 'max', 'ticks', 'ticks expected'],
                Object.entries(lag).map(([page, l]: [string, any]) => [page, l.p50, l.p95, l.max, l.count, l.expectedTicks]));
        }
        const idleRate = idle ? idle.serverCpuMs / idle.durationMs : NaN;
        reporter.table('collab-server CPU', ['room', 'phase', 'CPU ms', 'duration ms', 'keystrokes', 'CPU ms / keystroke', 'net of awareness, ms / keystroke'], [
            ...(idle ? [[String(HEADLESS + 2), 'awareness only, no typing', idle.serverCpuMs, idle.durationMs, 0, '', ''],
                [String(HEADLESS + 2), `(the headless participants' ${WORKERS} worker processes, same phase)`, idle.workersCpuMs, idle.durationMs, 0, '', '']] : []),
            ...directions.map(d => {
                const net = d.room === '2' ? d.serverCpuMs : d.serverCpuMs - idleRate * d.durationMs;
                return [d.room, `${d.from} types`, d.serverCpuMs, d.durationMs, KEYSTROKES, round(d.serverCpuMs / KEYSTROKES, 3), round(net / KEYSTROKES, 3)];
            })
        ]);
        reporter.table('Main-thread time per page (ms, CDP)', ['room', 'phase', 'page', 'task', 'script', 'layout', 'style', 'task % of wall'], [
            ...Object.entries(idleThreads).map(([page, t]) => [String(HEADLESS + 2), `awareness only (${idle?.durationMs} ms)`, page, t.taskMs, t.scriptMs, t.layoutMs, t.styleMs, idle ? round(t.taskMs / idle.durationMs * 100, 0) : '']),
            ...directions.flatMap(d => Object.entries(d.mainThread).map(([page, t]) => [d.room, `${d.from} types (${d.durationMs} ms)`, page, t.taskMs, t.scriptMs, t.layoutMs, t.styleMs, round(t.taskMs / d.durationMs * 100, 0)]))
        ]);
        for (const d of directions.filter(x => x.room !== '2')) {
            const p50 = round(d.remote.p50 - d.local.p50, 1);
            const p95 = round(d.remote.p95 - d.local.p95, 1);
            reporter.target(`room of ${d.room}, ${d.from} -> ${d.to}: p50 over own echo`, '<= +4 ms', `${signed(p50)} ms (remote ${d.remote.p50} vs local ${d.local.p50})`, p50 <= 4);
            reporter.target(`room of ${d.room}, ${d.from} -> ${d.to}: p95 over own echo`, '<= +8 ms', `${signed(p95)} ms (remote ${d.remote.p95} vs local ${d.local.p95})`, p95 <= 8);
            reporter.target(`room of ${d.room}, ${d.from} types: collab-server CPU per keystroke`, 'report', `${round(d.serverCpuMs / KEYSTROKES, 2)} ms (${round((d.serverCpuMs - idleRate * d.durationMs) / KEYSTROKES, 2)} ms net of awareness-only)`, null);
        }
        for (const d of directions) {
            if (d.missing) {
                reporter.note(`room ${d.room} ${d.from} -> ${d.to}: ${d.missing} keystrokes could not be matched`);
                reporter.partial = true;
            }
        }
        Object.assign(reporter.data, {
            keystrokes: KEYSTROKES, pauseMs: PAUSE_MS, headless: HEADLESS, workers: WORKERS, awarenessHz: AWARENESS_HZ,
            directions, idle, idleThreads, timerLag: lag, statuses, workerReport, profiles, quiet: quietSummary(), loadAverageAtEnd: loadAverage()
        });
    }
};

if (require.main === module) {
    main(room30);
}
