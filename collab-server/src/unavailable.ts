/**
 * Tells failures of the shared store (Redis down, restarting, loading) from other failures, so that
 * clients get a clear, retryable `unavailable` instead of `internal`.
 */
import { CollaborationError } from '@theia-collab/protocol/lib/errors';

export const STORE_UNAVAILABLE_MESSAGE = 'The collaboration server cannot reach its shared store right now: try again in a moment.';

const ERROR_CLASSES = new Set([
    'ClientOfflineError', 'ClientClosedError', 'ConnectionTimeoutError', 'SocketClosedUnexpectedlyError', 'ReconnectStrategyError',
    'DisconnectsClientError', 'StoreUnavailableError'
]);
const ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);
const MESSAGES = /^(The client is (offline|closed)|Socket closed unexpectedly|Connection timeout|Disconnects client)|^(LOADING|MASTERDOWN|READONLY|MISCONF|BUSY) |Redis did not answer/;

export function isStoreUnavailable(error: unknown): boolean {
    if (!(error instanceof Error)) {
        return false;
    }
    if (ERROR_CLASSES.has(error.constructor?.name) || ERROR_CLASSES.has(error.name)) {
        return true;
    }
    const code = (error as NodeJS.ErrnoException).code;
    return (typeof code === 'string' && ERROR_CODES.has(code)) || MESSAGES.test(error.message);
}

/** A store failure as the client sees it. */
export function storeUnavailable(): CollaborationError {
    return new CollaborationError('unavailable', STORE_UNAVAILABLE_MESSAGE);
}
