/**
 * Token buckets: per remote address (logins, joins) and per socket (events, bytes).
 */
import type { RateLimit } from './config';

export class TokenBucket {
    protected tokens: number;
    protected updatedAt: number;

    constructor(protected readonly limit: RateLimit, protected readonly now: () => number = Date.now) {
        this.tokens = limit.max;
        this.updatedAt = now();
    }

    /** Takes `cost` tokens if available. A cost above the capacity is never granted. */
    take(cost = 1): boolean {
        this.refill();
        if (cost > this.tokens) {
            return false;
        }
        this.tokens -= cost;
        return true;
    }

    /** True when the bucket is full again, i.e. the key has been quiet for a while. */
    get idle(): boolean {
        this.refill();
        return this.tokens >= this.limit.max;
    }

    protected refill(): void {
        const now = this.now();
        const elapsed = now - this.updatedAt;
        if (elapsed > 0) {
            this.tokens = Math.min(this.limit.max, this.tokens + elapsed * this.limit.max / this.limit.windowMs);
            this.updatedAt = now;
        }
    }
}

/** One bucket per key (remote address), with a bound on the number of keys tracked. */
export class KeyedRateLimiter {
    protected readonly buckets = new Map<string, TokenBucket>();

    constructor(protected readonly limit: RateLimit, protected readonly maxKeys = 100_000, protected readonly now: () => number = Date.now) { }

    take(key: string, cost = 1): boolean {
        let bucket = this.buckets.get(key);
        if (!bucket) {
            if (this.buckets.size >= this.maxKeys) {
                this.sweep();
                if (this.buckets.size >= this.maxKeys) {
                    // Under a flood of distinct addresses, fail closed rather than grow without bound.
                    return false;
                }
            }
            bucket = new TokenBucket(this.limit, this.now);
            this.buckets.set(key, bucket);
        }
        return bucket.take(cost);
    }

    /** Forgets keys whose bucket is full again. */
    sweep(): void {
        for (const [key, bucket] of this.buckets) {
            if (bucket.idle) {
                this.buckets.delete(key);
            }
        }
    }

    get size(): number {
        return this.buckets.size;
    }
}

/** Per-socket limits on events and bytes, with strikes before disconnection. */
export class SocketRateLimiter {
    protected readonly events: TokenBucket;
    protected readonly bytes: TokenBucket;
    protected strikeCount = 0;

    constructor(eventLimit: RateLimit, byteLimit: RateLimit, protected readonly maxStrikes: number, now: () => number = Date.now) {
        this.events = new TokenBucket(eventLimit, now);
        this.bytes = new TokenBucket(byteLimit, now);
    }

    /** 'ok', 'limited' (refuse this event), or 'disconnect' (too many refusals). */
    check(byteCount: number): 'ok' | 'limited' | 'disconnect' {
        const allowed = this.events.take(1) && this.bytes.take(byteCount);
        if (allowed) {
            return 'ok';
        }
        this.strikeCount++;
        return this.strikeCount > this.maxStrikes ? 'disconnect' : 'limited';
    }

    get strikes(): number {
        return this.strikeCount;
    }
}
