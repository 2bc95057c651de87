/**
 * The poll against the real thing: a real coordination server, a host and guests with given permissions over
 * real protocol clients (@theia-collab/test-kit), the feature exactly as the browser runs it.
 */
import * as assert from 'assert';
import { CollaborationSession } from '@theia-collab/extension/lib/common';
import { delay, rejection, SessionFixture, until } from '@theia-collab/test-kit';
import { PollMessages, PollSession, PollState } from './poll-session';

describe('example poll over a real session', function () {
    this.timeout(30_000);

    let fixture: SessionFixture;
    const polls: PollSession[] = [];

    function poll(session: CollaborationSession): PollSession {
        const created = new PollSession(session);
        polls.push(created);
        return created;
    }

    function countsOf(session: PollSession): number[] | undefined {
        return session.view?.poll.counts;
    }

    beforeEach(async () => {
        fixture = await SessionFixture.start();
    });

    afterEach(async () => {
        polls.splice(0).forEach(created => created.dispose());
        await fixture.close();
    });

    const lunch = { question: 'Lunch?', options: ['Pizza', 'Salad', 'Soup'] };

    it('the host starts a poll, two guests vote, everyone sees the same counts', async () => {
        const { host, guests: [alice, bob] } = await fixture.room(2);
        const [atHost, atAlice, atBob] = [poll(host), poll(alice), poll(bob)];

        const started = await atHost.start(lunch);
        assert.deepStrictEqual(started.counts, [0, 0, 0]);
        await until(() => atAlice.view?.poll.id === started.id && atBob.view?.poll.id === started.id, 'both guests see the poll');
        assert.strictEqual(atBob.view?.poll.question, 'Lunch?');

        const afterAlice = await atAlice.vote(1);
        assert.deepStrictEqual(afterAlice.counts, [0, 1, 0]);
        await atBob.vote(1);
        await atHost.vote(2);

        for (const [name, session] of [['host', atHost], ['alice', atAlice], ['bob', atBob]] as const) {
            await until(() => JSON.stringify(countsOf(session)) === '[0,2,1]', `${name} sees [0,2,1] (has ${JSON.stringify(countsOf(session))})`);
        }
        assert.strictEqual(atAlice.view?.vote, 1);
        assert.strictEqual(atHost.view?.vote, 2);
        // Who voted is hidden unless the host asked for it.
        assert.strictEqual(atBob.view?.poll.voters, undefined);
    });

    it('shows who voted for what when the host started the poll with showVoters', async () => {
        const { host, guests: [alice] } = await fixture.room({ guests: ['readwrite'], names: ['Alice'] });
        const [atHost, atAlice] = [poll(host), poll(alice)];
        await atHost.start({ ...lunch, showVoters: true });
        await until(() => atAlice.view !== undefined, 'the guest sees the poll');
        await atAlice.vote(0);
        await until(() => atHost.view?.poll.voters?.length === 1, 'the host sees the voter');
        assert.deepStrictEqual(atHost.view?.poll.voters, [{ name: 'Alice', option: 0 }]);
    });

    it('refuses a read-only guest\'s vote with forbidden and changes nothing', async () => {
        const { host, guests: [writer, reader] } = await fixture.room({ guests: ['readwrite', 'readonly'] });
        const [atHost, atWriter, atReader] = [poll(host), poll(writer), poll(reader)];
        const started = await atHost.start(lunch);
        await until(() => atReader.view !== undefined && atWriter.view !== undefined, 'the guests see the poll');

        const refused = await rejection(atReader.vote(0));
        assert.strictEqual(refused.code, 'forbidden');
        // Straight through the session too, bypassing PollSession: the receiving side refuses it before any handler.
        assert.strictEqual((await rejection(reader.sendRequest(PollMessages.CastVote, { pollId: started.id, option: 0 }))).code, 'forbidden');

        await atWriter.vote(2);
        await until(() => JSON.stringify(countsOf(atReader)) === '[0,0,1]', 'the reader sees the writer\'s vote only');
        assert.deepStrictEqual(countsOf(atHost), [0, 0, 1]);
        assert.strictEqual(atReader.view?.vote, undefined);
    });

    it('counts a double vote once', async () => {
        const { host, guests: [alice] } = await fixture.room(1);
        const [atHost, atAlice] = [poll(host), poll(alice)];
        const started = await atHost.start(lunch);
        await until(() => atAlice.view !== undefined, 'the guest sees the poll');

        await atAlice.vote(0);
        assert.strictEqual((await rejection(atAlice.vote(0))).code, 'already-voted');
        assert.strictEqual((await rejection(alice.sendRequest(PollMessages.CastVote, { pollId: started.id, option: 1 }))).code, 'already-voted');
        await atHost.vote(0);
        assert.strictEqual((await rejection(atHost.vote(1))).code, 'already-voted');

        await until(() => JSON.stringify(countsOf(atAlice)) === '[2,0,0]', 'the guest sees two votes');
        assert.deepStrictEqual(countsOf(atHost), [2, 0, 0]);
    });

    it('a late joiner gets the current poll and its own vote after a resync', async () => {
        const { host, guests: [early] } = await fixture.room(1);
        const [atHost, atEarly] = [poll(host), poll(early)];
        const started = await atHost.start(lunch);
        await until(() => atEarly.view !== undefined, 'the early guest sees the poll');
        await atEarly.vote(1);

        const admitting = host.onJoinRequest(request => request.admit('readwrite'));
        const late = await (await fixture.connect('Late')).joinSession(host.invite!.code);
        admitting.dispose();
        const atLate = poll(late);
        const before = atLate.view;
        assert.strictEqual(before, undefined, 'nothing before it asks: the poll was broadcast before it joined');
        await atLate.refresh();
        assert.strictEqual(atLate.view?.poll.id, started.id);
        assert.deepStrictEqual(countsOf(atLate), [0, 1, 0]);
        assert.strictEqual(atLate.view?.vote, undefined);

        // The early guest asks again (as after missed messages) and gets its own vote back.
        const fresh = poll(early);
        await fresh.refresh();
        assert.strictEqual(fresh.view?.vote, 1);
    });

    it('refuses invalid params at the host and starting polls from guests', async () => {
        const { host, guests: [alice] } = await fixture.room(1);
        const [atHost, atAlice] = [poll(host), poll(alice)];

        for (const invalid of [
            { question: 'One option?', options: ['Only'] },
            { question: 'Seven?', options: ['1', '2', '3', '4', '5', '6', '7'] },
            { question: '', options: ['a', 'b'] },
            { question: 'Same?', options: ['Yes', 'yes'] },
            { question: 'Extra?', options: ['a', 'b'], extra: true }
        ]) {
            assert.strictEqual((await rejection(atHost.start(invalid))).code, 'invalid-params', JSON.stringify(invalid));
            // From a guest, the host's side validates before its handler runs.
            assert.strictEqual((await rejection(alice.sendRequest(PollMessages.StartPoll, invalid))).code, 'invalid-params', JSON.stringify(invalid));
        }
        assert.strictEqual(atHost.view, undefined, 'no poll was started');

        assert.strictEqual((await rejection(atAlice.start(lunch))).code, 'forbidden', 'only the host starts polls');
        const started = await atHost.start(lunch);
        for (const params of [
            { pollId: started.id, option: 6 },
            { pollId: started.id, option: -1 },
            { pollId: started.id, option: 0.5 },
            { pollId: started.id },
            { pollId: 42, option: 0 }
        ]) {
            assert.strictEqual((await rejection(alice.sendRequest(PollMessages.CastVote, params as never))).code, 'invalid-params', JSON.stringify(params));
        }
        // Valid by the schema but not for this poll (three options) or for an old poll.
        assert.strictEqual((await rejection(alice.sendRequest(PollMessages.CastVote, { pollId: started.id, option: 4 }))).code, 'invalid-params');
        assert.strictEqual((await rejection(alice.sendRequest(PollMessages.CastVote, { pollId: 'poll-0', option: 0 }))).code, 'not-found');
        await until(() => atAlice.view?.poll.id === started.id, 'the guest sees the poll');
        assert.deepStrictEqual(countsOf(atHost), [0, 0, 0]);
    });

    it('guests ignore a poll broadcast by anyone but the host', async () => {
        const { host, guests: [alice, mallory] } = await fixture.room(2);
        const [atHost, atAlice] = [poll(host), poll(alice)];
        const started = await atHost.start(lunch);
        await until(() => atAlice.view?.poll.id === started.id, 'the guest sees the poll');

        const forged: PollState = { ...started, revision: started.revision + 10, counts: [99, 0, 0] };
        await mallory.sendBroadcast(PollMessages.PollChanged, forged);
        await delay(300);
        // Had the forgery been taken, its higher revision would hide the host's next change.
        await atHost.vote(2);
        await until(() => JSON.stringify(countsOf(atAlice)) === '[0,0,1]', `the guest sees the host's vote (has ${JSON.stringify(countsOf(atAlice))})`);
    });
});
