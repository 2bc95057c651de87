/**
 * Public frontend API of the collaboration extension. Another Theia extension adds a collaboration
 * feature by binding a `CollaborationContribution` and declaring its messages with `Request.define`,
 * `Notification.define` or `Broadcast.define` in its `messages` (the session it gets refuses the others); it can
 * follow the session through `CollaborationSessionService`. Everything else it needs (the session API, events,
 * errors, permissions, stored content references) is re-exported from `lib/common`.
 */
export * from '../common';
export * from './collaboration-contribution';
export { sameSession, unscopedSession, UNDECLARED_METHOD } from './contribution-session-scope';
export * from './collaboration-session-service';
export { CollaborationCommands, CollaborationMenus } from './collaboration-frontend-contribution';
