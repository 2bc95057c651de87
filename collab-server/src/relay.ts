/**
 * The blind relay: routes sealed envelopes between admitted members of a room. It never reads
 * `data`; it only sets `sender` and tracks requests so that responses go back to the requester
 * only, and requesters get a timeout or disconnection answer when no response will come.
 *
 * Pending requests live in a PendingRequestStore (shared with Redis), so the response may come
 * through another instance. The requester's instance times the request out; requests whose
 * instance went away are timed out by the periodic sweep (`sweepExpired`) of any instance.
 *
 * Every envelope relayed is also remembered in the room's replay window (replay-window.ts), exactly as
 * delivered, for members that resume after their connection dropped.
 */
import { performance } from 'perf_hooks';
import type { Logger } from 'pino';
import type { ClientEnvelope, RelayedEnvelope } from '@theia-collab/protocol/lib/wire';
import type { CollaborationErrorData } from '@theia-collab/protocol/lib/errors';
import type { ServerMetrics } from './metrics';
import type { PendingRequest, PendingRequestStore } from './pending-requests';
import type { RoomReader } from './room-cache';
import type { ReplayWindow } from './replay-window';
import type { RoomStore } from './rooms';
import { checkScope, CollabServer, CollabSocket, fail, peerChannel, roomChannel } from './socket-state';

export interface RelayOptions {
    requestTimeoutMs: number;
    maxPendingRequestsPerPeer: number;
}

const EMPTY = new Uint8Array(0);

function timerKey(room: string, requester: string, id: number): string {
    return `${room}|${requester}|${id}`;
}

export class Relay {
    /** Local timeouts of the requests sent through this instance. */
    protected readonly timers = new Map<string, NodeJS.Timeout>();

    constructor(
        protected readonly io: CollabServer,
        protected readonly rooms: RoomReader,
        protected readonly store: RoomStore,
        protected readonly requests: PendingRequestStore,
        protected readonly options: RelayOptions,
        protected readonly metrics: ServerMetrics,
        protected readonly logger: Logger,
        protected readonly window?: ReplayWindow
    ) { }

    /** `receivedAt`: `performance.now()` when the event arrived (for the relay latency metric). */
    async relay(socket: CollabSocket, envelope: ClientEnvelope, receivedAt = performance.now()): Promise<void> {
        checkScope(socket, envelope.room);
        const membership = socket.data.memberships.get(envelope.room);
        if (!membership) {
            fail('not-member', 'You are not a member of this session.');
        }
        const sender = membership.peerId;
        const room = await this.rooms.get(envelope.room);
        if (!room || !room.members[sender]) {
            fail('room-closed', 'This session has ended.');
        }
        const relayed: RelayedEnvelope = {
            room: envelope.room,
            kind: envelope.kind,
            seq: envelope.seq,
            key: envelope.key,
            sender,
            data: envelope.data
        };
        const resolveTarget = (target: string | undefined): string => {
            const peer = target ?? room.hostPeerId;
            if (peer === sender) {
                fail('bad-request', 'An envelope cannot target its sender.');
            }
            if (!room.members[peer]) {
                fail('not-found', 'The target peer is not in this session.');
            }
            if (room.members[peer].detachedAt !== undefined) {
                // Its connection dropped; it may come back (and then re-synchronises what it missed).
                fail('disconnected', 'The peer is reconnecting.');
            }
            return peer;
        };
        // Where it goes: the room but the sender, or one peer.
        let channel: string;
        let except: string | undefined;
        switch (envelope.kind) {
            case 'broadcast': {
                if (envelope.target !== undefined || envelope.id !== undefined) {
                    fail('bad-request', 'Broadcasts carry neither target nor id.');
                }
                channel = roomChannel(room.id);
                except = peerChannel(sender);
                break;
            }
            case 'notification': {
                if (envelope.id !== undefined) {
                    fail('bad-request', 'Notifications carry no id.');
                }
                relayed.target = resolveTarget(envelope.target);
                channel = peerChannel(relayed.target);
                break;
            }
            case 'request': {
                if (envelope.id === undefined) {
                    fail('bad-request', 'Requests need an id.');
                }
                const target = resolveTarget(envelope.target);
                await this.track({ room: room.id, requester: sender, responder: target, id: envelope.id, deadline: Date.now() + this.options.requestTimeoutMs });
                relayed.target = target;
                relayed.id = envelope.id;
                channel = peerChannel(target);
                break;
            }
            case 'response': {
                if (envelope.id === undefined || envelope.target === undefined) {
                    fail('bad-request', 'Responses need the id and the requester as target.');
                }
                const request = await this.requests.take(room.id, envelope.target, envelope.id, sender);
                if (!request) {
                    fail('not-found', 'No pending request with this id is waiting for your response.');
                }
                this.clearTimer(timerKey(request.room, request.requester, request.id));
                relayed.target = request.requester;
                relayed.id = request.id;
                channel = peerChannel(request.requester);
                break;
            }
            default:
                fail('bad-request', 'Unknown envelope kind.');
        }
        this.window?.record(relayed);
        this.emit(channel, except, relayed);
        this.metrics.relayed(envelope.kind, envelope.data.byteLength, (performance.now() - receivedAt) / 1000);
        // The activity stamp is not awaited: the socket's next envelopes must not wait for a store
        // round trip (the envelope is on its way already; a lost stamp only ages the room sooner).
        this.store.touch(room.id, Date.now()).catch(error => this.logger.debug({ err: error, room: room.id }, 'recording room activity failed'));
    }

