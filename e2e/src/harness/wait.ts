import * as net from 'net';

/** Resolves with `promise`, or rejects after `ms` with a message that says what was awaited. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Polls `check` until it returns a value other than undefined/false, at most `ms` milliseconds. */
export async function waitFor<T>(check: () => T | undefined | false | Promise<T | undefined | false>, ms: number, what: string, intervalMs = 100): Promise<T> {
    const deadline = Date.now() + ms;
    let lastError: unknown;
    while (Date.now() < deadline) {
        try {
            const value = await check();
            if (value !== undefined && value !== false) {
                return value;
            }
        } catch (error) {
            lastError = error;
        }
        await new Promise(resolve => setTimeout(resolve, intervalMs));
    }
    throw new Error(`Timed out after ${ms} ms waiting for ${what}${lastError ? `: ${lastError}` : ''}`);
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.unref();
        server.on('error', reject);
        server.listen(0, '127.0.0.1', () => {
            const { port } = server.address() as net.AddressInfo;
            server.close(() => resolve(port));
        });
    });
}
