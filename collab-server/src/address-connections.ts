/**
 * Counts what each remote address holds open (connections), against a cap. The count of an address goes
 * when it drops to 0, so the map only holds addresses with something open.
 */
export class AddressConnections {
    protected readonly counts = new Map<string, number>();

    constructor(readonly max: number) { }

    /** Whether `address` may open one more. */
    admits(address: string): boolean {
        return (this.counts.get(address) ?? 0) < this.max;
    }

    /** Counts one more for `address`; the returned function gives it back (once, however often it is called). */
    add(address: string): () => void {
        this.counts.set(address, (this.counts.get(address) ?? 0) + 1);
        let released = false;
        return () => {
            if (released) {
                return;
            }
            released = true;
            const count = (this.counts.get(address) ?? 1) - 1;
            if (count > 0) {
                this.counts.set(address, count);
            } else {
                this.counts.delete(address);
            }
        };
    }

    count(address: string): number {
        return this.counts.get(address) ?? 0;
    }

    /** Addresses holding something open. */
    get size(): number {
        return this.counts.size;
    }
}
