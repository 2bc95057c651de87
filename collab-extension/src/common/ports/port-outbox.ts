/**
 * The paced send queue of one side's tunnel traffic. Messages leave in order per tunnel, within a message and a
 * byte budget per second (token buckets), so a busy tunnel never pushes the session over the coordination
 * server's per-socket rate limits. While messages wait, consecutive data of a tunnel is merged (up to a chunk)
 * and acknowledgements add up, so a backlog costs fewer messages. The queue is bounded by the tunnels' flow
 * control windows: a tunnel's socket is paused once a window of its data is unacknowledged.
 */
import { CollaborationError, CollaborationSession } from '@theia-collab/protocol';
import { PortLimits, PortMessages } from './port-messages';

export interface PortOutboxOptions {
    messagesPerSecond?: number;
    bytesPerSecond?: number;
    /** Called for a message that could not be sent, unless the session is over. */
    onError?(error: CollaborationError): void;
}

type Entry =
    | { kind: 'data'; target: string; tunnel: string; chunks: Uint8Array[]; size: number }
    | { kind: 'ack'; target: string; tunnel: string; bytes: number }
    | { kind: 'end' | 'close'; target: string; tunnel: string; reason?: string }
    | { kind: 'task'; run(): void };

export class PortOutbox {
    protected readonly queue: Entry[] = [];
    /** Per `target/tunnel`: the queued data entry more data may be merged into. */
    protected readonly openData = new Map<string, Entry & { kind: 'data' }>();
    protected readonly openAcks = new Map<string, Entry & { kind: 'ack' }>();
    protected readonly messageRate: number;
    protected readonly byteRate: number;
    protected messageTokens: number;
    protected byteTokens: number;
    protected refilledAt = Date.now();
    protected timer: ReturnType<typeof setTimeout> | undefined;
    protected pumping = false;
    protected disposed = false;

    constructor(protected readonly session: CollaborationSession, protected readonly options: PortOutboxOptions = {}) {
        this.messageRate = options.messagesPerSecond ?? PortLimits.messagesPerSecond;
        this.byteRate = options.bytesPerSecond ?? PortLimits.bytesPerSecond;
        // Bursts of up to a quarter second's budget.
        this.messageTokens = this.messageBurst;
        this.byteTokens = this.byteBurst;
    }

    protected get messageBurst(): number {
        return Math.max(1, this.messageRate / 4);
    }

    protected get byteBurst(): number {
        return Math.max(PortLimits.chunkBytes, this.byteRate / 4);
    }

    /** Queued messages, for tests and diagnostics. */
    get size(): number {
        return this.queue.length;
    }

    data(target: string, tunnel: string, data: Uint8Array): void {
        const key = `${target}/${tunnel}`;
        const open = this.openData.get(key);
        if (open && open.size + data.byteLength <= PortLimits.chunkBytes) {
            open.chunks.push(data);
            open.size += data.byteLength;
            return;
        }
        const entry = { kind: 'data' as const, target, tunnel, chunks: [data], size: data.byteLength };
        this.openData.set(key, entry);
        this.push(entry);
    }

    ack(target: string, tunnel: string, bytes: number): void {
        const key = `${target}/${tunnel}`;
        const open = this.openAcks.get(key);
        if (open && open.bytes + bytes <= PortLimits.maxUnflushedBytes) {
            open.bytes += bytes;
            return;
        }
        const entry = { kind: 'ack' as const, target, tunnel, bytes };
        this.openAcks.set(key, entry);
        this.push(entry);
    }

    end(target: string, tunnel: string): void {
        this.openData.delete(`${target}/${tunnel}`);
        this.push({ kind: 'end', target, tunnel });
    }

    close(target: string, tunnel: string, reason?: string): void {
        const key = `${target}/${tunnel}`;
        this.openData.delete(key);
        this.openAcks.delete(key);
        this.push({ kind: 'close', target, tunnel, ...(reason ? { reason: reason.slice(0, PortLimits.maxReasonLength) } : {}) });
    }

