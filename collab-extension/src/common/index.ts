/**
 * Public API of the collaboration extension that needs neither DOM nor Node. Frontend extensions
 * import `@theia-collab/extension/lib/browser` (which re-exports this) for the session service and the
 * contribution point.
 */
// The message definitions, errors and events; `Permission`, `Role` and `StoredContentRef` are also zod schemas, to
// validate them inside a message's params (e.g. a stored content reference the host sends).
export {
    Broadcast, Notification, Request, CollaborationError, Disposable, Emitter, isErrorData, Permission, Role, StoredContentRef
} from '@theia-collab/protocol';
// The session API (`CollaborationSession`) and everything its methods take and give.
export type {
    BroadcastHandler, CollaborationErrorCode, CollaborationErrorData, CollaborationSession, ConnectionState, DefinitionOptions, DisposableGroup,
    Event, Invite, InviteOptions, JoinRequest, MessageDefinition, MessageKind, NotificationHandler, Peer, PeerLeft, PeerLeftReason,
    RequestContext, RequestHandler, RequestOptions, RoomClosedReason, SessionClosed, TargetOptions, Validator
} from '@theia-collab/protocol';
export * from './collaboration-preferences';
export * from './collaboration-server-config';
export * from './collaboration-uri';
