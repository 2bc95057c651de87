import { performance } from 'perf_hooks';
import { forEachIndex } from '@theia-collab/protocol/lib/concurrency';

export const now = (): number => performance.now();

/** Milliseconds since the epoch with sub-millisecond resolution; comparable across processes on one machine. */
export const wallNow = (): number => performance.timeOrigin + performance.now();

export function sleep(ms: number): Promise<void> {
    return new Promise(resolve => setTimeout(resolve, ms));
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export async function until(check: () => boolean | Promise<boolean>, ms: number, what: string, intervalMs = 5): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await check())) {
        if (Date.now() > deadline) {
            throw new Error(`timed out after ${ms} ms waiting until ${what}`);
        }
        await sleep(intervalMs);
    }
}

/** Runs `task` for every item with at most `limit` running at once. */
export function pool<T>(items: T[], limit: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
    return forEachIndex(items.length, limit, index => task(items[index], index));
}

/** The seeded PRNG the server's reliability tests use, so every fuzz run is reproducible from its seed. */
export { prng } from '@theia-collab/test-kit';
