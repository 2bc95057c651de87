/**
 * Bounds log lines that a client can cause (refused events, floods, refused connections): per key (a socket,
 * an address) the first `max` lines of each interval are written; the rest are counted, and once per interval
 * one summary line says how many of which were left out, and for which keys. So a flood of 100 sockets from
 * one address costs a few lines, not tens of thousands.
 */
import type { Logger } from 'pino';
import type { RateLimit } from './config';

export type LimitedLevel = 'info' | 'warn' | 'error' | 'debug';

/** Keys (and messages) listed in a summary line, at most. */
const SUMMARY_KEYS = 10;

export class LogLimiter {
    /** Lines written per key in the current interval. */
    protected readonly written = new Map<string, number>();
    /** Suppressed lines per key, and per message, in the current interval. */
    protected readonly suppressedByKey = new Map<string, number>();
    protected readonly suppressedByMessage = new Map<string, number>();
    protected suppressed = 0;
    protected readonly timer: NodeJS.Timeout;

    constructor(
        protected readonly logger: Logger,
        protected readonly limit: RateLimit,
        /** Keys tracked per interval; beyond it, lines of new keys are suppressed (counted). */
        protected readonly maxKeys = 10_000
    ) {
        this.timer = setInterval(() => this.flush(), limit.windowMs);
        this.timer.unref();
    }

    /**
     * Writes the line unless one of `keys` already had `limit.max` lines in this interval (then it is counted
     * for the summary). Lines of levels the logger does not write are neither written nor counted.
     */
    log(level: LimitedLevel, keys: readonly string[], fields: object, message: string): boolean {
        if (!this.logger.isLevelEnabled(level)) {
            return false;
        }
        let allowed = true;
        for (const key of keys) {
            const count = this.written.get(key);
            if (count === undefined) {
                if (this.written.size >= this.maxKeys) {
                    allowed = false;
                    continue;
                }
                this.written.set(key, 1);
            } else {
                this.written.set(key, count + 1);
                if (count + 1 > this.limit.max) {
                    allowed = false;
                }
            }
        }
        if (allowed) {
            this.logger[level](fields, message);
            return true;
        }
        this.suppressed++;
        this.suppressedByMessage.set(message, (this.suppressedByMessage.get(message) ?? 0) + 1);
        for (const key of keys) {
            if (this.suppressedByKey.size < this.maxKeys || this.suppressedByKey.has(key)) {
                this.suppressedByKey.set(key, (this.suppressedByKey.get(key) ?? 0) + 1);
            }
        }
        return false;
    }

    /** Ends the interval: writes the summary line if anything was suppressed, and starts counting anew. */
    flush(): void {
        if (this.suppressed > 0) {
            const top = (map: Map<string, number>) => Object.fromEntries([...map].sort((a, b) => b[1] - a[1]).slice(0, SUMMARY_KEYS));
            this.logger.warn({
                suppressed: this.suppressed,
                intervalMs: this.limit.windowMs,
                messages: top(this.suppressedByMessage),
                keys: top(this.suppressedByKey),
                keyCount: this.suppressedByKey.size
            }, 'log lines suppressed');
        }
        this.written.clear();
        this.suppressedByKey.clear();
        this.suppressedByMessage.clear();
        this.suppressed = 0;
    }

    /** Lines suppressed so far in this interval. */
    get pending(): number {
        return this.suppressed;
    }

    dispose(): void {
        clearInterval(this.timer);
        this.flush();
    }
}