    /** Runs `task` when the budget allows one more message (for requests that open tunnels). */
    schedule(task: () => void): void {
        this.push({ kind: 'task', run: task });
    }

    /** Drops what is queued for a tunnel that is gone (its `close`, if queued, still goes). */
    forget(target: string, tunnel: string): void {
        const key = `${target}/${tunnel}`;
        const data = this.openData.get(key);
        const ack = this.openAcks.get(key);
        this.openData.delete(key);
        this.openAcks.delete(key);
        for (let i = this.queue.length - 1; i >= 0; i--) {
            const entry = this.queue[i];
            if (entry === data || entry === ack) {
                this.queue.splice(i, 1);
            }
        }
    }

    protected push(entry: Entry): void {
        if (this.disposed || this.session.closed) {
            return;
        }
        this.queue.push(entry);
        this.pump();
    }

    protected refill(): void {
        const now = Date.now();
        const elapsed = (now - this.refilledAt) / 1000;
        this.refilledAt = now;
        this.messageTokens = Math.min(this.messageBurst, this.messageTokens + elapsed * this.messageRate);
        this.byteTokens = Math.min(this.byteBurst, this.byteTokens + elapsed * this.byteRate);
    }

    protected pump(): void {
        if (this.timer || this.pumping || this.disposed) {
            return;
        }
        this.pumping = true;
        try {
            this.drain();
        } finally {
            this.pumping = false;
        }
    }

    protected drain(): void {
        this.refill();
        while (this.queue.length > 0) {
            if (this.session.closed) {
                this.dispose();
                return;
            }
            const entry = this.queue[0];
            const bytes = entry.kind === 'data' ? entry.size : 0;
            if (this.messageTokens < 1 || this.byteTokens < bytes) {
                const wait = Math.max((1 - this.messageTokens) / this.messageRate, (bytes - this.byteTokens) / this.byteRate);
                this.timer = setTimeout(() => {
                    this.timer = undefined;
                    this.pump();
                }, Math.max(1, Math.ceil(wait * 1000)));
                return;
            }
            this.queue.shift();
            this.messageTokens -= 1;
            this.byteTokens -= bytes;
            this.send(entry);
        }
    }

    protected send(entry: Entry): void {
        if (entry.kind === 'task') {
            try {
                entry.run();
            } catch (error) {
                this.options.onError?.(CollaborationError.from(error));
            }
            return;
        }
        const key = `${entry.target}/${entry.tunnel}`;
        let sent: Promise<void>;
        switch (entry.kind) {
            case 'data': {
                if (this.openData.get(key) === entry) {
                    this.openData.delete(key);
                }
                sent = this.session.sendNotification(PortMessages.Data, { tunnel: entry.tunnel, data: concat(entry.chunks, entry.size) }, entry.target);
                break;
            }
            case 'ack': {
                if (this.openAcks.get(key) === entry) {
                    this.openAcks.delete(key);
                }
                sent = this.session.sendNotification(PortMessages.Ack, { tunnel: entry.tunnel, bytes: entry.bytes }, entry.target);
                break;
            }
            case 'end':
                sent = this.session.sendNotification(PortMessages.End, { tunnel: entry.tunnel }, entry.target);
                break;
            case 'close':
                sent = this.session.sendNotification(PortMessages.Close, { tunnel: entry.tunnel, ...(entry.reason ? { reason: entry.reason } : {}) }, entry.target);
                break;
        }
        sent.catch(error => {
            // A peer that left, or the session ending, is not worth reporting.
            const converted = CollaborationError.from(error);
            if (!this.session.closed && converted.code !== 'not-found') {
                this.options.onError?.(converted);
            }
        });
    }

    dispose(): void {
        this.disposed = true;
        clearTimeout(this.timer);
        this.timer = undefined;
        this.queue.length = 0;
        this.openData.clear();
        this.openAcks.clear();
    }
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
    if (chunks.length === 1) {
        return chunks[0];
    }
    const result = new Uint8Array(size);
    let offset = 0;
    for (const chunk of chunks) {
        result.set(chunk, offset);
        offset += chunk.byteLength;
    }
    return result;
}
