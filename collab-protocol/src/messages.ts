/**
 * Message definitions are values: a method name plus, optionally, a validator for what arrives from
 * other peers. Extensions declare them once and use them on both sides, so payload types flow from
 * the definition into `sendRequest`, `onRequest`, etc.
 */

/** Anything with a zod-like `parse`: throws on invalid input, returns the typed value otherwise. */
export interface Validator<T> {
    parse(value: unknown): T;
}

export type MessageKind = 'broadcast' | 'request' | 'notification';

interface MessageDefinitionBase<K extends MessageKind, P> {
    readonly kind: K;
    readonly method: string;
    /** Checked against every incoming payload before a handler sees it. */
    readonly params?: Validator<P>;
    /**
     * The permission a sender needs. Enforced by the receiving side, before the handler runs, against the
     * sender's permission as the host gave it: a read-only sender's message is refused with `forbidden`
     * (requests get that error back; broadcasts and notifications are dropped and reported).
     */
    readonly requires?: 'readwrite';
}

export interface DefinitionOptions<P> {
    params?: Validator<P>;
    /** See `requires` on the definition. */
    requires?: 'readwrite';
}

export interface Broadcast<P> extends MessageDefinitionBase<'broadcast', P> {
    /** Phantom field carrying the payload type; never set. */
    readonly __params?: P;
}

export interface Notification<P> extends MessageDefinitionBase<'notification', P> {
    readonly __params?: P;
}

export interface Request<P, R> extends MessageDefinitionBase<'request', P> {
    readonly __params?: P;
    readonly __result?: R;
    /** Checked against the response before `sendRequest` resolves. */
    readonly result?: Validator<R>;
}

export type MessageDefinition = Broadcast<any> | Notification<any> | Request<any, any>;

export const METHOD_PATTERN = /^[A-Za-z0-9_.\-]+(\/[A-Za-z0-9_.\-]+)*$/;
export const MAX_METHOD_LENGTH = 128;

function checkMethod(method: string): string {
    if (method.length > MAX_METHOD_LENGTH || !METHOD_PATTERN.test(method)) {
        throw new Error(`Invalid collaboration method name '${method}': use 'feature/name' with letters, digits, '.', '_' or '-'.`);
    }
    return method;
}

export namespace Broadcast {
    /**
     * @example
     * const CursorMoved = Broadcast.define<{ line: number }>('poll/cursor', { params: z.object({ line: z.number().int() }) });
     */
    export function define<P>(method: string, options: DefinitionOptions<P> = {}): Broadcast<P> {
        return { kind: 'broadcast', method: checkMethod(method), params: options.params, requires: options.requires };
    }
}

export namespace Notification {
    /**
     * @example
     * const Typing = Notification.define<{ typing: boolean }>('chat/typing');
     */
    export function define<P>(method: string, options: DefinitionOptions<P> = {}): Notification<P> {
        return { kind: 'notification', method: checkMethod(method), params: options.params, requires: options.requires };
    }
}

export namespace Request {
    /**
     * @example
     * const CastVote = Request.define<{ option: string }, Tally>('poll/cast', { requires: 'readwrite', params: VoteSchema });
     */
    export function define<P, R>(method: string, options: DefinitionOptions<P> & { result?: Validator<R> } = {}): Request<P, R> {
        return { kind: 'request', method: checkMethod(method), params: options.params, result: options.result, requires: options.requires };
    }
}
