/**
 * A contribution's `messages` hold: the session it gets refuses every definition it did not declare, to handle or
 * to send, and is the session itself for everything else. Against a real server, a real host and a real guest,
 * and through the session service's own start of the contributions.
 */
import * as assert from 'assert';
import { Broadcast, CollaborationError, CollaborationSession, Disposable, Notification, Request } from '@theia-collab/protocol';
import { collector, rejection, SessionFixture, until } from '@theia-collab/test-kit';
import { CollaborationContribution } from './collaboration-contribution';
import { CollaborationSessionServiceImpl } from './collaboration-session-service-impl';
import { sameSession, scopeSession, UNDECLARED_METHOD, unscopedSession } from './contribution-session-scope';

const Ask = Request.define<{ n: number }, number>('scope-spec/ask');
const Told = Broadcast.define<{ n: number }>('scope-spec/told');
const Poke = Notification.define<{ n: number }>('scope-spec/poke');
const Other = Request.define<{}, string>('scope-spec/other');
const OtherBroadcast = Broadcast.define<{}>('scope-spec/other-broadcast');
const OtherNotification = Notification.define<{}>('scope-spec/other-notification');
/** Same method as `Ask`, another kind: not what was declared either. */
const AskAsBroadcast = Broadcast.define<{ n: number }>('scope-spec/ask');

function assertUndeclared(error: unknown, method: string): void {
    assert.ok(error instanceof CollaborationError, `expected a CollaborationError, got ${error}`);
    assert.strictEqual(error.code, UNDECLARED_METHOD);
    assert.match(error.message, /PollFeature/);
    assert.ok(error.message.includes(`'${method}'`), error.message);
    assert.match(error.message, /PollFeature\.messages/);
}

