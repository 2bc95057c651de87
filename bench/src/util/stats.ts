/** Latency samples and summary statistics. */

export class Samples {
    protected values: number[] = [];

    add(value: number): void {
        this.values.push(value);
    }

    get count(): number {
        return this.values.length;
    }

    /** The `q`-quantile (0..1), nearest rank. NaN when empty. */
    quantile(q: number): number {
        if (this.values.length === 0) {
            return NaN;
        }
        const sorted = this.sorted();
        const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
        return sorted[rank];
    }

    mean(): number {
        return this.values.length ? this.values.reduce((a, b) => a + b, 0) / this.values.length : NaN;
    }

    max(): number {
        return this.values.length ? this.sorted()[this.values.length - 1] : NaN;
    }

    summary(): LatencySummary {
        return {
            count: this.count,
            p50: round(this.quantile(0.5)),
            p95: round(this.quantile(0.95)),
            p99: round(this.quantile(0.99)),
            max: round(this.max()),
            mean: round(this.mean())
        };
    }

    merge(other: Samples): void {
        this.values.push(...other.values);
        this.cache = undefined;
    }

    raw(): number[] {
        return this.values;
    }

    static of(values: number[]): Samples {
        const samples = new Samples();
        samples.values = values.slice();
        return samples;
    }

    protected cache?: { length: number; sorted: number[] };

    protected sorted(): number[] {
        if (!this.cache || this.cache.length !== this.values.length) {
            this.cache = { length: this.values.length, sorted: Float64Array.from(this.values).sort() as unknown as number[] };
        }
        return this.cache.sorted;
    }
}

export interface LatencySummary {
    count: number;
    p50: number;
    p95: number;
    p99: number;
    max: number;
    mean: number;
}

export function round(value: number, digits = 2): number {
    if (!Number.isFinite(value)) {
        return value;
    }
    const factor = 10 ** digits;
    return Math.round(value * factor) / factor;
}

/** `a / b`, rounded; NaN if either is not a positive finite number. */
export function ratio(a: number, b: number, digits = 2): number {
    return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? round(a / b, digits) : NaN;
}

export function median(values: number[]): number {
    return Samples.of(values).quantile(0.5);
}
