/** Bounded waiting for tests: every wait ends, with a message saying what did not happen. */
import { CollaborationError } from '@theia-collab/protocol/lib/errors';
import type { Event } from '@theia-collab/protocol/lib/events';

/**
 * Polls `condition` every 10 ms; rejects after `timeoutMs`.
 * @example await until(() => guest.peers.length === 2, 'the guest sees the host');
 */
export async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
        if (Date.now() > deadline) {
            throw new Error(`timed out waiting until ${what}`);
        }
        await new Promise(resolve => setTimeout(resolve, 10));
    }
}

/**
 * The next event matching `predicate`, or a rejection after `timeoutMs`. Subscribe before causing the event.
 * @example const left = next(host.onPeerLeft); await guest.leave(); await left;
 */
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

/** Collects what a handler receives: `session.onBroadcast(Def, received.push)`. */
export function collector<T>(): { items: T[]; push: (item: T) => void } {
    const items: T[] = [];
    return { items, push: item => { items.push(item); } };
}

/** The `CollaborationError` a promise rejects with; fails when it resolves or rejects with something else. */
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
