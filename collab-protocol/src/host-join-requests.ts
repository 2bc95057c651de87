/**
 * Host only: the join requests waiting for the host's user. A request reaches the user (`onJoinRequest`)
 * only when its proof shows it was made with an invite's secret for the key the guest joins with
 * (invite-registry.ts); anything else is refused at once, and nobody is asked. A request is answered once;
 * admitting it is the session's key operation (the room key wrapped for the guest, the roster), which
 * checks again that the invite is still usable.
 */
import { z } from 'zod';
import { CollaborationError } from './errors';
import { normalizeDisplayName } from './display-name';
import { InviteRegistry } from './invite-registry';
import { JoinRequestEventSchema } from './server-events';
import { JoinRequest, Peer } from './session';
import type { SessionConnection } from './session-impl';
import { Permission, PeerInfo } from './wire';

export const INVALID_INVITE = 'The invite is not valid: it may have expired, been used or revoked, or the request was altered on its way. Ask the host for a new invite.';

export type JoinRequestEvent = z.infer<typeof JoinRequestEventSchema>;

/** What the join requests need from the host's session. */
export interface JoinRequestsHost {
    readonly roomId: string;
    readonly connection: Pick<SessionConnection, 'request' | 'logger'>;
    /** The host's invites (undefined until the session is set up). */
    invites(): InviteRegistry | undefined;
    /** The public view of a peer (its fingerprint for the dialog). */
    describe(info: PeerInfo): Promise<Peer>;
    /** Admits the guest (see `HostJoinRequests.usableInvite`). */
    admit(requestId: string, info: PeerInfo, permission: Permission): Promise<void>;
    reportMessageError(error: CollaborationError): void;
    /** Shows the request to the host's user. */
    ask(request: JoinRequest): void;
}

export class HostJoinRequests {
    private readonly waiting = new Map<string, PeerInfo>();
    /** The invite each waiting join request proved it holds. */
    private readonly invites = new Map<string, string>();

    constructor(private readonly host: JoinRequestsHost) { }

    has(requestId: string): boolean {
        return this.waiting.has(requestId);
    }

    /** A request the server forwarded: refused at once without a valid invite proof, else shown to the user. */
    async received(event: JoinRequestEvent): Promise<void> {
        const info: PeerInfo = { ...event.peer, name: normalizeDisplayName(event.peer.name) || 'Guest', role: 'guest', permission: 'readonly' };
        if (this.waiting.has(event.requestId)) {
            return;
        }
        const invite = this.host.invites()?.match(info.publicKey, event.proof);
        if (!invite) {
            // Made without the invite's secret, or for another key than the guest's: nobody is asked.
            this.host.reportMessageError(new CollaborationError('forbidden', `Refused a join request from '${info.name}': ${INVALID_INVITE}`));
            await this.refuse(event.requestId)
                .catch(error => this.host.connection.logger.warn(`collaboration: could not refuse a join request: ${CollaborationError.from(error).message}`));
            return;
        }
        const described = await this.host.describe(info);
        this.waiting.set(event.requestId, info);
        this.invites.set(event.requestId, invite.id);
        let answered = false;
        const once = () => {
            if (answered) {
                throw new CollaborationError('bad-request', 'This join request was already answered.');
            }
            answered = true;
        };
        this.host.ask({
            requestId: event.requestId,
            name: info.name,
            userId: info.userId,
            fingerprint: described.fingerprint,
            inviteId: invite.id,
            ...(info.program ? { program: true } : {}),
            admit: async permission => {
                once();
                await this.host.admit(event.requestId, info, permission);
            },
            deny: async reason => {
                once();
                this.forget(event.requestId);
                await this.host.connection.request('room:deny', {
                    roomId: this.host.roomId, requestId: event.requestId, ...(reason ? { reason: reason.slice(0, 256) } : {})
                });
            }
        });
    }

    /** The guest withdrew its request (or its connection dropped). */
    withdrawn(requestId: string): void {
        this.waiting.delete(requestId);
    }

    /** The host is back on a new connection: requests withdrawn meanwhile are gone; those that came meanwhile are asked now. */
    async resumed(pending: readonly JoinRequestEvent[]): Promise<void> {
        const pendingIds = new Set(pending.map(request => request.requestId));
        for (const requestId of [...this.waiting.keys()]) {
            if (!pendingIds.has(requestId)) {
                this.waiting.delete(requestId);
            }
        }
        for (const request of pending) {
            if (!this.waiting.has(request.requestId)) {
                await this.received(request);
            }
        }
    }

    /**
     * The invite a request proved, when it is still usable (not revoked, expired or used up since the request
     * came); otherwise the request is forgotten and refused at the server, and this throws `forbidden`.
     */
    async usableInvite(requestId: string): Promise<string> {
        const inviteId = this.invites.get(requestId);
        if (inviteId === undefined || !this.host.invites()?.isUsable(inviteId)) {
            this.forget(requestId);
            await this.refuse(requestId).catch(() => undefined);
            throw new CollaborationError('forbidden', 'The invite this guest asked with was revoked, expired or used up meanwhile.');
        }
        return inviteId;
    }

    /** The request was answered. */
    forget(requestId: string): void {
        this.waiting.delete(requestId);
        this.invites.delete(requestId);
    }

    private async refuse(requestId: string): Promise<void> {
        await this.host.connection.request('room:deny', { roomId: this.host.roomId, requestId, reason: INVALID_INVITE.slice(0, 256) });
    }
}
