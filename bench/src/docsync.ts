/**
 * 4a. Document sync: a guest joins a session whose host has a 5 MiB document open and opens it; measured
 * until the guest holds the full text (checked by SHA-256). Once for the text inserted at once, once for
 * a document built from ~80,000 edits. Next to y-websocket (`@y/websocket-server` 0.1.1, raw ws +
 * y-protocols sync client) holding the same document. Ours includes login, the E2E join (key exchange,
 * fingerprint check) and AES-GCM on every chunk.
 *
 *   npm run bench -- docsync
 */
import * as crypto from 'crypto';
import * as path from 'path';
import { EditorGuest } from '@theia-collab/extension/lib/common/editor/editor-guest';
import { TEXT_NAME } from '@theia-collab/extension/lib/common/editor/editor-document';
import { DOC_CHARS, DOC_EDITS, DOC_PATH, DocVariant, sha256 } from './util/doc-text';
import { connectClient, quietLogger } from './util/encrypted-clients';
import { BenchmarkDefinition, main } from './util/main';
import { BENCH_LIB, Child, forkNode, loadAverage } from './util/proc';
import { quietSummary, waitQuiet } from './util/quiet';
import { log, Reporter } from './util/report';
import { RunningServer, startCollabServer, startYWebsocketServer } from './util/servers';
import { median, ratio, round } from './util/stats';
import { now, sleep, withTimeout } from './util/time';
import { YWebsocketClient } from './util/ywebsocket-client';
import type { HostCommand, HostReady } from './workers/docsync-host';

const REPETITIONS = process.env.BENCH_QUICK ? 1 : 5;
/**
 * Runs per side before the measured ones (reported, not counted): steady state, as a long-running server and
 * host are. The first joins run the server's, host's and guest's code before V8 has optimised it.
 */
const WARMUP = process.env.BENCH_QUICK ? 1 : 3;

interface JoinTiming {
    /** Start -> full text held by the guest. */
    totalMs: number;
    /** Login + connect + join (collab) or WebSocket open (y-websocket). */
    connectMs: number;
    /** Open/sync of the document. */
    syncMs: number;
}

async function startHost(kind: 'collab' | 'yws', url: string, variant: DocVariant, room: string): Promise<{ child: Child; ready: HostReady }> {
    const child = forkNode(`${kind} host`, path.join(BENCH_LIB, 'workers', 'docsync-host.js'), [], { execArgv: ['--max-old-space-size=4096', '--expose-gc'] });
    const answer = withTimeout(new Promise<HostReady>(resolve => child.process.once('message', message => resolve(message as HostReady))), 240_000, `${kind} host`);
    child.process.send({ cmd: 'start', kind, url, variant, room } satisfies HostCommand);
    const ready = await answer;
    if (ready.error) {
        await child.stop();
        throw new Error(`${kind} host failed: ${ready.error}`);
    }
    return { child, ready };
}

/**
 * Every run starts without the garbage of the one before (both sides alike): the benchmark process (the
 * guest) and the hosts collect it first, so a run does not pay for its predecessor's 5 MiB.
 */
async function collectGarbage(hosts: Child[]): Promise<void> {
    (globalThis as { gc?: () => void }).gc?.();
    await Promise.all(hosts.map(host => withTimeout(new Promise<void>(resolve => {
        host.process.once('message', () => resolve());
        host.process.send({ cmd: 'gc' } satisfies HostCommand);
    }), 10_000, 'host garbage collection')));
}

async function stopHost(child: Child): Promise<void> {
    try {
        child.process.send({ cmd: 'stop' } satisfies HostCommand);
    } catch {
        // gone
    }
    await withTimeout(child.exited, 5000, 'host to exit').catch(() => child.stop());
}

function check(text: string, ready: HostReady, who: string): void {
    if (text.length !== ready.length || sha256(text) !== ready.sha) {
        throw new Error(`${who}: got ${text.length} characters, expected ${ready.length} (content differs)`);
    }
}

async function collabGuest(url: string, ready: HostReady): Promise<JoinTiming> {
    const t0 = now();
    const client = await connectClient(url, 'Guest');
    const guest = new EditorGuest({ logger: quietLogger, timeout: 120_000 });
    try {
        const session = await client.joinSession(ready.invite!);
        const t1 = now();
        guest.attach(session);
        const shared = await guest.acquire(DOC_PATH);
        const text = shared.text.toString();
        const t2 = now();
        check(text, ready, 'collab guest');
        await session.leave();
        return { totalMs: round(t2 - t0, 1), connectMs: round(t1 - t0, 1), syncMs: round(t2 - t1, 1) };
    } finally {
        guest.dispose();
        client.dispose();
    }
}

async function ywsGuest(url: string, room: string, ready: HostReady): Promise<JoinTiming> {
    const t0 = now();
    const client = new YWebsocketClient(url, room);
    try {
        await client.opened;
        const t1 = now();
        await withTimeout(client.synced, 120_000, 'y-websocket sync');
        const text = client.doc.getText(TEXT_NAME).toString();
        const t2 = now();
        check(text, ready, 'y-websocket guest');
        return { totalMs: round(t2 - t0, 1), connectMs: round(t1 - t0, 1), syncMs: round(t2 - t1, 1) };
    } finally {
        client.close();
    }
}

