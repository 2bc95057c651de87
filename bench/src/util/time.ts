import { performance } from 'perf_hooks';

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
export async function pool<T>(items: T[], limit: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
    let next = 0;
    const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
        while (next < items.length) {
            const index = next++;
            await task(items[index], index);
        }
    });
    await Promise.all(workers);
}

/** mulberry32: small seeded PRNG so runs are reproducible. */
export function prng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6D2B79F5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}
