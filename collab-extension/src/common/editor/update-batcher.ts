/**
 * Paces outgoing document updates: the first change after a quiet spell leaves at once (before the
 * editor's other listeners run, so a keystroke is not held behind them), further changes of the same
 * task at its end, and the changes that follow within `intervalMs` are merged into one message sent
 * when the interval ends. A keystroke costs no waiting; a burst of typing or a paste costs one message
 * per interval, not one per transaction.
 */
export const DEFAULT_BATCH_MS = 15;

export class UpdateBatcher {
    protected timer: ReturnType<typeof setTimeout> | undefined;
    /** The leading change was sent in this task; the task's end starts the interval. */
    protected inTask = false;
    /** More changes came in that task: they leave at its end. */
    protected tail = false;
    /** Changes scheduled while the interval runs: they leave when it ends. */
    protected held = false;
    protected generation = 0;

    constructor(protected readonly send: () => void, protected readonly intervalMs: number) { }

    /** There is something new to send. */
    schedule(): void {
        if (this.timer !== undefined) {
            this.held = true;
            return;
        }
        if (this.inTask) {
            this.tail = true;
            return;
        }
        this.inTask = true;
        const generation = this.generation;
        queueMicrotask(() => {
            if (generation !== this.generation) {
                return;
            }
            this.inTask = false;
            if (this.tail) {
                this.tail = false;
                this.send();
            }
            this.startInterval();
        });
        this.send();
    }

    /** Sends what is waiting now, e.g. before a save or a rename; the pacing starts over. */
    flushNow(): void {
        this.cancel();
        this.send();
    }

    /** Forgets what is scheduled (the caller drops or re-synchronises what was waiting). */
    cancel(): void {
        this.generation++;
        clearTimeout(this.timer);
        this.timer = undefined;
        this.inTask = false;
        this.tail = false;
        this.held = false;
    }

    protected startInterval(): void {
        this.timer = setTimeout(() => {
            this.timer = undefined;
            if (this.held) {
                this.held = false;
                this.send();
                this.startInterval();
            }
        }, this.intervalMs);
    }
}
