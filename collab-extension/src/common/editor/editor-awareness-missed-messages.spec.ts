/**
 * Awareness (remote carets, current documents, who follows whom) after a guest lost others' updates for good
 * (a server without a replay window, a real outage): it asks everyone for their state again and shows what
 * each peer's window shows now.
 */
import * as assert from 'assert';
import { offline, until, useMissedMessagesFixture } from '../chat/missed-messages-fixture';
import { SessionAwareness } from './editor-awareness';

describe('awareness after missed messages', function () {
    this.timeout(60_000);
    const fixture = useMissedMessagesFixture();

    it('gives a guest that was away everyone\'s current state', async () => {
        const host = await fixture.host();
        const away = await fixture.join(host.session, 'Away');
        const stay = await fixture.join(host.session, 'Stay');
        const quiet = { warn: () => undefined };
        const hostAwareness = fixture.track(new SessionAwareness(host.session, { logger: quiet }));
        const awayAwareness = fixture.track(new SessionAwareness(away.session, { logger: quiet }));
        const stayAwareness = fixture.track(new SessionAwareness(stay.session, { logger: quiet }));
        hostAwareness.setLocal({ document: 'proj/a.ts' });
        stayAwareness.setLocal({ document: 'proj/a.ts' });
        await until(() => awayAwareness.stateOf(host.session.self.id)?.document === 'proj/a.ts'
            && awayAwareness.stateOf(stay.session.self.id)?.document === 'proj/a.ts', 'the guest sees everyone');

        await offline(away, async () => {
            hostAwareness.setLocal({ document: 'proj/b.ts' });
            stayAwareness.setLocal({ document: 'proj/c.ts', following: host.session.self.id });
            await until(() => stayAwareness.stateOf(host.session.self.id)?.document === 'proj/b.ts'
                && hostAwareness.stateOf(stay.session.self.id)?.document === 'proj/c.ts', 'the others see the changes');
        });
        await until(() => awayAwareness.stateOf(host.session.self.id)?.document === 'proj/b.ts'
            && awayAwareness.stateOf(stay.session.self.id)?.document === 'proj/c.ts', 'the guest that was away catches up');
        assert.deepStrictEqual(awayAwareness.stateOf(host.session.self.id), hostAwareness.local);
        assert.deepStrictEqual(awayAwareness.stateOf(stay.session.self.id), stayAwareness.local);
        assert.strictEqual(awayAwareness.stateOf(stay.session.self.id)?.following, host.session.self.id);
    });
});