describe('a contribution\'s session is limited to its declared messages', function (): void {
    this.timeout(60_000);
    let fixture: SessionFixture;
    let host: CollaborationSession;
    let guest: CollaborationSession;
    const toDispose: Disposable[] = [];

    beforeEach(async () => {
        fixture = await SessionFixture.start();
        ({ host, guests: [guest] } = await fixture.room(1));
    });
    afterEach(async () => {
        toDispose.splice(0).forEach(disposable => disposable.dispose());
        await fixture.close();
    });

    it('refuses to handle or send an undeclared definition, naming the contribution and the method', async () => {
        const view = scopeSession(host, 'PollFeature', [Ask, Told, Poke]);
        assert.throws(() => view.onRequest(Other, () => 'no'), error => (assertUndeclared(error, 'scope-spec/other'), true));
        assert.throws(() => view.onBroadcast(OtherBroadcast, () => { }), error => (assertUndeclared(error, 'scope-spec/other-broadcast'), true));
        assert.throws(() => view.onNotification(OtherNotification, () => { }), error => (assertUndeclared(error, 'scope-spec/other-notification'), true));
        assert.throws(() => view.onBroadcast(AskAsBroadcast, () => { }), error => (assertUndeclared(error, 'scope-spec/ask'), true));
        assertUndeclared(await rejection(view.sendRequest(Other, {}, { target: guest.self.id })), 'scope-spec/other');
        assertUndeclared(await rejection(view.sendBroadcast(OtherBroadcast, {})), 'scope-spec/other-broadcast');
        assertUndeclared(await rejection(view.sendNotification(OtherNotification, {}, guest.self.id)), 'scope-spec/other-notification');
    });

    it('a request for a method whose handler was refused is answered unknown-method, as for any method nobody handles', async () => {
        const view = scopeSession(host, 'PollFeature', [Ask]);
        assert.throws(() => view.onRequest(Other, () => 'answered'));
        const error = await rejection(guest.sendRequest(Other, {}));
        assert.strictEqual(error.code, 'unknown-method');
    });

    it('passes declared definitions through, both ways', async () => {
        const hostView = scopeSession(host, 'PollFeature', [Ask, Told, Poke]);
        const guestView = scopeSession(guest, 'PollFeature', [Ask, Told, Poke]);
        toDispose.push(hostView.onRequest(Ask, ({ n }, sender) => sender.id === guest.self.id ? n * 2 : -1));
        const told = collector<number>();
        const poked = collector<number>();
        toDispose.push(guestView.onBroadcast(Told, ({ n }) => told.push(n)));
        toDispose.push(guestView.onNotification(Poke, ({ n }) => poked.push(n)));
        assert.strictEqual(await guestView.sendRequest(Ask, { n: 21 }), 42);
        await hostView.sendBroadcast(Told, { n: 1 });
        await hostView.sendNotification(Poke, { n: 2 }, { target: guest.self.id });
        await until(() => told.items.length === 1 && poked.items.length === 1, 'the guest got the broadcast and the notification');
        assert.deepStrictEqual([told.items, poked.items], [[1], [2]]);
        assert.strictEqual(await guestView.isAvailable(Ask), true, 'the host\'s handler, registered through its view, is the session\'s');
    });

    it('is the session for everything else: live state, events, methods; comparable with sameSession', async () => {
        const view = scopeSession(host, 'PollFeature', []);
        const other = scopeSession(host, 'ChatFeature', []);
        assert.notStrictEqual(view, host);
        assert.ok(sameSession(view, host) && sameSession(view, other) && sameSession(host, view));
        assert.ok(!sameSession(view, guest) && !sameSession(view, undefined));
        assert.strictEqual(unscopedSession(view), host);
        assert.strictEqual(unscopedSession(scopeSession(view, 'Nested', [])), host, 'a view of a view stands for the session');
        assert.strictEqual(view.roomId, host.roomId);
        assert.strictEqual(view.self, host.self);
        assert.strictEqual(view.isHost, true);
        assert.strictEqual(view.onPeerLeft, view.onPeerLeft, 'the same event function from one read to the next');
        const invite = view.createInvite({ singleUse: true });
        assert.ok(host.invites.some(candidate => candidate.id === invite.id), 'methods run on the session');
        const left = collector<string>();
        toDispose.push(view.onPeerLeft(({ peer }) => left.push(peer.id)));
        const guestId = guest.self.id;
        await guest.leave();
        await until(() => left.items.length === 1, 'the view\'s event fired');
        assert.deepStrictEqual(left.items, [guestId]);
        assert.strictEqual(view.peers.length, 1, 'peers read live');
        await view.leave();
        assert.strictEqual(view.closed, true);
        assert.strictEqual(host.closed, true);
    });

    it('the session service gives a declaring contribution its view, and the others the session with one warning', async () => {
        class PollFeature implements CollaborationContribution {
            readonly messages = [Ask];
            session: CollaborationSession | undefined;
            onSessionStarted(session: CollaborationSession): Disposable {
                this.session = session;
                return session.onRequest(Ask, ({ n }) => n + 1);
            }
        }
        class Undeclaring implements CollaborationContribution {
            sessions: CollaborationSession[] = [];
            onSessionStarted(session: CollaborationSession): Disposable {
                this.sessions.push(session);
                return session.onRequest(Other, () => 'anything goes');
            }
        }
        const declaring = new PollFeature();
        const undeclaring = new Undeclaring();
        const warnings: string[] = [];
        const errors: string[] = [];
        const service = new CollaborationSessionServiceImpl() as unknown as {
            contributions: unknown; logger: unknown; messageService: unknown; sessionFor: CollaborationSessionServiceImpl['sessionFor'];
            activate(session: CollaborationSession, generation: number): Promise<void>;
        };
        service.contributions = { getContributions: () => [declaring, undeclaring] };
        service.logger = { warn: (message: string) => warnings.push(message), error: (message: string) => errors.push(String(message)), info: () => { } };
        service.messageService = { error: (message: string) => errors.push(message), warn: () => { }, info: () => { } };
        await service.activate(host, 0);
        assert.deepStrictEqual(errors, []);
        assert.notStrictEqual(declaring.session, host);
        assert.ok(sameSession(declaring.session, host));
        assert.strictEqual(undeclaring.sessions[0], host);
        assert.strictEqual(await guest.sendRequest(Ask, { n: 1 }), 2);
        assert.strictEqual(await guest.sendRequest(Other, {}), 'anything goes');
        assertUndeclared(await rejection(declaring.session!.sendBroadcast(Told, { n: 1 })), 'scope-spec/told');
        assert.strictEqual(warnings.length, 1);
        assert.match(warnings[0], /Undeclaring declares no 'messages'/);
        service.sessionFor(undeclaring, host);
        assert.strictEqual(warnings.length, 1, 'warned once per contribution');
    });
});
