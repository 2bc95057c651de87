/**
 * 4b. Convergence: 100,000 scripted edits (inserts and deletes at random positions, one transaction
 * each) from 3 peers editing one document at once, until all three hold the same state. Through the
 * collab stack (host EditorHost + 2 EditorGuests, E2E sessions over the collab-server) and, as the
 * baseline, 3 y-websocket clients through @y/websocket-server. Reports edits/s.
 *
 *   npm run bench -- convergence
 */
import * as crypto from 'crypto';
import * as Y from 'yjs';
import type { CollaborationClient } from '@theia-collab/protocol/lib/client';
import { SharedDocument } from '@theia-collab/extension/lib/common/editor/editor-document';
import { EditorGuest } from '@theia-collab/extension/lib/common/editor/editor-guest';
import { EditorHost } from '@theia-collab/extension/lib/common/editor/editor-host';
import { TEXT_NAME } from '@theia-collab/extension/lib/common/editor/editor-document';
import { corpus, DOC_PATH } from './util/doc-text';
import { connectClient, quietLogger } from './util/encrypted-clients';
import { BenchmarkDefinition, main } from './util/main';
import { CpuMeter, loadAverage } from './util/proc';
import { quietSummary, waitQuiet } from './util/quiet';
import { log, Reporter } from './util/report';
import { startCollabServer, startYWebsocketServer } from './util/servers';
import { ratio, round } from './util/stats';
import { now, prng, sleep } from './util/time';
import { YWebsocketClient } from './util/ywebsocket-client';

export const TOTAL_EDITS = process.env.BENCH_QUICK ? 20_000 : 100_000;
export const PEERS = 3;
const SEED_CHARS = 10_000;
const BATCH = 50;
const TIMEOUT_MS = 300_000;

interface Peer {
    doc: () => Y.Doc;
    text: () => Y.Text;
    edit: (change: (text: Y.Text) => void) => void;
    /** Bytes waiting to be sent (for flow control), if known. */
    backlog: () => number;
}

/** Every peer edits concurrently: BATCH edits per turn, then yields to I/O. */
async function editConcurrently(peers: Peer[], total: number): Promise<number> {
    const started = now();
    const perPeer = peers.map((_, i) => Math.floor(total / peers.length) + (i < total % peers.length ? 1 : 0));
    await Promise.all(peers.map(async (peer, i) => {
        const random = prng(1000 + i);
        let done = 0;
        while (done < perPeer[i]) {
            const batch = Math.min(BATCH, perPeer[i] - done);
            for (let k = 0; k < batch; k++) {
                const length = peer.text().length;
                const at = Math.floor(random() * (length + 1));
                if (random() < 0.75 || length < 10) {
                    const insert = String.fromCharCode(97 + Math.floor(random() * 26)).repeat(1 + Math.floor(random() * 4));
                    peer.edit(text => text.insert(at, insert));
                } else {
                    peer.edit(text => text.delete(Math.min(at, length - 3), 1 + Math.floor(random() * 3)));
                }
            }
            done += batch;
            await new Promise(resolve => setImmediate(resolve));
            while (peer.backlog() > 4 * 1024 * 1024) {
                await sleep(1);
            }
        }
    }));
    return now() - started;
}

function converged(peers: Peer[]): boolean {
    const vector = Buffer.from(Y.encodeStateVector(peers[0].doc())).toString('base64');
    const text = peers[0].text().toString();
    return peers.slice(1).every(peer => Buffer.from(Y.encodeStateVector(peer.doc())).toString('base64') === vector && peer.text().toString() === text);
}

interface RunResult {
    edits: number;
    issueMs: number;
    convergeMs: number;
    editsPerSec: number;
    finalLength: number;
    serverCpuPercent: number;
    clientCpuPercent: number;
}

async function measure(peers: Peer[], serverPid: number): Promise<RunResult> {
    await waitQuiet([serverPid]);
    const meter = new CpuMeter(serverPid);
    meter.start();
    const cpu = process.cpuUsage();
    const started = now();
    const issueMs = await editConcurrently(peers, TOTAL_EDITS);
    const deadline = now() + TIMEOUT_MS;
    while (!converged(peers)) {
        if (now() > deadline) {
            throw new Error('the peers did not converge in time');
        }
        await sleep(20);
    }
    const convergeMs = now() - started;
    const client = process.cpuUsage(cpu);
    return {
        edits: TOTAL_EDITS,
        issueMs: round(issueMs, 0),
        convergeMs: round(convergeMs, 0),
        editsPerSec: round(TOTAL_EDITS / convergeMs * 1000, 0),
        finalLength: peers[0].text().length,
        serverCpuPercent: meter.stop().percent,
        clientCpuPercent: round((client.user + client.system) / 1000 / convergeMs * 100, 1)
    };
}

