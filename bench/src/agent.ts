/**
 * Agent edits -> visible in the host's editor. A real Theia host (browser-app backend, its production bundle in
 * headless Chromium) has a file open in its Monaco editor; an agent (`@theia-collab/agent`'s AgentParticipant,
 * the class its MCP tools drive) joins from this process, is admitted in the host's dialog, and edits that file
 * one change at a time. Per edit: this process's clock when `editDocument` is called -> the page's clock when the
 * change is in the host editor's `.view-lines` (a MutationObserver, bench/src/util/editor-echo.ts), the two clocks
 * put on one by their measured offset (bench/src/util/page-clock.ts). Baseline in the same run, same page, same
 * file: the host's own keystroke -> rendered in its editor. An extra row keeps the figure this benchmark used to
 * give: the agent's edit -> the Y.Text of a host in this process (no browser).
 *
 *   npm run bench -- agent        (needs `npm run build:browser`)
 */
import { AgentParticipant } from '@theia-collab/agent/lib/agent-participant';
import { EditorHost } from '@theia-collab/extension/lib/common/editor/editor-host';
import type { Browser, Page } from 'playwright-core';
import {
    editorText, launchBrowser, navigatorNode, showExplorer, startSession, startTheiaBackend, TheiaWindow
} from '../../e2e/lib/harness';
import { lettersOf } from './echo';
import { instrument, waitFor } from './util/browser-apps';
import { caretToLineEnd, installEditorWatch, keydowns, latencies, lineCount, lineTimes, OtherCpuMeter, resetKeydowns } from './util/editor-echo';
import { connectClient, quietLogger } from './util/encrypted-clients';
import { BenchmarkDefinition, main } from './util/main';
import { pageClockOffset, PageClockOffset } from './util/page-clock';
import { loadAverage } from './util/proc';
import { quietSummary, waitQuiet } from './util/quiet';
import { log, Reporter } from './util/report';
import { startCollabServer } from './util/servers';
import { LatencySummary, round, Samples } from './util/stats';
import { now, prng, sleep, wallNow, withTimeout } from './util/time';

const QUICK = !!process.env.BENCH_QUICK;
const EDITS = QUICK ? 30 : 200;
const WARMUP = QUICK ? 5 : 20;
const HOST_KEYS = QUICK ? 30 : 150;
/** Pause between two edits (and two host keystrokes): 60-100 ms, so that each is rendered on its own. */
const PAUSE_MS = [60, 100];
const FILE = 'agent-bench.txt';
const LINES = { agent: 'AGENTLINE:', host: 'HOSTLINE:' };
const MARKERS = Object.values(LINES);
/** No word in it starts like the letters typed (lettersOf): no word suggestions pop up in the host's editor. */
const TEXT = `shared text\n${LINES.agent}\n${LINES.host}\nstop\n`;
const TARGET = { p50: 50, p95: 100 };

interface AgentPhase {
    rendered: LatencySummary;
    arrived: LatencySummary;
    confirmed: LatencySummary;
    missing: number;
    clock: { before: PageClockOffset; after: PageClockOffset };
    otherCpuPercent: number;
    raw: { rendered: number[]; arrived: number[]; confirmed: number[] };
}

/** The page's wall-clock time at which the agent line holds `count` characters (waits in the page, bounded). */
function renderedAt(page: Page, count: number): Promise<number> {
    return page.evaluate(([marker, target]) => new Promise<number>((resolve, reject) => {
        const echo = (window as any).__echo;
        const deadline = performance.now() + 10_000;
        const check = () => {
            if (echo.lines[marker].count >= target) {
                resolve(echo.lines[marker].times[target]);
            } else if (performance.now() > deadline) {
                reject(new Error(`the host's editor did not show character ${target} of ${marker} within 10 s`));
            } else {
                setTimeout(check, 4);
            }
        };
        check();
    }), [LINES.agent, count] as [string, number]);
}

