/**
 * Shared setup of the client-versus-real-server tests: a server on a free loopback port, real
 * protocol clients, and sessions with admitted guests.
 */
import { CollaborationClient, CollaborationSessionImpl } from '@theia-collab/protocol/lib/client';
import { CollaborationError } from '@theia-collab/protocol/lib/errors';
import type { Event } from '@theia-collab/protocol/lib/events';
import type { CollaborationSession } from '@theia-collab/protocol/lib/session';
import type { Permission } from '@theia-collab/protocol/lib/wire';
import type { ServerOptions } from '../config';
import { ServerHandle, startServer } from '../server';

export interface LogRecord { level: 'warn' | 'error' | 'info'; text: string }

/** A logger that keeps what the client logs (so tests stay quiet and can look at it). */
export class RecordingLogger {
    readonly records: LogRecord[] = [];
    warn = (...args: unknown[]) => this.push('warn', args);
    error = (...args: unknown[]) => this.push('error', args);
    info = (...args: unknown[]) => this.push('info', args);

    private push(level: LogRecord['level'], args: unknown[]): void {
        this.records.push({ level, text: args.map(arg => arg instanceof Error ? arg.message : String(arg)).join(' ') });
    }
}

export class SessionFixture {
    readonly clients: CollaborationClient[] = [];
    readonly logger = new RecordingLogger();

    private constructor(readonly server: ServerHandle) { }

    static async start(options: Partial<ServerOptions> = {}): Promise<SessionFixture> {
        const server = await startServer({
            hostname: '127.0.0.1',
            port: 0,
            logLevel: 'silent',
            loginRateLimit: { max: 10_000, windowMs: 60_000 },
            joinRateLimit: { max: 10_000, windowMs: 60_000 },
            ...options
        });
        return new SessionFixture(server);
    }

    async connect(name: string, requestTimeout?: number): Promise<CollaborationClient> {
        const client = await CollaborationClient.connect({ serverUrl: this.server.url, name, logger: this.logger, requestTimeout });
        this.clients.push(client);
        return client;
    }

    /** A host and `guestCount` admitted guests; resolves once everyone sees everyone. */
    async room(guestCount: number, permission: Permission = 'readwrite'): Promise<{ host: CollaborationSession; guests: CollaborationSession[] }> {
        const host = await (await this.connect('Host')).createSession();
        const admitting = host.onJoinRequest(request => request.admit(permission).catch(error => this.logger.error(error)));
        const guests: CollaborationSession[] = [];
        for (let i = 0; i < guestCount; i++) {
            guests.push(await (await this.connect(`Guest ${i + 1}`)).joinSession(host.invite!.code));
        }
        admitting.dispose();
        await until(() => [host, ...guests].every(session => session.peers.length === guestCount + 1), 'everyone sees everyone');
        return { host, guests };
    }

    /** Closes the clients, then the server. */
    async close(): Promise<void> {
        this.clients.splice(0).forEach(client => client.dispose());
        await this.server.close();
    }
}

export function impl(session: CollaborationSession): CollaborationSessionImpl {
    if (!(session instanceof CollaborationSessionImpl)) {
        throw new Error('not a CollaborationSessionImpl');
    }
    return session;
}

/** Polls `condition` every 10 ms; rejects after `timeoutMs`. */
export async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
        if (Date.now() > deadline) {
            throw new Error(`timed out waiting until ${what}`);
        }
        await new Promise(resolve => setTimeout(resolve, 10));
    }
}

/** The next event matching `predicate`, or a rejection after `timeoutMs`. */
export function next<T>(event: Event<T>, predicate: (value: T) => boolean = () => true, timeoutMs = 5000): Promise<T> {
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
            listener.dispose();
            reject(new Error('timed out waiting for an event'));
        }, timeoutMs);
        const listener = event(value => {
            if (predicate(value)) {
                clearTimeout(timer);
                listener.dispose();
                resolve(value);
            }
        });
    });
}

/** Collects what a handler receives. */
export function collector<T>(): { items: T[]; push: (item: T) => void } {
    const items: T[] = [];
    return { items, push: item => { items.push(item); } };
}

export async function rejection(promise: Promise<unknown>): Promise<CollaborationError> {
    try {
        await promise;
    } catch (error) {
        if (error instanceof CollaborationError) {
            return error;
        }
        throw new Error(`expected a CollaborationError, got ${error}`);
    }
    throw new Error('expected a rejection');
}

export function delay(ms: number): Promise<void> {
    return new Promise(resolve => setTimeout(resolve, ms));
}
