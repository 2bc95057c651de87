/**
 * The single entry point for inbound socket events: rate limiting, event name allowlist, size
 * checks, zod validation, dispatch, acknowledgement, and containment of any handler failure.
 * Events of one socket are handled one after another, in order (handlers await the shared store;
 * without the queue a later envelope could overtake an earlier one), and the socket's disconnect
 * handling runs after its last event.
 *
 * What a client can make the server log (refusals, floods) goes through a LogLimiter: a few lines per socket
 * and per address in each interval, then a summary line.
 */
import { performance } from 'perf_hooks';
import type { Logger } from 'pino';
import type { ZodTypeAny } from 'zod';
import { CollaborationError, CollaborationErrorData } from '@theia-collab/protocol/lib/errors';
import {
    Admit, ContentDelete, ContentGet, ContentPut, CreateRoom, Deny, Envelope, JoinRoom, LeaveRoom, Limits, Rekey, RemovePeer, Replay, SetPermission
} from '@theia-collab/protocol/lib/wire';
import type { ContentService } from './content-store';
import type { LimitedLevel, LogLimiter } from './log-limiter';
import type { ServerMetrics } from './metrics';
import type { KeyedRateLimiter } from './rate-limit';
import type { Relay } from './relay';
import type { HandlerResult, RoomService } from './room-service';
import type { CollabSocket } from './socket-state';
import { isStoreUnavailable, storeUnavailable } from './unavailable';

interface EventHandler {
    schema: ZodTypeAny;
    /** Counted against the per-address join limit. */
    joinLimited?: boolean;
    handle(socket: CollabSocket, payload: any, receivedAt: number): Promise<HandlerResult<object> | void>;
}

export interface ConnectionOptions {
    maxPayloadBytes: number;
}

/**
 * The largest event the server reads (and refuses with `too-large` beyond): a payload at the limit, or a
 * `room:rekey` with a wrapped key for every peer, plus room for the rest of the event.
 */
export function maxEventBytes(maxPayloadBytes: number): number {
    return Math.max(maxPayloadBytes, Limits.maxPeersPerRoom * Limits.maxKeyMaterialBytes) + 64 * 1024;
}

/**
 * socket.io's `maxHttpBufferSize`: a frame (a binary attachment, or a packet) above it drops the connection
 * without an answer. Well above the largest event the server reads, so that anything between gets a clear
 * `too-large`; still bounded.
 */
export function engineFrameLimit(maxPayloadBytes: number): number {
    return 2 * maxEventBytes(maxPayloadBytes);
}

type Ack = (response: unknown) => void;

export class ConnectionHandler {
    protected readonly handlers: Record<string, EventHandler>;
    /** Per socket: the tail of its queue of events. */
    protected readonly queues = new WeakMap<CollabSocket, Promise<void>>();
    protected inFlight = 0;
    protected idleWaiters: (() => void)[] = [];
    /** Set when the server stops: events are refused with 'unavailable'. */
    draining = false;

    constructor(
        protected readonly rooms: RoomService,
        protected readonly relay: Relay,
        protected readonly content: ContentService,
        protected readonly joinLimiter: KeyedRateLimiter,
        protected readonly options: ConnectionOptions,
        protected readonly metrics: ServerMetrics,
        protected readonly logger: Logger,
        protected readonly logLimiter?: LogLimiter
    ) {
        this.handlers = {
            'room:create': { schema: CreateRoom, joinLimited: true, handle: (socket, payload) => rooms.create(socket, payload) },
            'room:join': { schema: JoinRoom, joinLimited: true, handle: (socket, payload) => rooms.join(socket, payload) },
            'room:admit': { schema: Admit, handle: (socket, payload) => rooms.admit(socket, payload) },
            'room:deny': { schema: Deny, handle: (socket, payload) => rooms.deny(socket, payload) },
            'room:set-permission': { schema: SetPermission, handle: (socket, payload) => rooms.setPermission(socket, payload) },
            'room:remove': { schema: RemovePeer, handle: (socket, payload) => rooms.remove(socket, payload) },
            'room:rekey': { schema: Rekey, handle: (socket, payload) => rooms.rekey(socket, payload) },
            'room:leave': { schema: LeaveRoom, handle: (socket, payload) => rooms.leave(socket, payload) },
            'room:replay': { schema: Replay, handle: (socket, payload) => rooms.replay(socket, payload) },
            'relay': { schema: Envelope, handle: (socket, payload, receivedAt) => relay.relay(socket, payload, receivedAt) },
            'content:put': { schema: ContentPut, handle: (socket, payload) => content.put(socket, payload) },
            'content:get': { schema: ContentGet, handle: (socket, payload) => content.get(socket, payload) },
            'content:delete': { schema: ContentDelete, handle: (socket, payload) => content.delete(socket, payload) }
        };
    }

