/**
 * 6. Join flow, in real Chromium with two browser apps: Start Session -> the guest sees the host's file
 * tree, machine time only. Measured inside the pages (wall-clock marks): Start Session clicked -> invite
 * shown, Join clicked (guest) -> join request shown (host), Allow clicked (host) -> the host's files in
 * the guest's navigator. The time people take between those steps is not counted.
 *
 *   npm run bench -- joinflow        (needs `npm run build`)
 */
import { BenchmarkDefinition, main } from './util/main';
import { loadAverage } from './util/proc';
import { quietSummary, waitQuiet } from './util/quiet';
import { log, Reporter } from './util/report';
import { Apps, JoinMarks, leaveAndEnd, openExplorer, startApps, startSessionAndJoin } from './util/browser-apps';
import { median, round } from './util/stats';

const RUNS = process.env.BENCH_QUICK ? 2 : 5;

export function workspaceFiles(): Record<string, string> {
    const files: Record<string, string> = {
        'README.md': '# Host workspace\n',
        'package.json': '{ "name": "host-project", "version": "1.0.0" }\n',
        'tsconfig.json': '{ "compilerOptions": { "strict": true } }\n'
    };
    for (let i = 0; i < 30; i++) {
        files[`src/module-${i}.ts`] = `export const value${i} = ${i};\n`;
    }
    for (let i = 0; i < 10; i++) {
        files[`test/module-${i}.spec.ts`] = `import { value${i} } from '../src/module-${i}';\n`;
    }
    return files;
}

export const joinflow: BenchmarkDefinition = {
    name: 'joinflow',
    title: 'Join flow: Start Session -> guest sees the host\'s file tree (machine time, Chromium)',
    async run(reporter: Reporter) {
        reporter.note(`Two browser-app backends, one headless Chromium (two contexts), the collab-server as a child process. ${RUNS} sessions one after another (the first one cold: the host is asked its name once, which is not counted). Marks are taken inside the pages.`);
        reporter.data.loadAverageAtStart = loadAverage();
        let apps: Apps | undefined;
        const runs: JoinMarks[] = [];
        try {
            apps = await startApps('bench-join', workspaceFiles());
            await openExplorer(apps.host);
            await openExplorer(apps.guest);
            for (let run = 0; run < RUNS; run++) {
                await waitQuiet([], 60_000);
                const marks = await startSessionAndJoin(apps, 'README.md');
                runs.push(marks);
                log(`run ${run + 1}: ${round(marks.totalMs, 1)} ms (start ${round(marks.startMs, 1)}, request ${round(marks.requestMs, 1)}, admit -> tree ${round(marks.admitMs, 1)})`);
                await leaveAndEnd(apps);
            }
        } catch (error) {
            if (apps) {
                for (const window of [apps.host, apps.guest]) {
                    await window.screenshot(`bench-joinflow-failed-${window.name}`).catch(() => undefined);
                    window.saveConsole(`bench-joinflow-${window.name}-console.log`);
                }
            }
            throw error;
        } finally {
            await apps?.close();
        }
        const row = (label: string, m: JoinMarks) => [label, round(m.startMs, 1), round(m.requestMs, 1), round(m.admitMs, 1), round(m.totalMs, 1), round(m.admitToStatusMs, 1)];
        const warm = runs.slice(1);
        const med = (key: keyof JoinMarks) => round(median(warm.map(m => m[key] as number)), 1);
        reporter.table('Join flow, machine time (ms)', ['run', 'Start -> invite', 'Join -> request at host', 'Allow -> host files at guest', 'total', 'Allow -> guest status'], [
            ...runs.map((m, i) => row(i === 0 ? '1 (cold)' : String(i + 1), m)),
            ['median (warm)', med('startMs'), med('requestMs'), med('admitMs'), med('totalMs'), med('admitToStatusMs')]
        ]);
        const worst = Math.max(...runs.map(m => m.totalMs));
        reporter.target('join flow machine time', '< 1 s', `median ${med('totalMs')} ms warm, cold ${round(runs[0].totalMs, 1)} ms, worst ${round(worst, 1)} ms`, worst < 1000);
        Object.assign(reporter.data, { runs, medianWarm: { startMs: med('startMs'), requestMs: med('requestMs'), admitMs: med('admitMs'), totalMs: med('totalMs') }, quiet: quietSummary(), loadAverageAtEnd: loadAverage() });
    }
};

if (require.main === module) {
    main(joinflow);
}