/** The agent appends one letter at a time to its line; each edit is timed until the host's editor shows it. */
async function agentEdits(participant: AgentParticipant, path: string, page: Page): Promise<AgentPhase> {
    const letter = lettersOf(LINES.agent, MARKERS);
    const random = prng(7);
    const before = await pageClockOffset(page);
    const start = await lineCount(page, LINES.agent);
    const marks: { t0: number; t1: number; rendered: number }[] = [];
    const others = new OtherCpuMeter();
    for (let i = 0; i < WARMUP + EDITS; i++) {
        if (i === WARMUP) {
            others.start();
        }
        const lines = (await participant.documentText(path)).split('\n');
        const line = lines.findIndex(text => text.startsWith(LINES.agent));
        const end = { line: line + 1, column: lines[line].length + 1 };
        const t0 = wallNow();
        await participant.editDocument(path, [{ range: { start: end, end }, newText: letter(i) }]);
        const t1 = wallNow();
        const rendered = await renderedAt(page, start + i + 1);
        if (i >= WARMUP) {
            marks.push({ t0, t1, rendered });
        }
        await sleep(PAUSE_MS[0] + random() * (PAUSE_MS[1] - PAUSE_MS[0]));
    }
    const otherCpuPercent = others.stop();
    const after = await pageClockOffset(page);
    // The offset moves little over a minute (both clocks tick with the system's); the mean of both readings.
    const offset = (before.offsetMs + after.offsetMs) / 2;
    const arrivals = await page.evaluate(() => ((window as any).__bench?.received ?? []) as number[]);
    const rendered = new Samples();
    const arrived = new Samples();
    const confirmed = new Samples();
    let missing = 0;
    for (const { t0, t1, rendered: at } of marks) {
        if (at === undefined) {
            missing++;
            continue;
        }
        const called = t0 + offset;
        rendered.add(at - called);
        confirmed.add(t1 - t0);
        const arrival = arrivals.find(time => time >= called);
        if (arrival !== undefined && arrival <= at) {
            arrived.add(arrival - called);
        }
    }
    const two = (samples: Samples) => samples.raw().map(value => round(value, 2));
    return {
        rendered: rendered.summary(), arrived: arrived.summary(), confirmed: confirmed.summary(), missing, clock: { before, after }, otherCpuPercent,
        raw: { rendered: two(rendered), arrived: two(arrived), confirmed: two(confirmed) }
    };
}

/** The host types at the end of its own line of the same file: keydown -> rendered in its editor (one clock, the page's). */
async function hostKeystrokes(page: Page): Promise<{ summary: LatencySummary; missing: number; raw: number[] }> {
    const letter = lettersOf(LINES.host, MARKERS);
    const random = prng(11);
    await caretToLineEnd(page, LINES.host);
    for (let i = 0; i < WARMUP; i++) {
        await page.keyboard.press(letter(i));
        await sleep(PAUSE_MS[0]);
    }
    await sleep(500);
    const start = await lineCount(page, LINES.host);
    await resetKeydowns(page);
    for (let i = 0; i < HOST_KEYS; i++) {
        await page.keyboard.press(letter(WARMUP + i));
        await sleep(PAUSE_MS[0] + random() * (PAUSE_MS[1] - PAUSE_MS[0]));
    }
    await waitFor(async () => (await lineCount(page, LINES.host)) >= start + HOST_KEYS || undefined, 15_000, 'the host\'s keys in its editor').catch(() => undefined);
    const { samples, missing } = latencies(await keydowns(page), await lineTimes(page, LINES.host), start, HOST_KEYS);
    return { summary: samples.summary(), missing, raw: samples.raw().map(value => round(value, 2)) };
}