interface VariantResult {
    variant: DocVariant;
    chars: number;
    updateBytes: { collab: number; yws: number };
    collab: JoinTiming[];
    yws: JoinTiming[];
    warmup: { collab: JoinTiming[]; yws: JoinTiming[] };
    medianCollabMs: number;
    medianYwsMs: number;
    ratio: number;
}

async function runVariant(variant: DocVariant): Promise<VariantResult> {
    const servers: RunningServer[] = [];
    const hosts: Child[] = [];
    try {
        const collabServer = await startCollabServer();
        servers.push(collabServer);
        const ywsServer = await startYWebsocketServer();
        servers.push(ywsServer);
        const room = `bench-${crypto.randomBytes(6).toString('hex')}`;
        const collabHost = await startHost('collab', collabServer.url, variant, room);
        hosts.push(collabHost.child);
        const ywsHost = await startHost('yws', ywsServer.url, variant, room);
        hosts.push(ywsHost.child);
        log(`${variant}: hosts ready (collab ${round(collabHost.ready.buildMs, 0)} ms, y-websocket ${round(ywsHost.ready.buildMs, 0)} ms to build); ${collabHost.ready.length} chars`);
        const collab: JoinTiming[] = [];
        const yws: JoinTiming[] = [];
        const warmup: { collab: JoinTiming[]; yws: JoinTiming[] } = { collab: [], yws: [] };
        for (let rep = -WARMUP; rep < REPETITIONS; rep++) {
            const order = Math.abs(rep) % 2 ? ['yws', 'collab'] : ['collab', 'yws'];
            const label = rep < 0 ? ' (warm-up)' : '';
            for (const kind of order) {
                await collectGarbage(hosts);
                await sleep(300);
                await waitQuiet([...servers.map(server => server.pid), ...hosts.map(host => host.pid)]);
                if (kind === 'collab') {
                    const timing = await collabGuest(collabServer.url, collabHost.ready);
                    (rep < 0 ? warmup.collab : collab).push(timing);
                    log(`${variant}, collab guest${label}: ${timing.totalMs} ms (join ${timing.connectMs} ms, open ${timing.syncMs} ms)`);
                } else {
                    const timing = await ywsGuest(ywsServer.url, room, ywsHost.ready);
                    (rep < 0 ? warmup.yws : yws).push(timing);
                    log(`${variant}, y-websocket guest${label}: ${timing.totalMs} ms (connect ${timing.connectMs} ms, sync ${timing.syncMs} ms)`);
                }
            }
        }
        const medianCollabMs = median(collab.map(t => t.totalMs));
        const medianYwsMs = median(yws.map(t => t.totalMs));
        return {
            variant, chars: collabHost.ready.length,
            updateBytes: { collab: collabHost.ready.updateBytes, yws: ywsHost.ready.updateBytes },
            collab, yws, warmup, medianCollabMs, medianYwsMs, ratio: ratio(medianCollabMs, medianYwsMs)
        };
    } finally {
        await Promise.all(hosts.map(stopHost));
        await Promise.all(servers.map(server => server.stop()));
    }
}

export const docsync: BenchmarkDefinition = {
    name: 'docsync',
    title: `Document sync: guest joins and gets a 5 MiB document, collab (E2E) vs y-websocket`,
    async run(reporter: Reporter) {
        reporter.note(`${DOC_CHARS.toLocaleString('en-US')} characters; 'edits' = ${DOC_EDITS.toLocaleString('en-US')} inserts at random positions, one transaction each. Hosts run in their own processes; servers are child processes; the guest is the benchmark process. collab: login + connect + joinSession (host auto-admits) + EditorGuest.acquire; y-websocket: WebSocket open + sync step 1/2. ${WARMUP} warm-up runs per side (reported, not counted), then the median of ${REPETITIONS}, alternating.`);
        reporter.data.loadAverageAtStart = loadAverage();
        const results: VariantResult[] = [];
        for (const variant of ['at-once', 'edits'] as DocVariant[]) {
            results.push(await runVariant(variant));
        }
        const med = (timings: { connectMs: number; syncMs: number; totalMs: number }[], key: 'connectMs' | 'syncMs' | 'totalMs') => median(timings.map(t => t[key]));
        reporter.table('Guest gets the full 5 MiB text (median ms)', ['document', 'server', 'Yjs update MiB', 'connect/join ms', 'open/sync ms', 'total ms', 'ratio'],
            results.flatMap(r => [
                [r.variant, 'y-websocket', round(r.updateBytes.yws / 2 ** 20, 2), med(r.yws, 'connectMs'), med(r.yws, 'syncMs'), r.medianYwsMs, 1],
                [r.variant, 'collab (E2E)', round(r.updateBytes.collab / 2 ** 20, 2), med(r.collab, 'connectMs'), med(r.collab, 'syncMs'), r.medianCollabMs, r.ratio]
            ]));
        for (const r of results) {
            reporter.target(`5 MiB document sync (${r.variant}) vs y-websocket`, '<= 2x', `${r.ratio}x (${r.medianCollabMs} vs ${r.medianYwsMs} ms)`, r.ratio <= 2);
        }
        Object.assign(reporter.data, { chars: DOC_CHARS, edits: DOC_EDITS, repetitions: REPETITIONS, results, quiet: quietSummary(), loadAverageAtEnd: loadAverage() });
    }
};

if (require.main === module) {
    main(docsync);
}
