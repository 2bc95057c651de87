/**
 * The outbound side of a session: envelopes reach the socket in the order they were sealed (sequence numbers
 * are taken at sealing, and a receiver refuses a lower one after a higher), although sealing through
 * WebCrypto finishes in any order. A small message sealed at once leaves at once when nothing is waiting;
 * otherwise it queues behind what is, so it cannot overtake.
 */

function noop(): void { }

export class OrderedRelay<E> {
    private chain: Promise<unknown> = Promise.resolve();
    /** Sends in `chain` not yet handed to `emit`: while there are any, new ones queue behind them. */
    private queued = 0;

    /**
     * @param emit hands an envelope to the socket; resolves when the server accepted it.
     * @param beforeEmit checked before a queued envelope is emitted (throws when it must not go any more, e.g. disconnected).
     */
    constructor(private readonly emit: (envelope: E) => Promise<void>, private readonly beforeEmit: () => void = noop) { }

    /** Sends an envelope sealed already or still being sealed, after everything sent before. */
    send(sealed: E | Promise<E>): Promise<void> {
        if (!(sealed instanceof Promise) && this.queued === 0) {
            // Nothing waiting: a small message is handed to the socket before this returns.
            return this.emit(sealed);
        }
        return this.sendInOrder(Promise.resolve(sealed));
    }

    /** Whether envelopes are waiting for their turn. */
    get waiting(): boolean {
        return this.queued > 0;
    }

    /**
     * Sealing has started already, so WebCrypto works on several messages at a time (the parts of a large
     * document); the socket gets them in call order.
     */
    private sendInOrder(sealing: Promise<E>): Promise<void> {
        this.queued++;
        // Awaited in turn below; until then a failure is not unhandled.
        sealing.catch(noop);
        const sent = this.chain.then(async () => {
            try {
                const envelope = await sealing;
                this.beforeEmit();
                // Wrapped so the chain continues as soon as the envelope is emitted, not when it is acknowledged.
                return { acknowledged: this.emit(envelope) };
            } finally {
                this.queued--;
            }
        });
        this.chain = sent.catch(noop);
        return sent.then(result => result.acknowledged);
    }
}
