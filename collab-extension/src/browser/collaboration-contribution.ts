import { MessageDefinition, CollaborationSession, Disposable } from '@theia-collab/protocol';

/**
 * The extension point for collaboration features: built-in features (file system, editors, chat,
 * terminal) and other extensions bind one of these (`bind(CollaborationContribution).to(...)`).
 */
export const CollaborationContribution = Symbol('CollaborationContribution');
export interface CollaborationContribution {
    /**
     * The message types this contribution speaks: documentation for readers and for `isAvailable` checks by
     * other peers (a peer handles what its contributions registered handlers for).
     */
    readonly messages?: readonly MessageDefinition[];
    /**
     * Called for every session this window hosts or joins, after it is established. Register handlers on
     * `session` here; what is returned is disposed when the session ends. Messages that arrive before every
     * contribution's `onSessionStarted` has finished are held and delivered afterwards, in order, so a
     * handler registered here misses nothing.
     */
    onSessionStarted(session: CollaborationSession): Disposable | Disposable[] | void | Promise<Disposable | Disposable[] | void>;
}
