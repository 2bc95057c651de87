/**
 * The presenter role after a peer lost announcements for good (a server without a replay window, a real
 * outage): a guest asks the host who presents, the host asks the presenter it knows; a late joiner asks too.
 */
import * as assert from 'assert';
import { CollaborationError, CollaborationSession } from '@theia-collab/protocol';
import { offline, until, useMissedMessagesFixture } from '../chat/missed-messages-fixture';
import { FollowMessages, PresenterRole } from './editor-follow-protocol';

describe('presenter role after missed messages', function () {
    this.timeout(60_000);
    const fixture = useMissedMessagesFixture();
    const quiet = { warn: () => undefined };

    /** Announces `presenter` from `session` as the follow service does. */
    async function announce(session: CollaborationSession, role: PresenterRole, presenter: string | undefined): Promise<void> {
        role.set(presenter);
        await session.sendBroadcast(FollowMessages.Presenter, { presenter: presenter ?? null });
    }

    it('gives a guest that was away, a late joiner and a host that was away the current presenter', async () => {
        const host = await fixture.host();
        const away = await fixture.join(host.session, 'Away');
        const stay = await fixture.join(host.session, 'Stay');
        const hostRole = fixture.track(new PresenterRole(host.session, quiet));
        const awayRole = fixture.track(new PresenterRole(away.session, quiet));
        const stayRole = fixture.track(new PresenterRole(stay.session, quiet));
        await awayRole.start();
        await stayRole.start();
        const awayChanges: (string | undefined)[] = [];
        awayRole.onDidChange(({ presenter }) => awayChanges.push(presenter));

        const stayId = stay.session.self.id;
        await announce(host.session, hostRole, stayId);
        await until(() => awayRole.presenter === stayId && stayRole.presenter === stayId, 'everyone knows Stay presents');

        // The guest misses the host taking the role over.
        await offline(away, async () => {
            await announce(host.session, hostRole, host.session.self.id);
            await until(() => stayRole.presenter === host.session.self.id, 'Stay sees the host present');
        });
        await until(() => awayRole.presenter === host.session.self.id, 'the guest that was away learns who presents');
        assert.deepStrictEqual(awayChanges, [stayId, host.session.self.id], 'one change each, nothing fired twice');

        // A late joiner learns it when it starts.
        const late = await fixture.join(host.session, 'Late');
        const lateRole = fixture.track(new PresenterRole(late.session, quiet));
        await lateRole.start();
        assert.strictEqual(lateRole.presenter, host.session.self.id);

        // The host misses the presenter handing the role over: it asks the presenter it knows.
        await announce(host.session, hostRole, stayId);
        await until(() => [awayRole, lateRole, stayRole].every(role => role.presenter === stayId), 'Stay presents again');
        await offline(host, async () => {
            await announce(stay.session, stayRole, away.session.self.id);
            await until(() => awayRole.presenter === away.session.self.id && lateRole.presenter === away.session.self.id, 'the guests see the hand-over');
        });
        await until(() => hostRole.presenter === away.session.self.id, 'the host that was away learns who presents');
        for (const role of [hostRole, awayRole, stayRole, lateRole]) {
            assert.strictEqual(role.presenter, away.session.self.id);
        }

        // Only members may ask; the answer is validated.
        await assert.rejects(away.session.sendRequest(FollowMessages.PresenterState, { extra: 1 } as never),
            (error: CollaborationError) => error.code === 'invalid-params');
    });
});
