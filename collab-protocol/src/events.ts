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

export type Event<T> = (listener: (event: T) => void) => Disposable;

export class Emitter<T> {
    private listeners = new Set<(event: T) => void>();

    readonly event: Event<T> = listener => {
        this.listeners.add(listener);
        return Disposable.create(() => this.listeners.delete(listener));
    };

    fire(event: T): void {
        for (const listener of [...this.listeners]) {
            try {
                listener(event);
            } catch (error) {
                console.error('collaboration: event listener failed', error);
            }
        }
    }

    dispose(): void {
        this.listeners.clear();
    }
}
