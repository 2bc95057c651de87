/**
 * Public API of the collaboration extension that needs neither DOM nor Node. Frontend extensions
 * import `@theia-collab/extension/lib/browser` (which re-exports this) for the session service and the
 * contribution point.
 */
export {
    Broadcast, Notification, Request, CollaborationError, Disposable, Emitter, isErrorData
} from '@theia-collab/protocol';
export type {
    BroadcastHandler, CollaborationErrorCode, CollaborationErrorData, CollaborationSession, ConnectionState, DefinitionOptions, Event, Invite,
    InviteOptions, JoinRequest, MessageDefinition, MessageKind, NotificationHandler, Peer, PeerLeft, Permission, RequestContext, RequestHandler,
    RequestOptions, Role, SessionClosed, StoredContentRef, TargetOptions, Validator
} from '@theia-collab/protocol';
export * from './collaboration-preferences';
export * from './collaboration-server-config';
export * from './collaboration-uri';
