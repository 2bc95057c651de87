/**
 * Keeps one connection's sends under the limits its server announced in `server:hello` (events and bytes
 * per window, token buckets like the server's own), so that legitimate bursts — a host storing several
 * large documents, a guest opening many files at once — are spread out instead of being refused
 * `rate-limited` and ending in a disconnection. Sends leave in call order; a send that fits the budget and
 * has nothing queued before it leaves at once (a keystroke is never held back by the pacer).
 */
import type { ClientLimits } from './wire';

/** Share of the server's limits this client allows itself: the server's clock and ours differ a little. */
const HEADROOM = 0.85;
/** Overhead the server adds to its estimate of an event's size (see its connection handler). */
export const EVENT_OVERHEAD_BYTES = 64;

class Bucket {
    private tokens: number;
    private updatedAt: number;

    constructor(readonly capacity: number, private readonly perMs: number, private readonly now: () => number) {
        this.tokens = capacity;
        this.updatedAt = now();
    }

    /** Milliseconds until `cost` tokens are available (0: now). A cost above the capacity waits for a full bucket. */
    wait(cost: number): number {
        this.refill();
        const needed = Math.min(cost, this.capacity) - this.tokens;
        return needed <= 0 ? 0 : Math.ceil(needed / this.perMs);
    }

    take(cost: number): void {
        this.refill();
        this.tokens -= Math.min(cost, this.capacity);
    }

    private refill(): void {
        const now = this.now();
        this.tokens = Math.min(this.capacity, this.tokens + (now - this.updatedAt) * this.perMs);
        this.updatedAt = now;
    }
}

/** Size of an event's payload as the server estimates it: binary lengths and string lengths, plus overhead. */
export function estimateEventBytes(payload: unknown): number {
    let total = EVENT_OVERHEAD_BYTES;
    const visit = (value: unknown, depth: number): void => {
        if (value instanceof Uint8Array || value instanceof ArrayBuffer) {
            total += value.byteLength;
        } else if (typeof value === 'string') {
            total += value.length;
        } else if (depth < 3 && typeof value === 'object' && value !== null) {
            for (const entry of Object.values(value)) {
                visit(entry, depth + 1);
            }
        }
    };
    visit(payload, 0);
    return total;
}

export class SendPacer {
    private events?: Bucket;
    private bytes?: Bucket;
    private readonly queue: { cost: number; send: () => void }[] = [];
    private timer: ReturnType<typeof setTimeout> | undefined;

    constructor(private readonly now: () => number = Date.now) { }

    /** Takes the server's limits (again on every connection: another instance may differ). */
    setLimits(limits: ClientLimits): void {
        const bucket = (rate: { max: number; windowMs: number }) =>
            new Bucket(Math.max(1, Math.floor(rate.max * HEADROOM)), rate.max * HEADROOM / rate.windowMs, this.now);
        this.events = bucket(limits.events);
        this.bytes = bucket(limits.bytes);
        this.drain();
    }

    /** Runs `send` now if it fits and nothing waits, else once the budget allows, after what was queued before. */
    schedule(cost: number, send: () => void): void {
        if (this.queue.length === 0 && this.delay(cost) === 0) {
            this.take(cost);
            send();
            return;
        }
        this.queue.push({ cost, send });
        this.arm();
    }

    /** How many sends wait for budget. */
    get waiting(): number {
        return this.queue.length;
    }

    /** Runs everything queued at once (the connection is gone: each send fails by itself). */
    flush(): void {
        clearTimeout(this.timer);
        this.timer = undefined;
        for (const item of this.queue.splice(0)) {
            item.send();
        }
    }

    private delay(cost: number): number {
        return Math.max(this.events?.wait(1) ?? 0, this.bytes?.wait(cost) ?? 0);
    }

    private take(cost: number): void {
        this.events?.take(1);
        this.bytes?.take(cost);
    }

    private drain(): void {
        while (this.queue.length > 0 && this.delay(this.queue[0].cost) === 0) {
            const item = this.queue.shift()!;
            this.take(item.cost);
            item.send();
        }
        this.arm();
    }

    private arm(): void {
        if (this.timer !== undefined || this.queue.length === 0) {
            return;
        }
        const wait = Math.max(1, this.delay(this.queue[0].cost));
        this.timer = setTimeout(() => {
            this.timer = undefined;
            this.drain();
        }, wait);
        (this.timer as { unref?: () => void }).unref?.();
    }
}
