import { MessageDefinition, CollaborationSession, Disposable } from '@theia-collab/protocol';

/**
 * The extension point for collaboration features: built-in features (file system, editors, chat,
 * terminal) and other extensions bind one of these (`bind(CollaborationContribution).to(...)`).
 */
export const CollaborationContribution = Symbol('CollaborationContribution');
export interface CollaborationContribution {
    /**
     * The message definitions this contribution handles and sends. Enforced: the session `onSessionStarted` gets
     * registers handlers for and sends only these (anything else throws, or rejects, a `CollaborationError` with
     * code `undeclared-method`); everything else on it is the session's own. Declare `[]` if the contribution
     * uses no messages. A contribution that omits `messages` gets the unrestricted session and a warning in the
     * log once: it may then answer or send any feature's methods.
     *
     * The session it gets is a view, another object than `CollaborationSessionService.session` or another
     * contribution's view of the same session: compare them with `sameSession`.
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
