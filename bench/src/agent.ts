/**
 * Agent edits: a headless participant (`@theia-collab/agent`, as `collab-agent` / its MCP tools use it) changes a
 * shared document; measured until the host's document shows the change (the host observes its Y.Text), and until
 * the agent's `editDocument` resolved (it waits for the host to confirm by state vector, as the MCP tool does).
 * Real coordination server (child process), host and agent in this process, E2E as always.
 *
 *   npm run bench -- agent
 */
import { AgentParticipant } from '@theia-collab/agent/lib/agent-participant';
import { EditorHost } from '@theia-collab/extension/lib/common/editor/editor-host';
import { quietLogger, connectClient } from './util/encrypted-clients';
import { BenchmarkDefinition, main } from './util/main';
import { Reporter } from './util/report';
import { startCollabServer } from './util/servers';
import { Samples } from './util/stats';
import { now, sleep, withTimeout } from './util/time';

const EDITS = process.env.BENCH_QUICK ? 30 : 300;
const WARMUP = process.env.BENCH_QUICK ? 5 : 30;
const PATH = 'proj/src/main.ts';
const TEXT = Array.from({ length: 400 }, (_, i) => `export const value${i} = ${i};`).join('\n') + '\n';

export const agent: BenchmarkDefinition = {
    name: 'agent',
    title: 'Agent edit -> visible in the host\'s document (headless participant, E2E)',
    async run(reporter: Reporter) {
        reporter.note(`${EDITS} edits (after ${WARMUP} warm-up ones), one at a time, each replacing one line of a 400-line document through AgentParticipant.editDocument (one Yjs transaction, cursor moved in awareness). 'visible': until the host's Y.Text holds the new line; 'confirmed': until editDocument resolved (the host's state vector has the change).`);
        const server = await startCollabServer();
        const disposables: { dispose(): void }[] = [];
        let participant: AgentParticipant | undefined;
        try {
            const hostClient = await connectClient(server.url, 'Host');
            disposables.push(hostClient);
            const host = await hostClient.createSession();
            host.onJoinRequest(request => { request.admit('readwrite').catch(() => undefined); });
            const files = new Map([[PATH, TEXT]]);
            const editor = new EditorHost(host, {
                read: async path => files.get(path) ?? Promise.reject(Object.assign(new Error('missing'), { code: 'not-found' })),
                save: async (path, text) => { files.set(path, text); return true; }
            }, { logger: quietLogger });
            disposables.push(editor);
            participant = await AgentParticipant.join({ invite: host.invite!.link, name: 'Bench bot', logger: quietLogger });
            await participant.openDocument(PATH);
            const hostDoc = editor.get(PATH)!;
            const visible = new Samples();
            const confirmed = new Samples();
            for (let i = 0; i < WARMUP + EDITS; i++) {
                const line = i % 400;
                const current = (await participant.documentText(PATH)).split('\n')[line];
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
                    await participant.editDocument(PATH, [{ range: { start: { line: line + 1, column: 1 }, end: { line: line + 1, column: current.length + 1 } }, newText: replacement }]);
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
            const v = visible.summary();
            const c = confirmed.summary();
            reporter.table('Agent edit latency (ms)', ['measure', 'p50', 'p95', 'max'], [
                ['visible in the host\'s document', v.p50, v.p95, v.max],
                ['editDocument resolved (host confirmed)', c.p50, c.p95, c.max]
            ]);
            reporter.target('agent edit -> visible in the host\'s document, p95', '<= 50 ms', `${v.p95} ms (p50 ${v.p50} ms)`, v.p95 <= 50);
            Object.assign(reporter.data, { edits: EDITS, warmup: WARMUP, visible: v, confirmed: c, visibleRaw: visible.raw(), confirmedRaw: confirmed.raw() });
        } finally {
            await participant?.leave().catch(() => undefined);
            disposables.forEach(d => d.dispose());
            await server.stop();
        }
    }
};

if (require.main === module) {
    main(agent);
}
