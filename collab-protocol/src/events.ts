/** Minimal, dependency-free events and disposables, shaped like Theia's so they interoperate. */
export interface Disposable {
    dispose(): void;
}

export namespace Disposable {
    export function create(dispose: () => void): Disposable {
        let disposed = false;
        return { dispose: () => { if (!disposed) { disposed = true; dispose(); } } };
    }
}

/** Where an event puts the subscription's disposable: an array, Theia's `DisposableCollection`, a `Set`... */
export type DisposableGroup = { push(disposable: Disposable): void } | { add(disposable: Disposable): void };

/**
 * Subscribes `listener`, called with `thisArgs` as `this`; the returned disposable unsubscribes and is also added to
 * `disposables` when given. The same shape as Theia's `Event<T>` (`@theia/core/lib/common/event`), so a session's
 * events work with Theia's `Event.map`, `Event.filter`, `Event.once` and `DisposableCollection`.
 * @example
 * session.onPeerJoined(peer => console.log(`${peer.name} joined`), undefined, this.toDispose);
 */
export interface Event<T> {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    (listener: (event: T) => any, thisArgs?: any, disposables?: DisposableGroup): Disposable;
}

interface Subscription<T> {
    readonly listener: (event: T) => unknown;
    readonly thisArgs: unknown;
}

export class Emitter<T> {
    /** One entry per subscription: the same listener subscribed twice is called twice, as in Theia. */
    private subscriptions = new Set<Subscription<T>>();

    readonly event: Event<T> = (listener, thisArgs?, disposables?) => {
        const subscription: Subscription<T> = { listener, thisArgs };
        this.subscriptions.add(subscription);
        const disposable = Disposable.create(() => this.subscriptions.delete(subscription));
        if (disposables && 'push' in disposables && typeof disposables.push === 'function') {
            disposables.push(disposable);
        } else if (disposables && 'add' in disposables && typeof disposables.add === 'function') {
            disposables.add(disposable);
        }
        return disposable;
    };

    fire(event: T): void {
        for (const subscription of [...this.subscriptions]) {
            try {
                subscription.listener.call(subscription.thisArgs, event);
            } catch (error) {
                console.error('collaboration: event listener failed', error);
            }
        }
    }

    dispose(): void {
        this.subscriptions.clear();
    }
}
