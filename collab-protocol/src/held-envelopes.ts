/**
 * Envelopes a session cannot open yet, kept in arrival order for a short while: from a sender the host's
 * roster does not name yet (a guest admitted a moment ago, its roster entry still on its way), or sealed with
 * a room key the host is still handing to this peer. Once the roster or the key arrives they are tried again,
 * in the order they came; past `HELD_MS`, or beyond `MAX_HELD` of them, they are refused, so a sender the host
 * never vouches for cannot make a peer keep its traffic.
 */

/** How long an envelope is held for the roster or key that would open it. */
export const HELD_MS = 10_000;
/** At most this many envelopes are held at a time. */
export const MAX_HELD = 256;

export interface HeldEnvelope {
    payload: unknown;
    /** The sender the envelope names ('' when it names none). */
    sender: string;
    /** When it first arrived (kept when it is held again after a retry). */
    at: number;
}

export class HeldEnvelopes {
    private items: HeldEnvelope[] = [];

    constructor(private readonly now: () => number = Date.now) { }

    /**
     * Holds an envelope that first arrived at `since` (now, unless it is being held again). Returns false, and
     * holds nothing, when it waited too long already or too many are held: the caller refuses it.
     */
    hold(payload: unknown, sender: string, since = this.now()): boolean {
        const now = this.now();
        this.items = this.items.filter(item => now - item.at < HELD_MS);
        if (this.items.length >= MAX_HELD || now - since >= HELD_MS) {
            return false;
        }
        this.items.push({ payload, sender, at: since });
        return true;
    }

    /** Takes every envelope still within its time, in arrival order, to be tried again (the rest are dropped). */
    takeAll(): HeldEnvelope[] {
        const now = this.now();
        const held = this.items.filter(item => now - item.at < HELD_MS);
        this.items = [];
        return held;
    }

    /** Forgets what a peer sent (it left or was removed). */
    dropFrom(sender: string): void {
        this.items = this.items.filter(item => item.sender !== sender);
    }

    get size(): number {
        return this.items.length;
    }

    clear(): void {
        this.items = [];
    }
}