    /** `first` (e.g. resuming a membership) runs before the socket's first event. */
    attach(socket: CollabSocket, first?: () => Promise<void>): void {
        // A socket middleware that never calls next(): every inbound packet is handled here and
        // nothing reaches the socket's own event emitter (so no client event can trigger 'error').
        socket.use(packet => {
            const receivedAt = performance.now();
            if (socket.data.flooding) {
                return;
            }
            // Rate limits apply on arrival, so that a flood is refused at once rather than queued.
            const bytes = estimateBytes(packet.slice(1));
            const verdict = socket.data.limiter.check(bytes);
            if (verdict !== 'ok') {
                this.onPacket(socket, packet, receivedAt, verdict, bytes).catch(error => this.logger.error({ err: error, socket: socket.id }, 'event handling failed'));
                return;
            }
            this.enqueue(socket, 'event handling failed', () => this.onPacket(socket, packet, receivedAt, verdict, bytes));
        });
        socket.on('error', error => this.logger.warn({ socket: socket.id, err: error }, 'socket error'));
        socket.on('disconnect', reason => {
            this.logger.debug({ socket: socket.id, reason }, 'socket disconnected');
            this.enqueue(socket, 'disconnect handling failed', () => this.rooms.disconnected(socket, reason));
        });
        if (first) {
            this.enqueue(socket, 'connection setup failed', first);
        }
    }

    /** Resolves when no event is being handled (or after `timeoutMs`). */
    idle(timeoutMs: number): Promise<void> {
        if (this.inFlight === 0) {
            return Promise.resolve();
        }
        return new Promise(resolve => {
            const timer = setTimeout(done, timeoutMs);
            function done(): void {
                clearTimeout(timer);
                resolve();
            }
            this.idleWaiters.push(done);
        });
    }

    /** Event names as metric labels: known events only. */
    protected metricEvent(event: unknown): string {
        return typeof event === 'string' && Object.prototype.hasOwnProperty.call(this.handlers, event) ? event : 'unknown';
    }

    protected enqueue(socket: CollabSocket, failure: string, task: () => Promise<void>): void {
        this.inFlight++;
        const run = async () => {
            try {
                await task();
            } catch (error) {
                this.logger.error({ err: error, socket: socket.id }, failure);
            } finally {
                if (--this.inFlight === 0) {
                    this.idleWaiters.splice(0).forEach(wake => wake());
                }
            }
        };
        const tail = (this.queues.get(socket) ?? Promise.resolve()).then(run);
        this.queues.set(socket, tail);
    }

    /** A line a client caused: bounded per socket and per address. */
    protected logClient(socket: CollabSocket, level: LimitedLevel, fields: object, message: string): void {
        if (this.logLimiter) {
            this.logLimiter.log(level, [`socket:${socket.id}`, `address:${socket.data.address}`], fields, message);
        } else {
            this.logger[level](fields, message);
        }
    }