/** The figure this benchmark gave before: the host in this process, until its Y.Text holds the agent's edit. */
async function inProcessHost(serverUrl: string): Promise<{ visible: LatencySummary; confirmed: LatencySummary }> {
    const path = 'proj/src/main.ts';
    const text = Array.from({ length: 400 }, (_, i) => `export const value${i} = ${i};`).join('\n') + '\n';
    const disposables: { dispose(): void }[] = [];
    let participant: AgentParticipant | undefined;
    try {
        const hostClient = await connectClient(serverUrl, 'Host');
        disposables.push(hostClient);
        const host = await hostClient.createSession();
        host.onJoinRequest(request => { request.admit('readwrite').catch(() => undefined); });
        const files = new Map([[path, text]]);
        const editor = new EditorHost(host, {
            read: async file => files.get(file) ?? Promise.reject(Object.assign(new Error('missing'), { code: 'not-found' })),
            save: async (file, content) => { files.set(file, content); return true; }
        }, { logger: quietLogger });
        disposables.push(editor);
        participant = await AgentParticipant.join({ invite: host.invite!.link, name: 'Bench bot', logger: quietLogger });
        await participant.openDocument(path);
        const hostDoc = editor.get(path)!;
        const visible = new Samples();
        const confirmed = new Samples();
        for (let i = 0; i < WARMUP + EDITS; i++) {
            const line = i % 400;
            const current = (await participant.documentText(path)).split('\n')[line];
            const replacement = `export const value${line} = ${i * 7}; // edit ${i}`;
            let seenAt: number | undefined;
            const observer = () => {
                if (seenAt === undefined && hostDoc.text.toString().includes(replacement)) {
                    seenAt = now();
                }
            };
            hostDoc.text.observe(observer);
            const t0 = now();
            try {
                await participant.editDocument(path, [{ range: { start: { line: line + 1, column: 1 }, end: { line: line + 1, column: current.length + 1 } }, newText: replacement }]);
                const t1 = now();
                await withTimeout((async () => { while (seenAt === undefined) { await sleep(1); } })(), 10_000, 'the host to see the edit');
                if (i >= WARMUP) {
                    visible.add(seenAt! - t0);
                    confirmed.add(t1 - t0);
                }
            } finally {
                hostDoc.text.unobserve(observer);
            }
        }
        return { visible: visible.summary(), confirmed: confirmed.summary() };
    } finally {
        await participant?.leave().catch(() => undefined);
        disposables.forEach(d => d.dispose());
    }
}

async function admitAgent(host: TheiaWindow): Promise<void> {
    const request = host.dialog('collaboration-join-request-dialog');
    await request.waitFor({ state: 'visible', timeout: 60_000 });
    await request.locator('button.collaboration-allow-readwrite').click();
    await request.waitFor({ state: 'detached' });
}

