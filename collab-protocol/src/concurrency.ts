/** Runs `task` for every index 0..count-1, at most `limit` at a time, each worker taking the next free index. */
export async function forEachIndex(count: number, limit: number, task: (index: number) => Promise<void>): Promise<void> {
    let next = 0;
    const worker = async () => {
        while (next < count) {
            await task(next++);
        }
    };
    await Promise.all(Array.from({ length: Math.min(count, limit) }, worker));
}

/** A promise with its resolve and reject at hand. */
export class Deferred<T = void> {
    readonly promise: Promise<T>;
    resolve!: (value: T) => void;
    reject!: (error: unknown) => void;

    constructor() {
        this.promise = new Promise<T>((resolve, reject) => {
            this.resolve = resolve;
            this.reject = reject;
        });
    }
}
