/**
 * Sends a feature must not lose when this peer's own connection drops. A send that fails with 'disconnected'
 * (the connection dropped before the server took it, or before it said so) is queued with everything sent after
 * it, and all of them go again, in order, once this peer is connected again. A send may so arrive twice:
 * receivers must recognise what they already have (chat messages by id, terminal output by offset).
 */
import { CollaborationError, CollaborationSession, Disposable } from '@theia-collab/protocol';

/** At most this many sends wait for the connection; beyond it the oldest are dropped (receivers re-synchronise). */
const MAX_WAITING = 5000;

export class ResendQueue implements Disposable {
    private readonly waiting: (() => Promise<void>)[] = [];
    private flushing = false;
    private readonly listener: Disposable;

    constructor(private readonly session: CollaborationSession, private readonly what: string, private readonly logger: Pick<Console, 'warn'> = console) {
        this.listener = session.onDidChangeConnection(state => {
            if (state === 'connected') {
                this.flush();
            }
        });
    }

    send(action: () => Promise<void>): void {
        if (this.session.closed) {
            return;
        }
        if (this.waiting.length > 0 || this.flushing) {
            this.wait(action);
            return;
        }
        action().catch(error => this.failed(action, error));
    }

    private failed(action: () => Promise<void>, error: unknown): void {
        if (this.session.closed) {
            return;
        }
        if (CollaborationError.from(error).code === 'disconnected') {
            this.wait(action);
            if (this.session.connectionState === 'connected') {
                this.flush();
            }
        } else {
            this.logger.warn(`collaboration: ${this.what} failed`, error);
        }
    }

    private wait(action: () => Promise<void>): void {
        if (this.waiting.length >= MAX_WAITING) {
            this.waiting.shift();
        }
        this.waiting.push(action);
    }

    private async flush(): Promise<void> {
        if (this.flushing) {
            return;
        }
        this.flushing = true;
        try {
            while (this.waiting.length > 0 && !this.session.closed && this.session.connectionState === 'connected') {
                const action = this.waiting[0];
                try {
                    await action();
                    this.waiting.shift();
                } catch (error) {
                    if (CollaborationError.from(error).code !== 'disconnected') {
                        this.waiting.shift();
                        this.logger.warn(`collaboration: ${this.what} failed`, error);
                    } else {
                        return; // dropped again: the next 'connected' goes on
                    }
                }
            }
        } finally {
            this.flushing = false;
        }
    }

    dispose(): void {
        this.listener.dispose();
        this.waiting.length = 0;
    }
}
