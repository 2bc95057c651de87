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
import { forEachIndex } from '@theia-collab/protocol/lib/concurrency';
import { EditorGuest } from '@theia-collab/extension/lib/common/editor/editor-guest';
import { EditorLimits } from '@theia-collab/extension/lib/common/editor/editor-protocol';
import { TEXT_NAME } from '@theia-collab/extension/lib/common/editor/editor-document';
import { DOC_CHARS, DOC_EDITS, DOC_PATH, DocVariant, sha256 } from './util/doc-text';
import { connectClient, quietLogger } from './util/encrypted-clients';
import { BenchmarkDefinition, main } from './util/main';
import { BENCH_LIB, Child, forkNode, loadAverage } from './util/proc';
import { quietSummary, waitQuiet } from './util/quiet';
import { log, Reporter } from './util/report';
import { ack, connected, openSocket } from './util/raw-clients';
import { RunningServer, startBareServer, startCollabServer, startYWebsocketServer } from './util/servers';
import { median, ratio, round } from './util/stats';
import { now, sleep, withTimeout } from './util/time';
import { YWebsocketClient } from './util/ywebsocket-client';
import type { FloorMessage, HostCommand, HostKind, HostReady } from './workers/docsync-host';

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

async function startHost(kind: HostKind, url: string, variant: DocVariant, room: string): Promise<{ child: Child; ready: HostReady }> {
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

/**
 * The transport floor: the same bytes, host -> bare socket.io relay -> guest, in the same parts with the same
 * number in flight as our guest fetches them; no login, no encryption, no Yjs.
 */
async function floorGuest(url: string, room: string, ready: HostReady): Promise<JoinTiming> {
    const t0 = now();
    const socket = openSocket(url);
    try {
        await connected(socket);
        await ack(socket, 'join', room);
        const t1 = now();
        const waiting = new Map<number, (data: Uint8Array) => void>();
        socket.on('relay', (message: FloorMessage) => {
            if (typeof message.part === 'number' && message.data) {
                waiting.get(message.part)?.(message.data);
            }
        });
        let bytes = 0;
        await forEachIndex(ready.parts!, EditorLimits.fetchConcurrency, async index => {
            const data = await withTimeout(new Promise<Uint8Array>(resolve => {
                waiting.set(index, resolve);
                socket.emit('relay', { room, need: index } satisfies FloorMessage);
            }), 60_000, `part ${index}`);
            bytes += data.byteLength;
        });
        const t2 = now();
        if (bytes !== ready.length) {
            throw new Error(`transport floor: got ${bytes} bytes, expected ${ready.length}`);
        }
        return { totalMs: round(t2 - t0, 1), connectMs: round(t1 - t0, 1), syncMs: round(t2 - t1, 1) };
    } finally {
        socket.close();
    }
}

/** 'direct': a collab server with its content store off (`contentBytes: 0`): the host serves every guest. */
type GuestKind = 'collab' | 'direct' | 'yws' | 'floor';

interface VariantResult {
    variant: DocVariant;
    chars: number;
    updateBytes: { collab: number; yws: number };
    collab: JoinTiming[];
    direct: JoinTiming[];
    yws: JoinTiming[];
    /** 'at-once' only: the same bytes through the bare relay (see floorGuest). */
    floor: JoinTiming[];
    warmup: Record<GuestKind, JoinTiming[]>;
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
        const directServer = await startCollabServer({ name: 'collab-server (content store off)', config: { contentBytes: 0 } });
        servers.push(directServer);
        const directHost = await startHost('collab', directServer.url, variant, room);
        hosts.push(directHost.child);
        const ywsHost = await startHost('yws', ywsServer.url, variant, room);
        hosts.push(ywsHost.child);
        let floorServer: RunningServer | undefined;
        let floorHost: { child: Child; ready: HostReady } | undefined;
        if (variant === 'at-once') {
            floorServer = await startBareServer();
            servers.push(floorServer);
            floorHost = await startHost('bare', floorServer.url, variant, room);
            hosts.push(floorHost.child);
        }
        log(`${variant}: hosts ready (collab ${round(collabHost.ready.buildMs, 0)} ms, y-websocket ${round(ywsHost.ready.buildMs, 0)} ms to build); ${collabHost.ready.length} chars`);
        const measured: Record<GuestKind, JoinTiming[]> = { collab: [], direct: [], yws: [], floor: [] };
        const warmup: Record<GuestKind, JoinTiming[]> = { collab: [], direct: [], yws: [], floor: [] };
        const kinds: GuestKind[] = floorHost ? ['collab', 'yws', 'direct', 'floor'] : ['collab', 'yws', 'direct'];
        for (let rep = -WARMUP; rep < REPETITIONS; rep++) {
            const shift = (rep + WARMUP) % kinds.length;
            const order = [...kinds.slice(shift), ...kinds.slice(0, shift)];
            const label = rep < 0 ? ' (warm-up)' : '';
            for (const kind of order) {
                await collectGarbage(hosts);
                await sleep(300);
                await waitQuiet([...servers.map(server => server.pid), ...hosts.map(host => host.pid)]);
                let timing: JoinTiming;
                if (kind === 'collab') {
                    timing = await collabGuest(collabServer.url, collabHost.ready);
                    log(`${variant}, collab guest${label}: ${timing.totalMs} ms (join ${timing.connectMs} ms, open ${timing.syncMs} ms)`);
                } else if (kind === 'direct') {
                    timing = await collabGuest(directServer.url, directHost.ready);
                    log(`${variant}, collab guest, served by the host${label}: ${timing.totalMs} ms (join ${timing.connectMs} ms, open ${timing.syncMs} ms)`);
                } else if (kind === 'yws') {
                    timing = await ywsGuest(ywsServer.url, room, ywsHost.ready);
                    log(`${variant}, y-websocket guest${label}: ${timing.totalMs} ms (connect ${timing.connectMs} ms, sync ${timing.syncMs} ms)`);
                } else {
                    timing = await floorGuest(floorServer!.url, room, floorHost!.ready);
                    log(`${variant}, transport floor${label}: ${timing.totalMs} ms (connect ${timing.connectMs} ms, transfer ${timing.syncMs} ms)`);
                }
                (rep < 0 ? warmup : measured)[kind].push(timing);
            }
        }
        const medianCollabMs = median(measured.collab.map(t => t.totalMs));
        const medianYwsMs = median(measured.yws.map(t => t.totalMs));
        return {
            variant, chars: collabHost.ready.length,
            updateBytes: { collab: collabHost.ready.updateBytes, yws: ywsHost.ready.updateBytes },
            ...measured, warmup, medianCollabMs, medianYwsMs, ratio: ratio(medianCollabMs, medianYwsMs)
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
        reporter.note(`${DOC_CHARS.toLocaleString('en-US')} characters; 'edits' = ${DOC_EDITS.toLocaleString('en-US')} inserts at random positions, one transaction each. Hosts run in their own processes; servers are child processes; the guest is the benchmark process. collab: login + connect + joinSession (host auto-admits) + EditorGuest.acquire (the first guest gets the state from the host, which stores it sealed on the server; later guests fetch it from there, as y-websocket's server holds the document); 'served by the host': the same against a second collab server with its content store off (contentBytes 0), so the host sends the state to every guest; y-websocket: WebSocket open + sync step 1/2; transport floor ('at-once' only): socket.io connect + join a bare relay room, then the text's bytes from a host process in the same parts, as many in flight. ${WARMUP} warm-up runs per side (reported, not counted), then the median of ${REPETITIONS}, alternating.`);
        reporter.data.loadAverageAtStart = loadAverage();
        const results: VariantResult[] = [];
        for (const variant of ['at-once', 'edits'] as DocVariant[]) {
            results.push(await runVariant(variant));
        }
        const med = (timings: { connectMs: number; syncMs: number; totalMs: number }[], key: 'connectMs' | 'syncMs' | 'totalMs') => median(timings.map(t => t[key]));
        reporter.table('Guest gets the full 5 MiB text (median ms)', ['document', 'server', 'Yjs update MiB', 'connect/join ms', 'open/sync ms', 'total ms', 'ratio'],
            results.flatMap(r => [
                [r.variant, 'y-websocket', round(r.updateBytes.yws / 2 ** 20, 2), med(r.yws, 'connectMs'), med(r.yws, 'syncMs'), r.medianYwsMs, 1],
                [r.variant, 'collab (E2E)', round(r.updateBytes.collab / 2 ** 20, 2), med(r.collab, 'connectMs'), med(r.collab, 'syncMs'), r.medianCollabMs, r.ratio],
                [r.variant, 'collab (E2E), served by the host (content store off)', round(r.updateBytes.collab / 2 ** 20, 2), med(r.direct, 'connectMs'), med(r.direct, 'syncMs'),
                    med(r.direct, 'totalMs'), ratio(med(r.direct, 'totalMs'), r.medianYwsMs)],
                ...(r.floor.length ? [[r.variant, 'transport floor: bare relay, 2 hops, no E2E/Yjs', round(r.chars / 2 ** 20, 2), med(r.floor, 'connectMs'), med(r.floor, 'syncMs'),
                    med(r.floor, 'totalMs'), ratio(med(r.floor, 'totalMs'), r.medianYwsMs)]] : [])
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
