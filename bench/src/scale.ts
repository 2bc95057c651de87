/**
 * Scale-out: the same total load over 1, 2, 4 and 8 collab-server instances sharing one Redis, with the sharded
 * Redis adapter (default: per-room channels) and the classic adapter (one channel for everything) as the baseline.
 * 40 rooms of 6 members (raw clients, no encryption), each room's members on at most two instances (room r on
 * instances 2r and 2r+1 modulo N, alternating), every room's host broadcasting at a steady share of the total rate.
 *
 * Per instance, from its /metrics: messages and bytes Redis delivered to its adapter on room channels
 * (`collab_adapter_received_messages_total{channel="room"}`); per run: CPU of all instances per delivered message,
 * and the delivery latency (send to receipt, same process clock) p50/p99. On a 2-core machine the counts are the
 * figures that matter; times grow with the number of processes sharing the cores.
 *
 *   npm run bench -- scale            (BENCH_QUICK=1 for shorter phases)
 */
import * as fs from 'fs';
import { BenchmarkDefinition, main } from './util/main';
import { cpuMs, loadAverage } from './util/proc';
import { createRawRoom, RawRoom } from './util/raw-clients';
import { Reporter } from './util/report';
import { REDIS_SERVER, RunningServer, startCollabServer, startRedis } from './util/servers';
import { round, Samples } from './util/stats';
import { sleep } from './util/time';

const QUICK = !!process.env.BENCH_QUICK;
const ROOMS = 40;
const ROOM_SIZE = 6;
const INSTANCES = [1, 2, 4, 8];
/** Broadcasts per second, all rooms together (each delivered to the 5 other members). */
const TOTAL_RATE = QUICK ? 200 : 400;
const WARMUP_MS = QUICK ? 1000 : 2000;
const MEASURE_MS = QUICK ? 3000 : 10_000;
const PAYLOAD = 256;

type AdapterKind = 'sharded' | 'classic';

interface RunResult {
    adapter: AdapterKind;
    instances: number;
    published: number;
    delivered: number;
    /** Per instance: room-channel messages and bytes Redis delivered to its adapter during the measured phase. */
    received: number[];
    receivedBytes: number[];
    /** Server-channel messages (server-side events, requests) per instance. */
    serverReceived: number[];
    cpuMsPerInstance: number[];
    redisCpuMs: number;
    cpuUsPerDelivery: number;
    latency: { p50: number; p99: number; count: number };
    /** Mean number of instances a room's members sit on. */
    span: number;
    /** The machine's 1-minute load average at the end of the run. */
    load: number;
}

async function metric(server: RunningServer, name: string): Promise<number> {
    const response = await fetch(`${server.url}/metrics`);
    const text = await response.text();
    const line = text.split('\n').find(candidate => candidate.startsWith(`${name} `));
    return line ? Number(line.slice(name.length + 1)) : NaN;
}

async function adapterCounts(servers: RunningServer[]): Promise<{ room: number[]; bytes: number[]; server: number[] }> {
    return {
        room: await Promise.all(servers.map(server => metric(server, 'collab_adapter_received_messages_total{channel="room"}'))),
        bytes: await Promise.all(servers.map(server => metric(server, 'collab_adapter_received_bytes_total{channel="room"}'))),
        server: await Promise.all(servers.map(server => metric(server, 'collab_adapter_received_messages_total{channel="server"}')))
    };
}

