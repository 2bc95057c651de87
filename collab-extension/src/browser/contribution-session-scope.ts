/**
 * The session a contribution sees: the session itself, except that it registers handlers for and sends only the
 * message definitions the contribution declared in `messages`. So `messages` is the truth about what a feature
 * speaks, and a feature cannot, by mistake or on purpose, answer or send another feature's methods.
 */
import { nls } from '@theia/core/lib/common/nls';
import { CollaborationError, CollaborationSession, MessageDefinition } from '@theia-collab/protocol';

/** The error code when a contribution uses a definition it did not declare. */
export const UNDECLARED_METHOD = 'undeclared-method';

/** The session methods that take a message definition; everything else passes through unchanged. */
const GUARDED = new Set<PropertyKey>(['onBroadcast', 'sendBroadcast', 'onRequest', 'sendRequest', 'onNotification', 'sendNotification']);

/** Every scoped view and the session it stands for. */
const underlying = new WeakMap<object, CollaborationSession>();

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFunction = (...args: any[]) => unknown;

/**
 * A view of `session` for the contribution called `owner` that refuses definitions not in `messages`: registering
 * a handler throws, sending rejects, both with a `CollaborationError` of code `undeclared-method`. Everything else
 * (peers, events, state, invites, content) is the session's own, read live; its methods run on the session itself.
 * Views are different objects from the session: compare sessions with `sameSession`, or key maps by
 * `unscopedSession(session)`.
 */
export function scopeSession(session: CollaborationSession, owner: string, messages: readonly MessageDefinition[]): CollaborationSession {
    const target = unscopedSession(session);
    const declared = new Set(messages.map(definitionKey));
    const check = (definition: MessageDefinition): void => {
        if (!declared.has(definitionKey(definition))) {
            throw new CollaborationError(UNDECLARED_METHOD, nls.localize('collaboration/undeclaredMethod',
                "{0} used the {1} '{2}' without declaring it: add its definition to {0}.messages.", owner, definition?.kind, definition?.method));
        }
    };
    const guarded = new Map<PropertyKey, AnyFunction>();
    const bound = new WeakMap<AnyFunction, AnyFunction>();
    const view = new Proxy(target, {
        get(object, property) {
            if (GUARDED.has(property)) {
                let wrapper = guarded.get(property);
                if (!wrapper) {
                    const sends = String(property).startsWith('send');
                    wrapper = (definition: MessageDefinition, ...rest: unknown[]) => {
                        try {
                            check(definition);
                        } catch (error) {
                            if (sends) {
                                return Promise.reject(error);
                            }
                            throw error;
                        }
                        return (object[property as keyof CollaborationSession] as AnyFunction).call(object, definition, ...rest);
                    };
                    guarded.set(property, wrapper);
                }
                return wrapper;
            }
            const value = Reflect.get(object, property, object);
            if (typeof value !== 'function') {
                return value;
            }
            // Methods run on the session (private state); the same function each time, so a view's events and
            // methods compare equal from one read to the next.
            let boundValue = bound.get(value);
            if (!boundValue) {
                boundValue = value.bind(object) as AnyFunction;
                bound.set(value, boundValue);
            }
            return boundValue;
        },
        set(object, property, value) {
            return Reflect.set(object, property, value, object);
        }
    });
    underlying.set(view, target);
    return view;
}

/** The session a scoped view stands for; the session itself if it is not a view. */
export function unscopedSession(session: CollaborationSession): CollaborationSession {
    return underlying.get(session) ?? session;
}

/** Whether two sessions (or views of them, e.g. from two contributions) are the same session. */
export function sameSession(a: CollaborationSession | undefined, b: CollaborationSession | undefined): boolean {
    return a === b || (!!a && !!b && unscopedSession(a) === unscopedSession(b));
}

function definitionKey(definition: MessageDefinition): string {
    return `${definition?.kind} ${definition?.method}`;
}
