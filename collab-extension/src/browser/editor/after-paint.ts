import { Disposable } from '@theia-collab/protocol/lib/events';

/**
 * How long a run waits for a frame before it goes ahead without one: a hidden page gets no animation frames
 * (its state still has to reach the others).
 */
export const NO_FRAME_FALLBACK_MS = 100;

/**
 * Runs work that is not needed to show a keystroke in the typist's own editor (broadcasting where the caret
 * is, re-drawing other participants' carets) off the keystroke's path: after the next frame was painted, at
 * most once per `intervalMs`, with the latest state. Calls while a run is pending are merged into it, and a
 * call is never dropped: the last one always leads to a run (the trailing edge).
 */
export class AfterPaintThrottle implements Disposable {
    protected pending = false;
    protected lastRun = -Infinity;
    protected frame: number | undefined;
    protected timer: ReturnType<typeof setTimeout> | undefined;
    protected disposed = false;

    constructor(protected readonly run: () => void, protected readonly intervalMs: number) { }

    /** Asks for a run: not before `intervalMs` after the previous run, and then right after a frame was painted. */
    schedule(): void {
        if (this.pending || this.disposed) {
            return;
        }
        this.pending = true;
        const wait = this.lastRun + this.intervalMs - performance.now();
        if (wait > 0) {
            this.timer = setTimeout(() => this.afterNextPaint(), wait);
        } else {
            this.afterNextPaint();
        }
    }

    /** Runs now what is pending (e.g. before the state is read elsewhere). */
    flush(): void {
        if (this.pending) {
            this.runNow();
        }
    }

    /** Forgets a pending run (the caller did the work itself). */
    cancel(): void {
        this.cancelWaits();
        this.pending = false;
    }

    dispose(): void {
        this.disposed = true;
        this.cancelWaits();
        this.pending = false;
    }

    protected afterNextPaint(): void {
        this.cancelWaits();
        // The frame callback only posts a task: the run comes after the frame's style, layout and paint.
        this.frame = requestAnimationFrame(() => {
            this.frame = undefined;
            clearTimeout(this.timer);
            this.timer = setTimeout(() => this.runNow(), 0);
        });
        this.timer = setTimeout(() => this.runNow(), NO_FRAME_FALLBACK_MS);
    }

    protected runNow(): void {
        this.cancelWaits();
        this.pending = false;
        if (this.disposed) {
            return;
        }
        this.lastRun = performance.now();
        this.run();
    }

    protected cancelWaits(): void {
        if (this.frame !== undefined) {
            cancelAnimationFrame(this.frame);
            this.frame = undefined;
        }
        clearTimeout(this.timer);
        this.timer = undefined;
    }
}
