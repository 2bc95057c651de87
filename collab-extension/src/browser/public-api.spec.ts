/**
 * Everything an extension author needs comes from the two public entry points (`lib/browser`, which re-exports
 * `lib/common`): this file compiles only if the types are there, and checks the values at run time. A feature
 * written against these names alone, as `examples/collab-poll` is, needs nothing else of ours.
 */
import * as assert from 'assert';
// The values, from the common entry point that lib/browser re-exports (lib/browser itself needs a DOM to load).
import { Broadcast, CollaborationError, Disposable, Emitter, Notification, Permission, Request, Role, StoredContentRef } from '../common';
// The types, and that the browser-only values are there, from lib/browser (compile time only).
import type {
    BroadcastHandler, CollaborationContribution, CollaborationErrorCode, CollaborationSession, ConnectionState, DefinitionOptions,
    DisposableGroup, Event, Invite, InviteOptions, JoinRequest, MessageDefinition, MessageKind, NotificationHandler, Peer, PeerLeft,
    PeerLeftReason, RequestContext, RequestHandler, RequestOptions, RoomClosedReason, SessionClosed, SessionState, TargetOptions, Validator
} from './index';
import type * as BrowserEntry from './index';
import { CollaborationContribution as ContributionToken } from './collaboration-contribution';
import { CollaborationSessionService } from './collaboration-session-service';
import { sameSession, UNDECLARED_METHOD, unscopedSession } from './contribution-session-scope';

/** Compiles only if lib/browser exports these values with these types. */
const browserValues: [typeof BrowserEntry.CollaborationContribution, typeof BrowserEntry.CollaborationSessionService,
    typeof BrowserEntry.sameSession, typeof BrowserEntry.unscopedSession, typeof BrowserEntry.UNDECLARED_METHOD, typeof BrowserEntry.Request,
    typeof BrowserEntry.StoredContentRef, typeof BrowserEntry.CollaborationError] =
    [ContributionToken, CollaborationSessionService, sameSession, unscopedSession, UNDECLARED_METHOD, Request, StoredContentRef, CollaborationError];

describe('the public entry point has what an extension author needs', () => {

    it('values: definitions, errors, events, schemas, service tokens and session helpers', () => {
        const Tally = Request.define<{ option: number }, number>('public-api/tally', { requires: 'readwrite' });
        const Changed = Broadcast.define<{ tally: number }>('public-api/changed');
        const Typing = Notification.define<{ typing: boolean }>('public-api/typing');
        const definitions: MessageDefinition[] = [Tally, Changed, Typing];
        const kinds: MessageKind[] = definitions.map(definition => definition.kind);
        assert.deepStrictEqual(kinds, ['request', 'broadcast', 'notification']);
        assert.strictEqual(new CollaborationError('forbidden', 'no').code, 'forbidden');
        let disposed = false;
        Disposable.create(() => disposed = true).dispose();
        assert.ok(disposed);
        const emitter = new Emitter<number>();
        const group: DisposableGroup = [] as Disposable[];
        const event: Event<number> = emitter.event;
        event(() => { }, undefined, group);
        assert.strictEqual((group as Disposable[]).length, 1);
        const permission: Permission = Permission.parse('readonly');
        const role: Role = Role.parse('guest');
        assert.deepStrictEqual([permission, role], ['readonly', 'guest']);
        assert.ok(!StoredContentRef.safeParse({ id: 'x' }).success, 'StoredContentRef validates a reference in a message');
        assert.deepStrictEqual(browserValues.map(value => typeof value),
            ['symbol', 'symbol', 'function', 'function', 'string', 'object', 'object', 'function']);
    });

    it('types: a contribution, its handlers and options compile against them', () => {
        const Vote = Request.define<{ option: number }, number>('public-api/vote');
        const handler: RequestHandler<{ option: number }, number> = ({ option }, sender: Peer, { signal }: RequestContext) =>
            signal.aborted || sender.permission === 'readonly' ? -1 : option;
        const onChanged: BroadcastHandler<number> = () => { };
        const onTyping: NotificationHandler<boolean> = () => { };
        const options: RequestOptions & TargetOptions = { target: 'peer', timeout: 1000, signal: new AbortController().signal };
        const definitionOptions: DefinitionOptions<{}> = { requires: 'readwrite' };
        const validator: Validator<number> = { parse: value => Number(value) };
        class Feature implements CollaborationContribution {
            readonly messages = [Vote];
            onSessionStarted(session: CollaborationSession): Disposable[] {
                const state: ConnectionState = session.connectionState;
                const invite: Invite | undefined = session.invite;
                const inviteOptions: InviteOptions = { singleUse: true };
                return [
                    session.onRequest(Vote, handler),
                    session.onPeerLeft(({ reason }: PeerLeft) => { const why: PeerLeftReason = reason; return why; }),
                    session.onClose(({ reason }: SessionClosed) => reason as RoomClosedReason),
                    session.onJoinRequest((request: JoinRequest) => [state, invite, inviteOptions, request])
                ];
            }
        }
        const code: CollaborationErrorCode = 'undeclared-method';
        const state: SessionState = 'idle';
        assert.ok([new Feature(), onChanged, onTyping, options, definitionOptions, validator, code, state].every(value => value !== undefined));
    });
});
