import { CollaborationError } from '@theia-collab/protocol/lib/errors';
import { Request } from '@theia-collab/protocol/lib/messages';
import { CollaborationSession } from '@theia-collab/protocol/lib/session';
import { LanguageLimits, LanguageMessages } from './language-protocol';

export interface LanguageGuestOptions {
    /** Milliseconds before a request gives up; `LanguageLimits.requestTimeoutMs` by default. */
    timeout?: number;
    logger?: { warn(...args: unknown[]): void };
}

/**
 * Guest: asks the host's language services. A request that times out, fails or is cancelled yields
 * `undefined` (a missing hover is no reason for a notification); cancelling also tells the host to stop.
 */
export class LanguageGuestClient {

    protected nextId = 1;
    protected readonly prefix = Math.random().toString(36).slice(2, 10);

    constructor(protected readonly session: CollaborationSession, protected readonly options: LanguageGuestOptions = {}) { }

    async request<P, R>(definition: Request<P, R>, params: P, signal?: AbortSignal): Promise<R | undefined> {
        if (this.session.closed || signal?.aborted) {
            return undefined;
        }
        const requestId = `${this.prefix}-${this.nextId++}`;
        let onAbort: (() => void) | undefined;
        const aborted = new Promise<undefined>(resolve => {
            onAbort = () => {
                resolve(undefined);
                this.session.sendNotification(LanguageMessages.Cancel, { requestId }, this.session.host.id).catch(() => undefined);
            };
            signal?.addEventListener('abort', onAbort, { once: true });
        });
        const answer = this.session.sendRequest(definition, { ...params, requestId } as P, {
            timeout: this.options.timeout ?? LanguageLimits.requestTimeoutMs
        }).catch(error => {
            const problem = CollaborationError.from(error);
            if (problem.code === 'timeout') {
                // The answer is no longer wanted: the host can stop working on it.
                this.session.sendNotification(LanguageMessages.Cancel, { requestId }, this.session.host.id).catch(() => undefined);
            }
            if (problem.code !== 'cancelled' && !signal?.aborted) {
                this.options.logger?.warn(`collaboration: '${definition.method}' failed: ${problem.code}: ${problem.message}`);
            }
            return undefined;
        });
        try {
            return await Promise.race([answer, aborted]);
        } finally {
            if (onAbort) {
                signal?.removeEventListener('abort', onAbort);
            }
        }
    }
}
