import * as assert from 'assert';
import { FollowMessages, mayAnnouncePresenter, mayOfferPresenter } from './editor-follow-protocol';

describe('follow protocol', () => {
    const host = 'host';

    it('lets the host or the presenter offer the role, anyone while nobody presents', () => {
        assert.ok(mayOfferPresenter(host, { host, presenter: 'ann' }));
        assert.ok(mayOfferPresenter('ann', { host, presenter: 'ann' }));
        assert.ok(!mayOfferPresenter('bob', { host, presenter: 'ann' }));
        assert.ok(mayOfferPresenter('bob', { host, presenter: undefined }));
    });

    it('accepts a presenter change from the host, the presenter, or whoever takes an offered role', () => {
        const offers = new Map([['bob', host]]);
        assert.ok(mayAnnouncePresenter({ sender: host, presenter: 'ann' }, { host, presenter: undefined, offers: new Map() }));
        assert.ok(mayAnnouncePresenter({ sender: 'ann', presenter: null }, { host, presenter: 'ann', offers: new Map() }), 'the presenter steps down');
        assert.ok(mayAnnouncePresenter({ sender: 'bob', presenter: 'bob' }, { host, presenter: 'ann', offers }), 'Bob takes the offered role');
        assert.ok(!mayAnnouncePresenter({ sender: 'carl', presenter: 'carl' }, { host, presenter: 'ann', offers }), 'nobody offered it to Carl');
        assert.ok(!mayAnnouncePresenter({ sender: 'bob', presenter: 'carl' }, { host, presenter: 'ann', offers }), 'Bob cannot appoint Carl');
    });

    it('validates payloads', () => {
        assert.throws(() => FollowMessages.Presenter.params!.parse({ presenter: '../x' }));
        assert.throws(() => FollowMessages.PresenterOffer.params!.parse({ to: 'a', extra: 1 }));
        assert.deepStrictEqual(FollowMessages.Presenter.params!.parse({ presenter: null }), { presenter: null });
    });
});
