/**
 * The typed message layer of a session: handler registries, dispatch of opened envelopes to them
 * (with params validation and error replies), and requests waiting for their responses.
 */
import { z } from 'zod';
import { MessageBody, OpenedEnvelope, SealedBody } from './envelope-codec';
import { CollaborationError, CollaborationErrorData } from './errors';
import { Disposable } from './events';
import { Broadcast, Notification, Request, Validator } from './messages';
import { BroadcastHandler, NotificationHandler, Peer, RequestHandler } from './session';

/** Messages held while delivery has not started, at most (the oldest are dropped beyond it, reported). */
const MAX_HELD_DELIVERIES = 10_000;

/** What a peer handles: the answer to `session/methods`. */
export interface HandledMethods { requests: string[]; notifications: string[]; broadcasts: string[] }
import { EnvelopeKind } from './wire';

/** What the message layer needs from its session. */
export interface MessageTransport {
    send(kind: EnvelopeKind, body: SealedBody, target?: string, id?: number): Promise<void>;
    reportMessageError(error: unknown, sender?: string): void;
    readonly logger: Pick<Console, 'warn' | 'error' | 'info'>;
}

interface PendingRequest {
    target: string;
    dispose?(): void;
    result?: Validator<unknown>;
    resolve(value: unknown): void;
    reject(error: CollaborationError): void;
    timer: ReturnType<typeof setTimeout>;
}

interface Registered<D, H> { definition: D; handler: H }
type MessageHandlers = Map<string, Set<Registered<{ params?: Validator<unknown>; requires?: 'readwrite' }, (params: any, sender: Peer) => void>>>;

export function errorData(error: unknown): CollaborationErrorData {
    const converted = CollaborationError.from(error, 'internal');
    return { code: converted.code, message: converted.message.slice(0, 4000) };
}