export const agent: BenchmarkDefinition = {
    name: 'agent',
    title: 'Agent edit -> rendered in the host\'s editor (Theia host in Chromium, agent participant in Node, E2E)',
    async run(reporter: Reporter) {
        reporter.note(`One browser-app backend (production bundle) in headless Chromium as the host, ${FILE} open in its Monaco editor; the collab-server as a child process; the agent (AgentParticipant, as collab-agent's MCP tools use it) in this process, admitted read-write from the host's dialog. ${EDITS} agent edits (after ${WARMUP} warm-up ones), ${PAUSE_MS[0]}-${PAUSE_MS[1]} ms apart, each appending one letter to its line through editDocument (one Yjs transaction, the agent's caret moved in awareness; editDocument resolves once the host's state vector has it). Rendered: editDocument called (this process's clock) -> the letter in the host's .view-lines (MutationObserver, the page's clock), the clocks related by their offset measured by page.evaluate round trips before and after. Baseline: ${HOST_KEYS} keystrokes of the host in the same editor (keydown -> rendered, the page's clock).`);
        reporter.data.loadAverageAtStart = loadAverage();
        const closers: (() => Promise<void>)[] = [];
        let host: TheiaWindow | undefined;
        let agentPhase: AgentPhase;
        let hostPhase: Awaited<ReturnType<typeof hostKeystrokes>>;
        let inProcess: Awaited<ReturnType<typeof inProcessHost>>;
        try {
            const server = await startCollabServer({ config: { allowedOrigins: ['*'] } });
            closers.push(() => server.stop());
            const backend = await startTheiaBackend({ name: 'bench-agent-host', serverUrl: server.url, files: { [FILE]: TEXT, 'README.md': '# Agent benchmark\n' }, startTimeoutMs: 120_000 });
            closers.push(() => backend.stop());
            const browser: Browser = await launchBrowser();
            closers.push(() => browser.close());
            host = await TheiaWindow.open(browser, backend, 'host');
            closers.push(() => host!.close());
            await instrument(host.page);
            const inviteCode = await startSession(host, 'Alice');
            const joining = AgentParticipant.join({ invite: inviteCode, serverUrl: server.url, name: 'Bench bot', logger: quietLogger });
            await admitAgent(host);
            const participant = await joining;
            closers.push(() => participant.leave().catch(() => undefined));
            const roots = await participant.listRoots();
            const path = `${roots.roots[0].name}/${FILE}`;

            await showExplorer(host);
            await navigatorNode(host, FILE).waitFor({ state: 'visible', timeout: 30_000 });
            await navigatorNode(host, FILE).dblclick();
            await waitFor(async () => (await editorText(host!)).includes(LINES.host) || undefined, 30_000, `${FILE} in the host's editor`);
            await participant.openDocument(path);
            await installEditorWatch(host.page, MARKERS);
            // The host's caret on its own line, out of the agent's way.
            await caretToLineEnd(host.page, LINES.host);
            await sleep(1000);

            await waitQuiet([], 60_000);
            agentPhase = await agentEdits(participant, path, host.page);
            log(`agent -> host editor: p50 ${agentPhase.rendered.p50} ms, p95 ${agentPhase.rendered.p95} ms (clock offset ${agentPhase.clock.before.offsetMs} / ${agentPhase.clock.after.offsetMs} ms, +-${agentPhase.clock.before.uncertaintyMs} ms)`);
            await waitQuiet([], 60_000);
            hostPhase = await hostKeystrokes(host.page);
            log(`host keystroke -> its editor: p50 ${hostPhase.summary.p50} ms, p95 ${hostPhase.summary.p95} ms`);
            const typed = await participant.documentText(path);
            if (!typed.split('\n').some(line => line.startsWith(LINES.host) && line.length >= LINES.host.length + WARMUP + HOST_KEYS)) {
                throw new Error('the host\'s keystrokes did not reach the agent');
            }

            await waitQuiet([], 60_000);
            inProcess = await inProcessHost(server.url);
        } catch (error) {
            if (host) {
                await host.screenshot('bench-agent-failed').catch(() => undefined);
                host.saveConsole('bench-agent-host-console.log');
            }
            throw error;
        } finally {
            for (const close of closers.reverse()) {
                await close().catch(() => undefined);
            }
        }
        const a = agentPhase;
        const h = hostPhase.summary;
        const v = inProcess.visible;
        const row = (what: string, s: LatencySummary) => [what, s.p50, s.p95, s.p99, s.max, s.count];
        reporter.table('Edit -> visible (ms)', ['measure', 'p50', 'p95', 'p99', 'max', 'samples'], [
            row('agent edit -> rendered in the host\'s editor (Chromium)', a.rendered),
            row('agent edit -> first frame from the server in the host page', a.arrived),
            row('agent edit -> editDocument resolved (host confirmed)', a.confirmed),
            row('baseline: host\'s own keystroke -> rendered in its editor', h),
            row('agent edit -> host\'s Y.Text (host in Node, no browser)', v),
            row('agent edit -> editDocument resolved (host in Node)', inProcess.confirmed)
        ]);
        reporter.note(`Clock offset page - Node: ${a.clock.before.offsetMs} ms before, ${a.clock.after.offsetMs} ms after the agent's edits (each within +-${Math.max(a.clock.before.uncertaintyMs, a.clock.after.uncertaintyMs)} ms); their mean is subtracted. Others used ${a.otherCpuPercent}% of a core during the agent's edits.`);
        if (a.missing || hostPhase.missing) {
            reporter.note(`Unmatched: ${a.missing} agent edits, ${hostPhase.missing} host keystrokes`);
            reporter.partial = true;
        }
        reporter.target('agent edit -> host editor p50 (our own target)', `<= ${TARGET.p50} ms`, `${a.rendered.p50} ms (host's own keystroke ${h.p50} ms)`, a.rendered.p50 <= TARGET.p50);
        reporter.target('agent edit -> host editor p95 (our own target)', `<= ${TARGET.p95} ms`, `${a.rendered.p95} ms (host's own keystroke ${h.p95} ms)`, a.rendered.p95 <= TARGET.p95);
        Object.assign(reporter.data, {
            edits: EDITS, warmup: WARMUP, hostKeys: HOST_KEYS, pauseMs: PAUSE_MS, target: TARGET,
            agent: { rendered: a.rendered, arrived: a.arrived, confirmed: a.confirmed, missing: a.missing, clock: a.clock, otherCpuPercent: a.otherCpuPercent },
            hostKeystroke: { ...h, missing: hostPhase.missing },
            inProcessHost: inProcess,
            raw: { ...a.raw, hostKeystroke: hostPhase.raw },
            quiet: quietSummary(), loadAverageAtEnd: loadAverage()
        });
    }
};

if (require.main === module) {
    main(agent);
}
