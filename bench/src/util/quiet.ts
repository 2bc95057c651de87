/**
 * The machine is shared: other processes' CPU use skews every figure. Before a measured phase we wait
 * (bounded) until the rest of the machine is quiet, and phases run while it was busy are repeated.
 */
import { autogroupNice, cpuMs, descendants, machineBusyMs } from './proc';
import { log } from './report';
import { round } from './stats';
import { sleep } from './time';

/** Other processes may use this much (% of one core) for the machine to count as quiet. */
export const QUIET_PERCENT = Number(process.env.BENCH_QUIET_PERCENT ?? 30);
/** A phase during which others used more than this is repeated (up to NOISY_RETRIES times). */
export const NOISY_PERCENT = Number(process.env.BENCH_NOISY_PERCENT ?? 50);
export const NOISY_RETRIES = 2;
const MAX_WAIT_MS = Number(process.env.BENCH_QUIET_WAIT_MS ?? 120_000);
/** Total time one benchmark may spend waiting for quiet (and repeating noisy phases); then it just measures. */
const BUDGET_MS = Number(process.env.BENCH_QUIET_BUDGET_MS ?? 10 * 60_000);
let spentMs = 0;

/** Whether there is time left to wait for quiet or to repeat a disturbed phase. */
export function quietBudgetLeft(): boolean {
    return spentMs < BUDGET_MS;
}

/** Counts time spent on a repeated (disturbed) phase against the budget. */
export function chargeQuietBudget(ms: number): void {
    spentMs += ms;
}

/** CPU used by processes other than this one, its descendants and `ownPids` over `ms`, in % of one core. */
export async function otherCpuPercent(ms: number, extraPids: number[] = []): Promise<number> {
    const ownPids = [...new Set([...descendants(), ...extraPids])];
    const own = () => ownPids.reduce((sum, pid) => {
        try {
            return sum + cpuMs(pid);
        } catch {
            return sum;
        }
    }, 0);
    const busy0 = machineBusyMs();
    const self0 = process.cpuUsage();
    const own0 = own();
    await sleep(ms);
    const self = process.cpuUsage(self0);
    const other = machineBusyMs() - busy0 - (self.user + self.system) / 1000 - (own() - own0);
    return round(Math.max(0, other) / ms * 100, 0);
}

export interface QuietWait {
    waitedMs: number;
    otherPercent: number;
    quiet: boolean;
}

export const quietLog: QuietWait[] = [];

/** Waits until two consecutive 500 ms samples are under QUIET_PERCENT, at most MAX_WAIT_MS. */
export async function waitQuiet(ownPids: number[] = [], maxWaitMs = MAX_WAIT_MS): Promise<QuietWait> {
    if (priorityRaised()) {
        return { waitedMs: 0, otherPercent: NaN, quiet: true };
    }
    const started = Date.now();
    maxWaitMs = Math.max(1000, Math.min(maxWaitMs, BUDGET_MS - spentMs));
    let calm = 0;
    let last = 0;
    let announced = false;
    while (Date.now() - started < maxWaitMs) {
        last = await otherCpuPercent(500, ownPids);
        calm = last <= QUIET_PERCENT ? calm + 1 : 0;
        if (calm >= 2) {
            spentMs += Date.now() - started;
            const result = { waitedMs: Date.now() - started, otherPercent: last, quiet: true };
            quietLog.push(result);
            return result;
        }
        if (!announced && Date.now() - started > 5000) {
            announced = true;
            log(`waiting for the machine to be quiet (other processes use ${last}% of a core)...`);
        }
    }
    spentMs += Date.now() - started;
    log(`the machine did not get quiet within ${Math.round(maxWaitMs / 1000)} s (others use ${last}% of a core): measuring anyway`);
    const result = { waitedMs: Date.now() - started, otherPercent: last, quiet: false };
    quietLog.push(result);
    return result;
}

export function quietSummary(): { waits: number; notQuiet: number; totalWaitS: number } {
    return {
        waits: quietLog.length,
        notQuiet: quietLog.filter(wait => !wait.quiet).length,
        totalWaitS: round(quietLog.reduce((sum, wait) => sum + wait.waitedMs, 0) / 1000, 0)
    };
}

/**
 * Whether this benchmark runs with a raised scheduling priority (run-all sets its session's autogroup
 * nice, see BENCH_PRIORITY): then other processes get what it leaves and need not be waited for.
 */
export function priorityRaised(): boolean {
    return autogroupNice() < 0;
}
