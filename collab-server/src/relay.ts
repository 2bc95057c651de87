/**
 * The blind relay: routes sealed envelopes between admitted members of a room. It never reads
 * `data`; it only sets `sender` and tracks requests so that responses go back to the requester
 * only, and requesters get a timeout or disconnection answer when no response will come.
 */
import type { Logger } from 'pino';
import type { ClientEnvelope, RelayedEnvelope } from '@theia-collab/protocol/lib/wire';
import type { CollaborationErrorData } from '@theia-collab/protocol/lib/errors';
import type { RoomStore } from './rooms';
import { checkScope, CollabServer, CollabSocket, fail, peerChannel, roomChannel } from './socket-state';

export interface RelayOptions {
    requestTimeoutMs: number;
    maxPendingRequestsPerPeer: number;
}

interface PendingRequest {
    room: string;
    requester: string;
    responder: string;
    id: number;
    timer: NodeJS.Timeout;
}

const EMPTY = new Uint8Array(0);

export class Relay {
    /** roomId -> requester peer id -> request id -> pending request. */
    protected readonly pending = new Map<string, Map<string, Map<number, PendingRequest>>>();

    constructor(
        protected readonly io: CollabServer,
        protected readonly store: RoomStore,
        protected readonly options: RelayOptions,
        protected readonly logger: Logger
    ) { }

    async relay(socket: CollabSocket, envelope: ClientEnvelope): Promise<void> {
        checkScope(socket, envelope.room);
        const membership = socket.data.memberships.get(envelope.room);
        if (!membership) {
            fail('not-member', 'You are not a member of this session.');
        }
        const sender = membership.peerId;
        const room = await this.store.get(envelope.room);
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
            return peer;
        };
        switch (envelope.kind) {
            case 'broadcast': {
                if (envelope.target !== undefined || envelope.id !== undefined) {
                    fail('bad-request', 'Broadcasts carry neither target nor id.');
                }
                this.io.to(roomChannel(room.id)).except(peerChannel(sender)).emit('relay', relayed);
                break;
            }
            case 'notification': {
                if (envelope.id !== undefined) {
                    fail('bad-request', 'Notifications carry no id.');
                }
                relayed.target = resolveTarget(envelope.target);
                this.io.to(peerChannel(relayed.target)).emit('relay', relayed);
                break;
            }
            case 'request': {
                if (envelope.id === undefined) {
                    fail('bad-request', 'Requests need an id.');
                }
                const target = resolveTarget(envelope.target);
                this.track(room.id, sender, target, envelope.id);
                relayed.target = target;
                relayed.id = envelope.id;
                this.io.to(peerChannel(target)).emit('relay', relayed);
                break;
            }
            case 'response': {
                if (envelope.id === undefined || envelope.target === undefined) {
                    fail('bad-request', 'Responses need the id and the requester as target.');
                }
                const request = this.pending.get(room.id)?.get(envelope.target)?.get(envelope.id);
                if (!request || request.responder !== sender) {
                    fail('not-found', 'No pending request with this id is waiting for your response.');
                }
                this.untrack(request);
                relayed.target = request.requester;
                relayed.id = request.id;
                this.io.to(peerChannel(request.requester)).emit('relay', relayed);
                break;
            }
        }
        await this.store.touch(room.id, Date.now());
    }

    /** A member left: its open requests are dropped, requests waiting for it fail with 'disconnected'. */
    peerLeft(roomId: string, peerId: string): void {
        const byRequester = this.pending.get(roomId);
        if (!byRequester) {
            return;
        }
        byRequester.get(peerId)?.forEach(request => clearTimeout(request.timer));
        byRequester.delete(peerId);
        for (const requests of [...byRequester.values()]) {
            for (const request of [...requests.values()]) {
                if (request.responder === peerId) {
                    this.untrack(request);
                    this.answerWithError(request, { code: 'disconnected', message: 'The peer left before answering.' });
                }
            }
        }
    }

    roomClosed(roomId: string): void {
        this.pending.get(roomId)?.forEach(requests => requests.forEach(request => clearTimeout(request.timer)));
        this.pending.delete(roomId);
    }

    dispose(): void {
        [...this.pending.keys()].forEach(roomId => this.roomClosed(roomId));
    }

    get pendingCount(): number {
        let count = 0;
        this.pending.forEach(byRequester => byRequester.forEach(requests => count += requests.size));
        return count;
    }

    protected track(room: string, requester: string, responder: string, id: number): void {
        let byRequester = this.pending.get(room);
        if (!byRequester) {
            byRequester = new Map();
            this.pending.set(room, byRequester);
        }
        let requests = byRequester.get(requester);
        if (!requests) {
            requests = new Map();
            byRequester.set(requester, requests);
        }
        if (requests.has(id)) {
            fail('bad-request', 'A request with this id is already pending.');
        }
        if (requests.size >= this.options.maxPendingRequestsPerPeer) {
            fail('rate-limited', 'Too many requests waiting for a response.');
        }
        const request: PendingRequest = {
            room, requester, responder, id,
            timer: setTimeout(() => {
                if (this.pending.get(room)?.get(requester)?.get(id) === request) {
                    this.untrack(request);
                    this.logger.debug({ room, requester, responder, id }, 'relayed request timed out');
                    this.answerWithError(request, {
                        code: 'timeout',
                        message: `The peer did not answer within ${Math.round(this.options.requestTimeoutMs / 100) / 10} s.`
                    });
                }
            }, this.options.requestTimeoutMs)
        };
        request.timer.unref();
        requests.set(id, request);
    }

    protected untrack(request: PendingRequest): void {
        clearTimeout(request.timer);
        const byRequester = this.pending.get(request.room);
        const requests = byRequester?.get(request.requester);
        if (requests?.get(request.id) === request) {
            requests.delete(request.id);
            if (requests.size === 0) {
                byRequester!.delete(request.requester);
                if (byRequester!.size === 0) {
                    this.pending.delete(request.room);
                }
            }
        }
    }

    protected answerWithError(request: PendingRequest, error: CollaborationErrorData): void {
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
        this.io.to(peerChannel(request.requester)).emit('relay', envelope);
    }
}
