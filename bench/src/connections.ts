/**
 * 2. Connection scale: 10,000 clients in 2,000 rooms (1 host + 4 guests each) against one server
 * process, the clients spread over 2 load processes. Time to connect everyone, server memory per
 * connection (VmRSS of the server process, after a full GC, before vs after), and handshake latency.
 * Same for the bare socket.io baseline (connect + join a room with an ack).
 *
 *   npm run bench -- connections     (BENCH_QUICK=1: 2,000 clients)
 */
import * as path from 'path';
import { WorkerCommand, WorkerSetup, PhaseReport } from './workers/connections-worker';
import { BenchmarkDefinition, main } from './util/main';
import { BENCH_LIB, Child, collectGarbage, forkNode, loadAverage, rssKiB } from './util/proc';
import { ServerKind } from './util/raw-clients';
import { quietSummary, waitQuiet } from './util/quiet';
import { log, Reporter } from './util/report';
import { RunningServer, startBareServer, startCollabServer } from './util/servers';
import { LatencySummary, ratio, round, Samples } from './util/stats';
import { now, sleep, withTimeout } from './util/time';

const QUICK = !!process.env.BENCH_QUICK;
export const CLIENTS = QUICK ? 2_000 : 10_000;
export const PER_ROOM = 5;
export const ROOMS = CLIENTS / PER_ROOM;
export const WORKERS = 2;
const CONNECT_CONCURRENCY = 100;
/** Rooms per second per load process during the join phase (each: 1 create + 4 joins). */
const JOIN_RATE = 50;
const PHASE_TIMEOUT_MS = 180_000;

export interface ScaleResult {
    kind: ServerKind;
    clients: number;
    rooms: number;
    loginMs: number;
    connectMs: number;
    joinMs: number;
    connect: LatencySummary;
    join: LatencySummary;
    create?: LatencySummary;
    rssIdleKiB: number;
    rssConnectedKiB: number;
    rssJoinedKiB: number;
    rssJoinedBeforeGcKiB: number;
    kibPerConnection: number;
    kibPerConnectionConnectedOnly: number;
    errors: string[];
}

async function phase(workers: Child[], command: WorkerCommand): Promise<{ ms: number; reports: PhaseReport[] }> {
    const started = now();
    const reports = await Promise.all(workers.map(worker => {
        const answer = withTimeout(new Promise<PhaseReport>(resolve => worker.process.once('message', message => resolve(message as PhaseReport))),
            PHASE_TIMEOUT_MS, `${worker.name}: ${command.cmd}`);
        worker.process.send(command);
        return answer;
    }));
    return { ms: round(now() - started, 0), reports };
}

export async function measureScale(kind: ServerKind, server: RunningServer): Promise<ScaleResult> {
    const workers: Child[] = [];
    try {
        for (let w = 0; w < WORKERS; w++) {
            workers.push(forkNode(`${kind} load ${w}`, path.join(BENCH_LIB, 'workers', 'connections-worker.js')));
        }
        const perWorker = ROOMS / WORKERS;
        await Promise.all(workers.map((worker, w) => {
            const setup: WorkerSetup = {
                kind, url: server.url, rooms: perWorker, perRoom: PER_ROOM, roomPrefix: `r${w}`,
                connectConcurrency: CONNECT_CONCURRENCY, joinRatePerSec: JOIN_RATE
            };
            return phase([worker], { cmd: 'setup', setup });
        }));
        await collectGarbage(server.pid);
        const rssIdle = rssKiB(server.pid);
        const login = await phase(workers, { cmd: 'login' });
        log(`${kind}: logins ${login.ms} ms`);
        const connect = await phase(workers, { cmd: 'connect' });
        log(`${kind}: ${CLIENTS} connected in ${connect.ms} ms`);
        await sleep(500);
        await collectGarbage(server.pid);
        const rssConnected = rssKiB(server.pid);
        const join = await phase(workers, { cmd: 'join' });
        log(`${kind}: ${ROOMS} rooms joined in ${join.ms} ms`);
        await sleep(500);
        const rssJoinedBeforeGc = rssKiB(server.pid);
        await collectGarbage(server.pid, 1500);
        const rssJoined = rssKiB(server.pid);
        const merge = (reports: PhaseReport[], pick: (report: PhaseReport) => number[] | undefined) => {
            const samples = new Samples();
            reports.forEach(report => (pick(report) ?? []).forEach(value => samples.add(value)));
            return samples;
        };
        const errors = [...login.reports, ...connect.reports, ...join.reports].flatMap(report => report.errors);
        const connectSamples = merge(connect.reports, report => report.latencies);
        const joinSamples = merge(join.reports, report => report.latencies);
        const createSamples = merge(join.reports, report => report.createLatencies);
        await phase(workers, { cmd: 'close' }).catch(() => undefined);
        return {
            kind,
            clients: connectSamples.count,
            rooms: ROOMS,
            loginMs: login.ms,
            connectMs: connect.ms,
            joinMs: join.ms,
            connect: connectSamples.summary(),
            join: joinSamples.summary(),
            ...(createSamples.count ? { create: createSamples.summary() } : {}),
            rssIdleKiB: rssIdle,
            rssConnectedKiB: rssConnected,
            rssJoinedKiB: rssJoined,
            rssJoinedBeforeGcKiB: rssJoinedBeforeGc,
            kibPerConnection: round((rssJoined - rssIdle) / CLIENTS, 1),
            kibPerConnectionConnectedOnly: round((rssConnected - rssIdle) / CLIENTS, 1),
            errors
        };
    } finally {
        await Promise.all(workers.map(worker => worker.stop()));
    }
}