export function validationMessage(error: unknown): string {
    const text = error instanceof z.ZodError
        ? error.issues.map(issue => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ')
        : error instanceof Error ? error.message : String(error);
    return text.slice(0, 1000);
}

/** A `forbidden` error when `definition` requires more than the sender's permission. */
function permissionRefusal(definition: { requires?: 'readwrite' }, method: string, sender: Peer): CollaborationError | undefined {
    return definition.requires === 'readwrite' && sender.permission !== 'readwrite'
        ? new CollaborationError('forbidden', `'${method}' needs read-write access; ${sender.name} is read-only.`)
        : undefined;
}

export class SessionMessages {
    private nextRequestId = 1;
    private readonly pending = new Map<number, PendingRequest>();
    private readonly broadcastHandlers: MessageHandlers = new Map();
    private readonly notificationHandlers: MessageHandlers = new Map();
    private readonly requestHandlers = new Map<string, Registered<Request<any, any>, RequestHandler<any, any>>>();
    /** Requests being handled here, by `sender/id`: aborted when their sender cancels them or leaves. */
    private readonly handling = new Map<string, AbortController>();
    /** Set while delivery to handlers is held (see `CollaborationSession.startDelivery`). */
    private heldDeliveries?: (() => void)[];

    constructor(private readonly transport: MessageTransport, holdDelivery = false) {
        if (holdDelivery) {
            this.heldDeliveries = [];
        }
    }

    /** Delivers what was held, in arrival order, and everything from now on at once. */
    startDelivery(): void {
        const held = this.heldDeliveries;
        this.heldDeliveries = undefined;
        held?.forEach(deliver => deliver());
    }

    /** The methods this peer has handlers for. */
    handledMethods(exclude: (method: string) => boolean): HandledMethods {
        const names = (map: Map<string, unknown>) => [...map.keys()].filter(method => !exclude(method));
        return { requests: names(this.requestHandlers), notifications: names(this.notificationHandlers), broadcasts: names(this.broadcastHandlers) };
    }

    /** The requesting peer cancelled request `id`: its handler's signal aborts. */
    cancelIncoming(sender: string, id: number): void {
        this.handling.get(`${sender}/${id}`)?.abort(new CollaborationError('cancelled', 'The request was cancelled.'));
    }

    /** A peer is gone: the handlers of its requests see their signal abort. */
    abortIncomingFrom(sender: string): void {
        for (const [key, controller] of [...this.handling]) {
            if (key.startsWith(`${sender}/`)) {
                controller.abort(new CollaborationError('disconnected', 'The requesting peer left.'));
            }
        }
    }

    onBroadcast<P>(definition: Broadcast<P>, handler: BroadcastHandler<P>): Disposable {
        return this.addHandler(this.broadcastHandlers, definition, handler);
    }

    onNotification<P>(definition: Notification<P>, handler: NotificationHandler<P>): Disposable {
        return this.addHandler(this.notificationHandlers, definition, handler);
    }

    private addHandler(map: MessageHandlers, definition: Broadcast<any> | Notification<any>, handler: (params: any, sender: Peer) => void): Disposable {
        const entry = { definition, handler };
        let set = map.get(definition.method);
        if (!set) {
            set = new Set();
            map.set(definition.method, set);
        }
        set.add(entry);
        return Disposable.create(() => {
            set!.delete(entry);
            if (set!.size === 0 && map.get(definition.method) === set) {
                map.delete(definition.method);
            }
        });
    }

    onRequest<P, R>(definition: Request<P, R>, handler: RequestHandler<P, R>): Disposable {
        if (this.requestHandlers.has(definition.method)) {
            throw new CollaborationError('bad-request', `A handler for '${definition.method}' is already registered.`);
        }
        const entry = { definition, handler };
        this.requestHandlers.set(definition.method, entry);
        return Disposable.create(() => {
            if (this.requestHandlers.get(definition.method) === entry) {
                this.requestHandlers.delete(definition.method);
            }
        });
    }

    /**
     * Sends a request to `target` and waits for its response, at most `timeout` ms. Aborting `signal` rejects it
     * with `cancelled` and calls `onCancel` with its id (to tell the target).
     */
    request<P, R>(definition: Request<P, R>, params: P, target: string, timeout: number, signal?: AbortSignal, onCancel?: (id: number) => void): Promise<R> {
        if (signal?.aborted) {
            return Promise.reject(new CollaborationError('cancelled', `Request '${definition.method}' was cancelled.`));
        }
        const id = this.nextRequestId++;
        const onAbort = () => {
            if (this.pending.has(id)) {
                this.settle(id, undefined, new CollaborationError('cancelled', `Request '${definition.method}' was cancelled.`));
                onCancel?.(id);
            }
        };
        const result = new Promise<R>((resolve, reject) => {
            const timer = setTimeout(() => this.settle(id, undefined,
                new CollaborationError('timeout', `Request '${definition.method}' got no answer within ${timeout} ms.`)), timeout);
            this.pending.set(id, {
                target, result: definition.result, resolve: resolve as (value: unknown) => void, reject, timer,
                dispose: () => signal?.removeEventListener('abort', onAbort)
            });
        });
        signal?.addEventListener('abort', onAbort, { once: true });
        this.transport.send('request', { m: definition.method, p: params }, target, id)
            .catch(error => this.settle(id, undefined, CollaborationError.from(error)));
        return result;
    }

    /** Hands an opened envelope from `sender` to the handlers (in the caller's order; held until delivery starts). */
    dispatch(opened: OpenedEnvelope, sender: Peer): void {
        if (this.heldDeliveries && opened.header.kind !== 'response') {
            if (this.heldDeliveries.length >= MAX_HELD_DELIVERIES) {
                this.heldDeliveries.shift();
                this.transport.reportMessageError(new CollaborationError('rate-limited', 'Too many messages arrived before the features started; the oldest was dropped.'), sender.id);
            }
            this.heldDeliveries.push(() => this.deliverNow(opened, sender));
            return;
        }
        this.deliverNow(opened, sender);
    }

    private deliverNow({ header, body }: OpenedEnvelope, sender: Peer): void {
        switch (header.kind) {
            case 'broadcast': return this.deliver(this.broadcastHandlers, body as MessageBody, sender);
            case 'notification': return this.deliver(this.notificationHandlers, body as MessageBody, sender);
            case 'request': return this.answer(header.id!, body as MessageBody, sender);
            case 'response': return this.receiveResponse(header.id!, body, sender);
        }
    }

    /** A response generated by the server (timeout, peer gone) for one of our requests. */
    serverError(id: number, error: CollaborationErrorData): void {
        this.settle(id, undefined, new CollaborationError(error.code, error.message));
    }

    /** Rejects the pending requests to one peer (it left, or its connection dropped: no answer will come). */
    rejectTarget(target: string, error: CollaborationError): void {
        for (const [id, pending] of [...this.pending]) {
            if (pending.target === target) {
                this.settle(id, undefined, error);
            }
        }
    }

    /** Rejects every pending request. */
    rejectAll(error: CollaborationError): void {
        for (const id of [...this.pending.keys()]) {
            this.settle(id, undefined, error);
        }
    }

    private deliver(handlers: MessageHandlers, body: MessageBody, sender: Peer): void {
        for (const { definition, handler } of [...handlers.get(body.m) ?? []]) {
            const refusal = permissionRefusal(definition, body.m, sender);
            if (refusal) {
                this.transport.reportMessageError(refusal, sender.id);
                continue;
            }
            let params: unknown;
            try {
                params = definition.params ? definition.params.parse(body.p) : body.p;
            } catch (error) {
                this.transport.reportMessageError(new CollaborationError('invalid-params', `Invalid params for '${body.m}': ${validationMessage(error)}`), sender.id);
                continue;
            }
            try {
                handler(params, sender);
            } catch (error) {
                this.transport.logger.error(`collaboration: handler for '${body.m}' failed`, error);
            }
        }
    }

    private answer(id: number, body: MessageBody, sender: Peer): void {
        const reply = (response: SealedBody) => this.transport.send('response', response, sender.id, id)
            .catch(error => this.transport.logger.warn(`collaboration: could not answer '${body.m}': ${CollaborationError.from(error).message}`));
        const registered = this.requestHandlers.get(body.m);
        if (!registered) {
            reply({ e: { code: 'unknown-method', message: `No handler for '${body.m}'.` } });
            return;
        }
        const refusal = permissionRefusal(registered.definition, body.m, sender);
        if (refusal) {
            reply({ e: errorData(refusal) });
            return;
        }
        let params: unknown;
        try {
            params = registered.definition.params ? registered.definition.params.parse(body.p) : body.p;
        } catch (error) {
            reply({ e: { code: 'invalid-params', message: `Invalid params for '${body.m}': ${validationMessage(error)}` } });
            return;
        }
        const key = `${sender.id}/${id}`;
        const controller = new AbortController();
        this.handling.set(key, controller);
        const done = () => {
            if (this.handling.get(key) === controller) {
                this.handling.delete(key);
            }
        };
        let result: unknown;
        try {
            result = registered.handler(params, sender, { signal: controller.signal });
        } catch (error) {
            done();
            reply({ e: errorData(error) });
            return;
        }
        Promise.resolve(result).then(value => {
            done();
            reply({ r: value });
        }, error => {
            done();
            reply({ e: errorData(error) });
        });
    }

    private receiveResponse(id: number, body: SealedBody, sender: Peer): void {
        const pending = this.pending.get(id);
        if (!pending) {
            this.transport.logger.info(`collaboration: ignored a late or unknown response ${id} from '${sender.id}'`);
            return;
        }
        if (pending.target !== sender.id) {
            this.transport.reportMessageError(new CollaborationError('bad-request', `Response ${id} came from '${sender.id}', not from the asked peer.`), sender.id);
            return;
        }
        if ('e' in body) {
            this.settle(id, undefined, new CollaborationError(body.e.code, body.e.message));
            return;
        }
        const result = (body as { r: unknown }).r;
        if (!pending.result) {
            this.settle(id, result);
            return;
        }
        try {
            this.settle(id, pending.result.parse(result));
        } catch (error) {
            this.settle(id, undefined, new CollaborationError('invalid-params', `Invalid result: ${validationMessage(error)}`));
        }
    }

    private settle(id: number, value: unknown, error?: CollaborationError): void {
        const pending = this.pending.get(id);
        if (!pending) {
            return;
        }
        this.pending.delete(id);
        clearTimeout(pending.timer);
        pending.dispose?.();
        if (error) {
            pending.reject(error);
        } else {
            pending.resolve(value);
        }
    }
}