    /** A member left (or lost its connection): its open requests are dropped, requests waiting for it fail with 'disconnected'. */
    async peerLeft(roomId: string, peerId: string, message = 'The peer left before answering.'): Promise<void> {
        const prefix = `${roomId}|${peerId}|`;
        for (const key of [...this.timers.keys()]) {
            if (key.startsWith(prefix)) {
                this.clearTimer(key);
            }
        }
        for (const request of await this.requests.peerLeft(roomId, peerId)) {
            this.clearTimer(timerKey(request.room, request.requester, request.id));
            this.answerWithError(request, { code: 'disconnected', message });
        }
    }

    async roomClosed(roomId: string): Promise<void> {
        const prefix = `${roomId}|`;
        for (const key of [...this.timers.keys()]) {
            if (key.startsWith(prefix)) {
                this.clearTimer(key);
            }
        }
        await this.requests.roomClosed(roomId);
    }

    /** Times out requests overdue by more than `graceMs` (their instance's timer did not fire: it went away). */
    async sweepExpired(now: number, graceMs: number): Promise<void> {
        for (let round = 0; round < 10; round++) {
            const expired = await this.requests.takeExpired(now - graceMs, 500);
            expired.forEach(request => this.answerTimeout(request));
            if (expired.length < 500) {
                return;
            }
        }
    }

    dispose(): void {
        this.timers.forEach(timer => clearTimeout(timer));
        this.timers.clear();
    }

    get localTimerCount(): number {
        return this.timers.size;
    }

    protected async track(request: PendingRequest): Promise<void> {
        const result = await this.requests.add(request, this.options.maxPendingRequestsPerPeer);
        if (result === 'duplicate') {
            fail('bad-request', 'A request with this id is already pending.');
        }
        if (result === 'too-many') {
            fail('rate-limited', 'Too many requests waiting for a response.');
        }
        const key = timerKey(request.room, request.requester, request.id);
        this.clearTimer(key);
        const timer = setTimeout(() => {
            this.timers.delete(key);
            this.requests.take(request.room, request.requester, request.id).then(taken => {
                if (taken) {
                    this.answerTimeout(taken);
                }
            }, error => this.logger.error({ err: error, room: request.room }, 'request timeout handling failed'));
        }, Math.max(0, request.deadline - Date.now()));
        timer.unref();
        this.timers.set(key, timer);
    }

    protected clearTimer(key: string): void {
        const timer = this.timers.get(key);
        if (timer) {
            clearTimeout(timer);
            this.timers.delete(key);
        }
    }

    protected answerTimeout(request: PendingRequest): void {
        this.logger.debug({ room: request.room, requester: request.requester, responder: request.responder, id: request.id }, 'relayed request timed out');
        this.answerWithError(request, {
            code: 'timeout',
            message: `The peer did not answer within ${Math.round(this.options.requestTimeoutMs / 100) / 10} s.`
        });
    }

    protected answerWithError(request: PendingRequest, error: CollaborationErrorData): void {
        this.metrics.requestTimeouts.inc({ reason: error.code });
        const envelope: RelayedEnvelope = {
            room: request.room,
            kind: 'response',
            target: request.requester,
            id: request.id,
            seq: 0,
            key: 0,
            sender: request.responder,
            data: EMPTY,
            error
        };
        this.emit(peerChannel(request.requester), undefined, envelope);
    }

    /**
     * Hands an envelope to socket.io. With Redis, the adapter publishes it to the other instances and delivers
     * it to this instance's sockets; should that fail at once, this instance's sockets still get it.
     */
    protected emit(channel: string, except: string | undefined, envelope: RelayedEnvelope): void {
        try {
            const audience = this.io.to(channel);
            (except ? audience.except(except) : audience).emit('relay', envelope);
        } catch (error) {
            this.logger.warn({ err: error, room: envelope.room }, 'relaying through the adapter failed: delivered on this instance only');
            const local = this.io.local.to(channel);
            (except ? local.except(except) : local).emit('relay', envelope);
        }
    }
}
