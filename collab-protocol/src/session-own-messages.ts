/**
 * The session's own messages, under `session/` (features cannot register or send those): the host's roster
 * (session-roster.ts), a requester cancelling a request it sent, and the question which methods a peer
 * handles (`CollaborationSession.isAvailable`). Each is taken only from whom it may come from.
 */
import { OpenedEnvelope } from './envelope-codec';
import { CollaborationError } from './errors';
import { Notification, Request } from './messages';
import { Peer } from './session';
import { HandledMethods, SessionMessages } from './session-messages';
import { ROSTER_METHOD } from './session-roster';

export const CancelRequest = Notification.define<{ id: number }>('session/cancel');
export const HandledMethodsRequest = Request.define<{}, HandledMethods>('session/methods');

/** What the session's own messages act on. */
export interface OwnMessagesSession {
    readonly isHost: boolean;
    readonly hostId: string;
    readonly messages: SessionMessages;
    /** A guest takes the host's roster. */
    applyRoster(params: unknown): Promise<void>;
    reportMessageError(error: CollaborationError, sender: string): void;
}

/** Handles an opened `session/` message from `sender`; anything a peer may not send is reported `forbidden`. */
export async function receiveOwnMessage(session: OwnMessagesSession, opened: OpenedEnvelope, method: string, params: unknown, sender: Peer): Promise<void> {
    if (method === ROSTER_METHOD && sender.id === session.hostId && !session.isHost) {
        await session.applyRoster(params);
        return;
    }
    if (method === CancelRequest.method && opened.header.kind === 'notification') {
        const id = (params as { id?: unknown })?.id;
        if (typeof id === 'number') {
            session.messages.cancelIncoming(sender.id, id);
        }
        return;
    }
    if (method === HandledMethodsRequest.method && opened.header.kind === 'request') {
        session.messages.dispatch(opened, sender);
        return;
    }
    session.reportMessageError(new CollaborationError('forbidden', `'${method}' is the session's own message and '${sender.name}' may not send it.`), sender.id);
}