    protected async onPacket(socket: CollabSocket, packet: unknown[], receivedAt: number, verdict: 'ok' | 'limited' | 'disconnect', bytes = 0): Promise<void> {
        const args = [...packet];
        const event = args.shift();
        const ack: Ack | undefined = typeof args[args.length - 1] === 'function' ? args.pop() as Ack : undefined;
        const eventName = typeof event === 'string' ? event.slice(0, 64) : String(typeof event);
        let responded = false;
        const respond = (response: { ok: true } | { ok: false; error: CollaborationErrorData }) => {
            if (responded) {
                return;
            }
            responded = true;
            if (ack) {
                ack(response);
            } else if (!response.ok) {
                socket.emit('server:error', response.error);
            }
        };
        const refuse = (error: CollaborationErrorData, level: 'warn' | 'debug' = 'warn') => {
            this.metrics.reject(this.metricEvent(event), error.code);
            this.logClient(socket, level, { socket: socket.id, event: eventName, code: error.code, user: socket.data.user?.id }, 'event refused');
            respond({ ok: false, error: { code: error.code, message: error.message } });
        };
        try {
            if (verdict !== 'ok') {
                if (socket.data.flooding) {
                    return;
                }
                refuse({ code: 'rate-limited', message: 'Too many messages: slow down.' });
                if (verdict === 'disconnect') {
                    socket.data.flooding = true;
                    this.logClient(socket, 'warn', { socket: socket.id, address: socket.data.address }, 'disconnecting flooding socket');
                    socket.disconnect(true);
                }
                return;
            }
            const handler = typeof event === 'string' && Object.prototype.hasOwnProperty.call(this.handlers, event) ? this.handlers[event] : undefined;
            if (!handler) {
                return refuse({ code: 'bad-request', message: `Unknown event '${eventName}'.` });
            }
            if (this.draining) {
                return refuse({ code: 'unavailable', message: 'The server is restarting: reconnect and try again.' }, 'debug');
            }
            if (args.length !== 1) {
                return refuse({ code: 'bad-request', message: `Event '${eventName}' takes exactly one payload argument.` });
            }
            const tooLarge = oversized(eventName, args[0], this.options.maxPayloadBytes)
                ?? (bytes > maxEventBytes(this.options.maxPayloadBytes) ? `Event '${eventName}' is too large (at most ${maxEventBytes(this.options.maxPayloadBytes)} bytes).` : undefined);
            if (tooLarge) {
                return refuse({ code: 'too-large', message: tooLarge });
            }
            const parsed = handler.schema.safeParse(args[0]);
            if (!parsed.success) {
                const where = parsed.error.issues.slice(0, 3).map(issue => `${issue.path.join('.') || '(payload)'}: ${issue.message}`).join('; ');
                return refuse({ code: 'bad-request', message: `Malformed '${eventName}': ${where}` });
            }
            if (handler.joinLimited && !this.joinLimiter.take(socket.data.address)) {
                return refuse({ code: 'rate-limited', message: 'Too many attempts to create or join sessions; try again later.' });
            }
            const result = await handler.handle(socket, parsed.data, receivedAt);
            respond({ ok: true, ...(result ? result.ack : {}) });
            result?.after?.();
        } catch (error) {
            if (error instanceof CollaborationError) {
                refuse(error, 'debug');
            } else if (isStoreUnavailable(error)) {
                refuse(storeUnavailable().toJSON());
            } else {
                this.logger.error({ err: error, socket: socket.id, event: eventName }, 'handler failed');
                this.metrics.reject(this.metricEvent(event), 'internal');
                respond({ ok: false, error: { code: 'internal', message: 'Internal server error.' } });
            }
        }
    }
}

function binaryLength(value: unknown): number {
    if (value instanceof Uint8Array || value instanceof ArrayBuffer) {
        return value.byteLength;
    }
    return -1;
}

/** Explains why a payload's binary fields exceed their limits, before the (generic) schema check. */
function oversized(event: string, payload: unknown, maxPayloadBytes: number): string | undefined {
    if (typeof payload !== 'object' || payload === null) {
        return undefined;
    }
    const record = payload as Record<string, unknown>;
    if (event === 'relay' && binaryLength(record.data) > maxPayloadBytes) {
        return `Envelope data exceeds ${maxPayloadBytes} bytes; send it in chunks.`;
    }
    if (event === 'content:put' && binaryLength(record.data) > maxPayloadBytes) {
        return `A stored content part exceeds ${maxPayloadBytes} bytes; store it in more parts.`;
    }
    if (binaryLength(record.keyMaterial) > Limits.maxKeyMaterialBytes) {
        return `Key material exceeds ${Limits.maxKeyMaterialBytes} bytes.`;
    }
    if (Array.isArray(record.keys) && record.keys.some(key => binaryLength((key as Record<string, unknown> | null)?.keyMaterial) > Limits.maxKeyMaterialBytes)) {
        return `Key material exceeds ${Limits.maxKeyMaterialBytes} bytes.`;
    }
    return undefined;
}

/** Rough inbound size of an event for the byte rate limit: binary fields and strings, shallowly. */
function estimateBytes(args: unknown[]): number {
    let total = 64;
    const visit = (value: unknown, depth: number): void => {
        if (value instanceof Uint8Array || value instanceof ArrayBuffer) {
            total += value.byteLength;
        } else if (typeof value === 'string') {
            total += value.length;
        } else if (depth < 3 && typeof value === 'object' && value !== null) {
            const entries = Array.isArray(value) ? value : Object.values(value);
            for (const entry of entries.slice(0, 512)) {
                visit(entry, depth + 1);
            }
        }
    };
    args.forEach(arg => visit(arg, 0));
    return total;
}
