/**
 * Paces outgoing document updates: the first change after a quiet spell leaves at once (end of the
 * current task, so the transactions of one edit travel together), the changes that follow within
 * `intervalMs` are merged into one message sent when the interval ends. A keystroke costs no waiting;
 * a burst of typing or a paste costs one message per interval, not one per transaction.
 */
export const DEFAULT_BATCH_MS = 15;

export class UpdateBatcher {
    protected timer: ReturnType<typeof setTimeout> | undefined;
    protected queued = false;
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
        if (this.queued) {
            return;
        }
        this.queued = true;
        const generation = this.generation;
        queueMicrotask(() => {
            if (generation !== this.generation) {
                return;
            }
            this.queued = false;
            this.sendAndWait();
        });
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
        this.queued = false;
        this.held = false;
    }

    protected sendAndWait(): void {
        this.send();
        this.timer = setTimeout(() => {
            this.timer = undefined;
            if (this.held) {
                this.held = false;
                this.sendAndWait();
            }
        }, this.intervalMs);
    }
}