async function withServer<T>(start: () => Promise<RunningServer>, body: (server: RunningServer) => Promise<T>): Promise<T> {
    const server = await start();
    try {
        return await body(server);
    } finally {
        await server.stop();
    }
}

export const connections: BenchmarkDefinition = {
    name: 'connections',
    title: `Connection scale: ${CLIENTS.toLocaleString('en-US')} clients in ${ROOMS.toLocaleString('en-US')} rooms, one server process`,
    async run(reporter: Reporter) {
        reporter.note(`${WORKERS} load processes, ${CONNECT_CONCURRENCY} connects in flight per process (as fast as they go); then rooms are joined at a steady ${JOIN_RATE * WORKERS} rooms/s (${JOIN_RATE * WORKERS * (PER_ROOM - 1)} guest joins/s) while all ${CLIENTS.toLocaleString('en-US')} clients stay connected. collab-server: anonymous login over HTTP, socket.io connect with the token, host room:create, guests room:join -> host room:admit -> room:admitted (the join handshake). Bare: connect, then 'join' with an ack. RSS: VmRSS of the server process after a forced full GC, idle vs all clients joined. Per-address login/join rate limits raised via the config file.`);
        reporter.data.loadAverageAtStart = loadAverage();
        const bare = await withServer(() => startBareServer(), async server => {
            await waitQuiet([server.pid]);
            return measureScale('bare', server);
        });
        await sleep(1000);
        const ours = await withServer(() => startCollabServer(), async server => {
            await waitQuiet([server.pid]);
            return measureScale('collab', server);
        });
        const row = (label: string, r: ScaleResult) => [
            label, r.clients, r.loginMs || null, r.connectMs, r.joinMs, round((r.connectMs + r.joinMs) / 1000, 2),
            r.connect.p50, r.connect.p99, r.join.p50, r.join.p99,
            round(r.rssIdleKiB / 1024, 1), round(r.rssJoinedKiB / 1024, 1), r.kibPerConnection
        ];
        reporter.table('Connection scale', [
            'server', 'clients', 'login ms', 'connect all ms', 'join all ms', 'total s', 'connect p50', 'connect p99',
            'join p50 ms', 'join p99 ms', 'RSS idle MiB', 'RSS joined MiB', 'KiB/conn'
        ], [row('bare socket.io', bare), row('collab-server', ours)]);
        const memRatio = ratio(ours.kibPerConnection, bare.kibPerConnection);
        reporter.table('Ratios (collab-server / bare socket.io)', ['figure', 'bare', 'collab-server', 'ratio'], [
            ['time to connect all, ms', bare.connectMs, ours.connectMs, ratio(ours.connectMs, bare.connectMs)],
            ['connect + join all, ms', bare.connectMs + bare.joinMs, ours.connectMs + ours.joinMs, ratio(ours.connectMs + ours.joinMs, bare.connectMs + bare.joinMs)],
            ['RSS per connection, KiB (joined, after GC)', bare.kibPerConnection, ours.kibPerConnection, memRatio],
            ['RSS per connection, KiB (connected only)', bare.kibPerConnectionConnectedOnly, ours.kibPerConnectionConnectedOnly,
                ratio(ours.kibPerConnectionConnectedOnly, bare.kibPerConnectionConnectedOnly)],
            ['join handshake p99, ms', bare.join.p99, ours.join.p99, ratio(ours.join.p99, bare.join.p99)]
        ]);
        if (ours.errors.length || bare.errors.length) {
            reporter.note(`errors: ${JSON.stringify({ bare: bare.errors, collab: ours.errors })}`);
            reporter.partial = true;
        }
        reporter.target('RSS per connection vs bare', '<= 1.5x', `${memRatio}x (${ours.kibPerConnection} vs ${bare.kibPerConnection} KiB/conn)`, memRatio <= 1.5);
        reporter.target('join handshake p99', '< 50 ms', `${ours.join.p99} ms (bare join ack: ${bare.join.p99} ms)`, ours.join.p99 < 50);
        Object.assign(reporter.data, { clients: CLIENTS, rooms: ROOMS, perRoom: PER_ROOM, workers: WORKERS, connectConcurrency: CONNECT_CONCURRENCY, joinRatePerSec: JOIN_RATE, bare, collab: ours, ratios: { rssPerConnection: memRatio }, quiet: quietSummary(), loadAverageAtEnd: loadAverage() });
    }
};

if (require.main === module) {
    main(connections);
}
