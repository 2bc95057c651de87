/** Errors are values with a stable code (for programs) and a human message (for notifications). */
export type CollaborationErrorCode =
    | 'bad-request'
    | 'too-large'
    | 'unauthorized'
    | 'forbidden'
    | 'permission-denied'
    | 'not-found'
    | 'not-member'
    | 'room-closed'
    | 'denied'
    | 'timeout'
    | 'rate-limited'
    | 'unknown-method'
    | 'invalid-params'
    | 'decrypt-failed'
    | 'fingerprint-mismatch'
    | 'disconnected'
    | 'internal'
    | (string & {});

export interface CollaborationErrorData {
    code: CollaborationErrorCode;
    message: string;
}

export class CollaborationError extends Error implements CollaborationErrorData {
    constructor(readonly code: CollaborationErrorCode, message: string) {
        super(message);
        this.name = 'CollaborationError';
    }

    toJSON(): CollaborationErrorData {
        return { code: this.code, message: this.message };
    }

    static from(error: unknown, fallbackCode: CollaborationErrorCode = 'internal'): CollaborationError {
        if (error instanceof CollaborationError) {
            return error;
        }
        if (isErrorData(error)) {
            return new CollaborationError(error.code, error.message);
        }
        return new CollaborationError(fallbackCode, error instanceof Error ? error.message : String(error));
    }
}

export function isErrorData(value: unknown): value is CollaborationErrorData {
    return typeof value === 'object' && value !== null
        && typeof (value as CollaborationErrorData).code === 'string'
        && typeof (value as CollaborationErrorData).message === 'string';
}
