/**
 * Test support for the co-editing specs (Node only): a real coordination server, real protocol clients,
 * sessions whose outgoing messages can be delayed at random (order per sender kept, as on the wire),
 * and the seeded PRNG of the server's reliability tests.
 */
import { CollaborationClient } from '@theia-collab/protocol/lib/client';
import type { CollaborationSession } from '@theia-collab/protocol/lib/session';
import { ServerHandle, startServer } from '@theia-collab/server/lib/server';

export class QuietLogger {
    readonly records: string[] = [];
    warn = (...args: unknown[]) => { this.records.push(args.map(String).join(' ')); };
    error = (...args: unknown[]) => { this.records.push(args.map(String).join(' ')); };
    info = () => { };
}

export async function startTestServer(): Promise<ServerHandle> {
    return startServer({
        hostname: '127.0.0.1',
        port: 0,
        logLevel: 'silent',
        secret: 'editor-test-secret-editor-test-secret',
        loginRateLimit: { max: 10_000, windowMs: 60_000 },
        joinRateLimit: { max: 10_000, windowMs: 60_000 },
        // The fuzz test sends far more messages per second than people type.
        socketEventRateLimit: { max: 100_000, windowMs: 1000 }
    } as Parameters<typeof startServer>[0]);
}

export async function connect(server: ServerHandle, name: string, logger = new QuietLogger()): Promise<CollaborationClient> {
    return CollaborationClient.connect({ serverUrl: server.url, name, logger, requestTimeout: 30_000 });
}

/** The seeded PRNG the server's reliability tests use, so every fuzz run is reproducible from its seed. */
export { prng } from '@theia-collab/test-kit';

/**
 * The same session, but what it sends leaves after a random delay (0..maxDelayMs); messages of one sender
 * keep their order, like on a real connection.
 */
export function delayed(session: CollaborationSession, random: () => number, maxDelayMs: number): CollaborationSession {
    let last = 0;
    const later = <T>(send: () => Promise<T>): Promise<T> => {
        const at = Math.max(last, Date.now() + Math.floor(random() * maxDelayMs));
        last = at;
        return new Promise<T>((resolve, reject) => setTimeout(() => send().then(resolve, reject), at - Date.now()));
    };
    const overrides: Partial<CollaborationSession> = {
        sendNotification: (definition, params, target) => later(() => session.sendNotification(definition, params, target)),
        sendBroadcast: (definition, params) => later(() => session.sendBroadcast(definition, params)),
        sendRequest: (definition, params, options) => later(() => session.sendRequest(definition, params, options))
    };
    return new Proxy(session, {
        get(target, property, receiver) {
            if (property in overrides) {
                return (overrides as Record<PropertyKey, unknown>)[property];
            }
            const value = Reflect.get(target, property, target);
            return typeof value === 'function' ? value.bind(target) : value;
        }
    });
}

export async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
        if (Date.now() > deadline) {
            throw new Error(`timed out waiting until ${what}`);
        }
        await new Promise(resolve => setTimeout(resolve, 10));
    }
}

export function sleep(ms: number): Promise<void> {
    return new Promise(resolve => setTimeout(resolve, ms));
}