async function run(adapter: AdapterKind, count: number, redis: RunningServer, runNumber: number): Promise<RunResult> {
    const servers: RunningServer[] = [];
    const rooms: RawRoom[] = [];
    try {
        const config = { redisUrl: redis.url, redisPrefix: `scale${runNumber}:`, redisAdapter: adapter, processMetrics: false };
        for (let i = 0; i < count; i++) {
            servers.push(await startCollabServer({ name: `collab-server ${adapter} ${i + 1}/${count}`, config }));
        }
        const spans: number[] = [];
        for (let r = 0; r < ROOMS; r++) {
            const first = (2 * r) % count;
            const second = (2 * r + 1) % count;
            const urls = first === second ? [servers[first].url] : [servers[first].url, servers[second].url];
            spans.push(urls.length);
            rooms.push(await createRawRoom('collab', urls, ROOM_SIZE));
        }
        let measuring = false;
        let delivered = 0;
        const latency = new Samples();
        for (const room of rooms) {
            for (const socket of room.sockets.slice(1)) {
                socket.on('relay', (envelope: { data: Buffer | ArrayBuffer }) => {
                    if (!measuring) {
                        return;
                    }
                    const data = Buffer.isBuffer(envelope.data) ? envelope.data : Buffer.from(envelope.data);
                    delivered++;
                    latency.add(performance.now() - data.readDoubleLE(0));
                });
            }
        }
        // A steady rate: every 10 ms, the broadcasts due so far, round-robin over the rooms' hosts.
        let published = 0;
        let sent = 0;
        let seq = 0;
        const started = performance.now();
        const timer = setInterval(() => {
            const due = Math.floor((performance.now() - started) * TOTAL_RATE / 1000);
            for (; sent < due; sent++) {
                const room = rooms[sent % ROOMS];
                const data = Buffer.alloc(PAYLOAD);
                data.writeDoubleLE(performance.now(), 0);
                room.sockets[0].emit('relay', { room: room.roomId, kind: 'broadcast', seq: ++seq, key: 0, data });
                if (measuring) {
                    published++;
                }
            }
        }, 10);
        await sleep(WARMUP_MS);
        const before = await adapterCounts(servers);
        const cpuBefore = servers.map(server => cpuMs(server.pid));
        const redisBefore = cpuMs(redis.pid);
        measuring = true;
        await sleep(MEASURE_MS);
        clearInterval(timer);
        const cpuAfter = servers.map(server => cpuMs(server.pid));
        const redisAfter = cpuMs(redis.pid);
        // Let what was published in the window arrive (deliveries and counters) before reading the counters.
        await sleep(500);
        measuring = false;
        const after = await adapterCounts(servers);
        const cpu = cpuAfter.map((value, i) => value - cpuBefore[i]);
        const summary = latency.summary();
        return {
            adapter, instances: count, published, delivered,
            received: after.room.map((value, i) => value - before.room[i]),
            receivedBytes: after.bytes.map((value, i) => value - before.bytes[i]),
            serverReceived: after.server.map((value, i) => value - before.server[i]),
            cpuMsPerInstance: cpu,
            redisCpuMs: redisAfter - redisBefore,
            cpuUsPerDelivery: delivered ? round(cpu.reduce((a, b) => a + b, 0) * 1000 / delivered, 1) : NaN,
            latency: { p50: summary.p50, p99: summary.p99, count: summary.count },
            span: spans.reduce((a, b) => a + b, 0) / spans.length,
            load: loadAverage()[0]
        };
    } finally {
        rooms.forEach(room => room.close());
        await sleep(200);
        for (const server of servers.slice().reverse()) {
            await server.stop();
        }
    }
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

export const scale: BenchmarkDefinition = {
    name: 'scale',
    title: `Scale-out: ${ROOMS} rooms of ${ROOM_SIZE} at ${TOTAL_RATE} broadcasts/s over 1, 2, 4, 8 instances, sharded vs classic Redis adapter`,
    async run(reporter: Reporter) {
        if (!fs.existsSync(REDIS_SERVER)) {
            reporter.note(`${REDIS_SERVER} is missing: skipped`);
            reporter.target('messages received per instance fall as 1/N', 'measured', 'not measured: no redis-server', null);
            reporter.partial = true;
            return;
        }
        reporter.note(`${WARMUP_MS} ms warm-up, ${MEASURE_MS} ms measured per run, one run per adapter and instance count, one redis-server for all (a prefix per run). ` +
            `Room r's members alternate between instances 2r and 2r+1 (mod N). ${PAYLOAD}-byte payloads. "received" = messages Redis delivered to an instance's adapter on room channels (its own publications included, when it holds members of the room).`);
        reporter.data.loadAverageAtStart = loadAverage();
        const redis = await startRedis();
        const results: RunResult[] = [];
        try {
            let runNumber = 0;
            // Interleaved, so that a busy spell of the (shared) machine does not fall on one adapter only.
            for (const count of INSTANCES) {
                for (const adapter of ['sharded', 'classic'] as const) {
                    results.push(await run(adapter, count, redis, ++runNumber));
                }
            }
            results.sort((a, b) => a.adapter.localeCompare(b.adapter) * -1 || a.instances - b.instances);
        } finally {
            await redis.stop();
        }
        const rows = results.map(result => [
            result.adapter, result.instances, result.published, result.delivered,
            Math.round(mean(result.received)), Math.max(...result.received), Math.round(mean(result.receivedBytes) / 1024),
            Math.round(mean(result.serverReceived)),
            result.published ? round(mean(result.received) / result.published, 3) : NaN,
            result.cpuUsPerDelivery, result.delivered ? round(result.redisCpuMs * 1000 / result.delivered, 1) : NaN, result.latency.p50, result.latency.p99,
            round(result.load, 1)
        ]);
        reporter.table('Per run (measured phase)', [
            'adapter', 'instances', 'published', 'delivered', 'received/instance (mean)', 'received (max instance)', 'KiB received/instance',
            'server-channel msgs/instance', 'received per published, per instance', 'CPU µs/delivery (instances)', 'redis-server CPU µs/delivery', 'p50 ms', 'p99 ms', 'load avg'
        ], rows);
        reporter.table('Received per instance, each instance', ['adapter', 'instances', 'received per instance'],
            results.map(result => [result.adapter, result.instances, result.received.join(' ')]));

        // Targets (sharded). Per instance, the share of what is published that it receives is span/N (a room's
        // messages reach the instances holding its members): ideally 1 at N=1 and 2/N from N=2 on.
        const sharded = results.filter(result => result.adapter === 'sharded');
        const classic = results.filter(result => result.adapter === 'classic');
        const share = (result: RunResult) => mean(result.received) / Math.max(1, result.published);
        for (const result of sharded.filter(candidate => candidate.instances > 1)) {
            const ideal = result.span / result.instances;
            const measured = share(result);
            reporter.target(`sharded, N=${result.instances}: messages received per instance`, `~${round(ideal, 3)} of those published (span ${result.span}/N, within 30 %)`,
                `${round(measured, 3)} (${Math.round(mean(result.received))} of ${result.published})`, Math.abs(measured - ideal) <= 0.3 * ideal);
        }
        const two = sharded.find(result => result.instances === 2);
        const eight = sharded.find(result => result.instances === 8);
        if (two && eight) {
            const ratio = share(eight) / share(two);
            reporter.target('sharded: received per instance, N=8 vs N=2', '~1/4 (within 30 %)', `${round(ratio, 3)}`, Math.abs(ratio - 0.25) <= 0.3 * 0.25);
        }
        const one = sharded.find(result => result.instances === 1);
        for (const result of sharded) {
            const baseline = classic.find(candidate => candidate.instances === result.instances);
            if (baseline) {
                reporter.target(`sharded, N=${result.instances}: delivery p99 vs classic at the same N`, 'no target (shared machine: times are noisy)',
                    `${result.latency.p99} vs ${baseline.latency.p99} ms`, null);
            }
        }
        for (const result of sharded.filter(candidate => candidate.instances > 1)) {
            if (one) {
                reporter.target(`sharded, N=${result.instances}: delivery p99`, `within 1.5x of N=1 (${one.latency.p99} ms)`,
                    `${result.latency.p99} ms (${round(result.latency.p99 / one.latency.p99, 2)}x)`, result.latency.p99 <= 1.5 * one.latency.p99);
            }
        }
        for (const result of [...sharded, ...classic]) {
            const expected = result.published * (result.adapter === 'classic' ? result.instances : result.span);
            const total = result.received.reduce((a, b) => a + b, 0);
            if (result.delivered < result.published * (ROOM_SIZE - 1) * 0.95) {
                reporter.note(`${result.adapter} N=${result.instances}: delivered ${result.delivered} of ${result.published * (ROOM_SIZE - 1)} expected in the window (the rest arrived after it or was lost)`);
            }
            reporter.data[`${result.adapter}-${result.instances}-expectedReceivedTotal`] = expected;
            reporter.data[`${result.adapter}-${result.instances}-receivedTotal`] = total;
        }
        const classicOne = classic.find(result => result.instances === 1);
        const classicEight = classic.find(result => result.instances === 8);
        if (classicOne && classicEight) {
            reporter.target('classic (baseline): received per instance, N=8 vs N=1', 'stays ~1 (every instance receives everything; no target)',
                `${round(share(classicEight) / share(classicOne), 3)}`, null);
        }
        Object.assign(reporter.data, {
            rooms: ROOMS, roomSize: ROOM_SIZE, totalRate: TOTAL_RATE, warmupMs: WARMUP_MS, measureMs: MEASURE_MS, payload: PAYLOAD,
            runs: results, loadAverageAtEnd: loadAverage()
        });
    }
};

if (require.main === module) {
    main(scale);
}