async function collabRun(): Promise<RunResult> {
    const server = await startCollabServer();
    const clients: CollaborationClient[] = [];
    const disposables: { dispose(): void }[] = [];
    try {
        const hostClient = await connectClient(server.url, 'Host');
        clients.push(hostClient);
        const hostSession = await hostClient.createSession();
        hostSession.onJoinRequest(request => { request.admit('readwrite').catch(() => undefined); });
        const seed = corpus(SEED_CHARS);
        const host = new EditorHost(hostSession, { read: async () => seed, save: async () => true }, { logger: quietLogger });
        disposables.push(host);
        const shared: SharedDocument[] = [await host.acquire(DOC_PATH)];
        for (let i = 1; i < PEERS; i++) {
            const client = await connectClient(server.url, `Guest ${i}`);
            clients.push(client);
            const session = await client.joinSession(hostSession.invite!.code);
            const guest = new EditorGuest({ logger: quietLogger, timeout: 120_000 });
            disposables.push(guest);
            guest.attach(session);
            shared.push(await guest.acquire(DOC_PATH));
        }
        const peers: Peer[] = shared.map(document => ({
            doc: () => document.doc,
            text: () => document.text,
            edit: change => document.edit(change),
            backlog: () => 0
        }));
        return await measure(peers, server.pid);
    } finally {
        disposables.forEach(d => d.dispose());
        clients.forEach(client => client.dispose());
        await server.stop();
    }
}

async function ywsRun(): Promise<RunResult> {
    const server = await startYWebsocketServer();
    const clients: YWebsocketClient[] = [];
    try {
        const room = `bench-${crypto.randomBytes(6).toString('hex')}`;
        const first = new YWebsocketClient(server.url, room);
        clients.push(first);
        await first.synced;
        first.doc.getText(TEXT_NAME).insert(0, corpus(SEED_CHARS));
        for (let i = 1; i < PEERS; i++) {
            const client = new YWebsocketClient(server.url, room);
            clients.push(client);
            await client.synced;
        }
        while (clients.some(client => client.doc.getText(TEXT_NAME).length !== SEED_CHARS)) {
            await sleep(10);
        }
        const peers: Peer[] = clients.map(client => ({
            doc: () => client.doc,
            text: () => client.doc.getText(TEXT_NAME),
            edit: change => client.doc.transact(() => change(client.doc.getText(TEXT_NAME))),
            backlog: () => client.buffered
        }));
        return await measure(peers, server.pid);
    } finally {
        clients.forEach(client => client.close());
        await server.stop();
    }
}

export const convergence: BenchmarkDefinition = {
    name: 'convergence',
    title: `Convergence: ${TOTAL_EDITS.toLocaleString('en-US')} scripted edits from ${PEERS} peers, collab (E2E) vs y-websocket`,
    async run(reporter: Reporter) {
        reporter.note(`Edits: 75% inserts of 1-4 characters, 25% deletes of 1-3, at random positions of a ${SEED_CHARS.toLocaleString('en-US')}-character document, one transaction each, ${BATCH} per turn per peer; all ${PEERS} peers edit at once in the benchmark process. Done when all state vectors and texts are equal. collab: host EditorHost + 2 EditorGuests with their default batching; y-websocket: one message per update.`);
        reporter.data.loadAverageAtStart = loadAverage();
        const yws = await ywsRun();
        log(`y-websocket: ${yws.editsPerSec} edits/s (converged in ${yws.convergeMs} ms)`);
        await sleep(500);
        const collab = await collabRun();
        log(`collab: ${collab.editsPerSec} edits/s (converged in ${collab.convergeMs} ms)`);
        const row = (label: string, r: RunResult) => [label, r.edits, r.issueMs, r.convergeMs, r.editsPerSec, r.finalLength, r.serverCpuPercent, r.clientCpuPercent];
        reporter.table('Convergence', ['stack', 'edits', 'issued in ms', 'converged in ms', 'edits/s', 'final length', 'server CPU %', 'client CPU %'], [
            row('y-websocket', yws), row('collab (E2E)', collab)
        ]);
        const editsRatio = ratio(collab.editsPerSec, yws.editsPerSec);
        reporter.table('Ratio', ['figure', 'y-websocket', 'collab', 'ratio'], [['edits/s to convergence', yws.editsPerSec, collab.editsPerSec, editsRatio]]);
        reporter.target(`${TOTAL_EDITS.toLocaleString('en-US')} edits from ${PEERS} peers converge`, 'converge', `yes, ${collab.editsPerSec} edits/s (${editsRatio}x y-websocket)`, true);
        Object.assign(reporter.data, { totalEdits: TOTAL_EDITS, peers: PEERS, yws, collab, ratio: editsRatio, quiet: quietSummary(), loadAverageAtEnd: loadAverage() });
    }
};

if (require.main === module) {
    main(convergence);
}
