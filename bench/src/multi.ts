/**
 * 3. Multi-instance: the fan-out benchmark (room of 10, 1 KB payloads, raw envelopes) through two
 * collab-server instances sharing a Redis (/usr/bin/redis-server on a free loopback port), the room's
 * members alternating between the instances, as a ratio to one instance. One instance with Redis is
 * measured too, to tell the adapter's cost from the cross-instance hop.
 *
 *   npm run bench -- multi
 */
import * as fs from 'fs';
import { closedLoopSweep, fixedRates, phaseRow, PHASE, PHASE_COLUMNS, REPETITIONS, ROOM_SIZE, rawTarget, Target } from './fanout';
import { BenchmarkDefinition, main } from './util/main';
import { loadAverage } from './util/proc';
import { quietSummary } from './util/quiet';
import { createRawRoom, RawRoom } from './util/raw-clients';
import { Reporter } from './util/report';
import { REDIS_SERVER, RunningServer, startCollabServer, startRedis } from './util/servers';
import { ratio } from './util/stats';
import { sleep } from './util/time';

export const multi: BenchmarkDefinition = {
    name: 'multi',
    title: `Multi-instance fan-out: room of ${ROOM_SIZE} over two collab-server instances with Redis vs one instance`,
    async run(reporter: Reporter) {
        if (!fs.existsSync(REDIS_SERVER)) {
            reporter.note(`${REDIS_SERVER} is missing: skipped`);
            reporter.target('two instances with Redis', 'measured', 'not measured: no redis-server', null);
            reporter.partial = true;
            return;
        }
        reporter.note(`Same phases as 'fanout' (${PHASE.warmupMs} ms warm-up, ${PHASE.measureMs} ms measured, ${REPETITIONS} repetitions alternating, medians). Two instances: members 0, 2, 4, ... on instance A (the host among them), 1, 3, 5, ... on B. Server CPU lists every server process (instances, then redis-server).`);
        reporter.data.loadAverageAtStart = loadAverage();
        const servers: RunningServer[] = [];
        const rooms: RawRoom[] = [];
        try {
            const redis = await startRedis();
            servers.push(redis);
            const single = await startCollabServer({ name: 'collab-server (memory)' });
            servers.push(single);
            const withRedis = { redisUrl: redis.url };
            const singleRedis = await startCollabServer({ name: 'collab-server (redis)', config: { ...withRedis, redisPrefix: 'single:' } });
            servers.push(singleRedis);
            const a = await startCollabServer({ name: 'collab-server A', config: { ...withRedis, redisPrefix: 'pair:' } });
            servers.push(a);
            const b = await startCollabServer({ name: 'collab-server B', config: { ...withRedis, redisPrefix: 'pair:' } });
            servers.push(b);
            const room = async (urls: string[]) => {
                const created = await createRawRoom('collab', urls, ROOM_SIZE);
                rooms.push(created);
                return created;
            };
            const targets: Target[] = [
                rawTarget('one instance', await room([single.url]), [single.pid]),
                rawTarget('one instance + Redis', await room([singleRedis.url]), [singleRedis.pid, redis.pid]),
                rawTarget('two instances + Redis', await room([a.url, b.url]), [a.pid, b.pid, redis.pid])
            ];
            const sweep = await closedLoopSweep(targets);
            const [singlePeak, singleRedisPeak, pairPeak] = sweep.peaks;
            const half = Math.round(singlePeak.sentPerSec * 0.5);
            const fixed = await fixedRates(targets, half);
            reporter.table('Closed loop (peak throughput)', PHASE_COLUMNS, targets.flatMap((target, i) => sweep.phases[i].map(p => phaseRow(target.label, p))));
            reporter.table(`Fixed rate: ${half}/s (half the one-instance peak)`, PHASE_COLUMNS, targets.map((target, i) => phaseRow(target.label, fixed[i])));
            const throughput = ratio(pairPeak.deliveredPerSec, singlePeak.deliveredPerSec);
            const p99 = ratio(fixed[2].latency.p99, fixed[0].latency.p99);
            reporter.table('Ratios (to one instance without Redis)', ['figure', 'one instance', 'one + Redis', 'two + Redis', 'ratio one+Redis', 'ratio two+Redis'], [
                ['peak delivered/s', singlePeak.deliveredPerSec, singleRedisPeak.deliveredPerSec, pairPeak.deliveredPerSec,
                    ratio(singleRedisPeak.deliveredPerSec, singlePeak.deliveredPerSec), throughput],
                [`p50 ms at ${half}/s`, fixed[0].latency.p50, fixed[1].latency.p50, fixed[2].latency.p50,
                    ratio(fixed[1].latency.p50, fixed[0].latency.p50), ratio(fixed[2].latency.p50, fixed[0].latency.p50)],
                [`p99 ms at ${half}/s`, fixed[0].latency.p99, fixed[1].latency.p99, fixed[2].latency.p99,
                    ratio(fixed[1].latency.p99, fixed[0].latency.p99), p99]
            ]);
            reporter.target('two instances + Redis: peak throughput vs one instance', 'ratio (no target)', `${throughput}x (${pairPeak.deliveredPerSec} vs ${singlePeak.deliveredPerSec} delivered/s)`, null);
            reporter.target('two instances + Redis: p99 at half the one-instance peak', 'ratio (no target)', `${p99}x (${fixed[2].latency.p99} vs ${fixed[0].latency.p99} ms)`, null);
            Object.assign(reporter.data, {
                closedLoop: { single: sweep.phases[0], singleRedis: sweep.phases[1], pair: sweep.phases[2] },
                peaks: { single: singlePeak, singleRedis: singleRedisPeak, pair: pairPeak },
                fixedRate: { rate: half, single: fixed[0], singleRedis: fixed[1], pair: fixed[2] },
                ratios: { throughput, p99 }, quiet: quietSummary(), loadAverageAtEnd: loadAverage()
            });
        } finally {
            rooms.forEach(r => r.close());
            await sleep(200);
            for (const server of servers.slice().reverse()) {
                await server.stop();
            }
        }
    }
};

if (require.main === module) {
    main(multi);
}
