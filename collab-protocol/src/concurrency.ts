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
