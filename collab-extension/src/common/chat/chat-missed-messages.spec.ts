/**
 * Chat after a guest lost messages for good (a server without a replay window, a real outage): the guest
 * fetches the history again and ends up with every message once, in order.
 */
import * as assert from 'assert';
import { ChatChannel } from './chat-channel';
import { ChatMessage } from './chat-protocol';
import { until, useMissedMessagesFixture } from './missed-messages-fixture';

describe('chat after missed messages', function () {
    this.timeout(60_000);
    const fixture = useMissedMessagesFixture();

    it('gives a guest that was away every message once, in order, and announces only those it missed', async () => {
        const host = await fixture.host();
        const hostChat = fixture.track(new ChatChannel(host.session));
        const away = await fixture.join(host.session, 'Away Ana');
        const stay = await fixture.join(host.session, 'Staying Sam');
        const awayChat = fixture.track(new ChatChannel(away.session));
        const stayChat = fixture.track(new ChatChannel(stay.session));
        await awayChat.start();
        await stayChat.start();
        const received: ChatMessage[] = [];
        awayChat.onDidReceive(message => received.push(message));

        await hostChat.send('before the outage');
        await awayChat.send('Ana says hi');
        await until(() => stayChat.messages.length === 2, 'both messages arrive');
        received.splice(0);

        await fixture.offline(away, async () => {
            await hostChat.send('while Ana is away 1');
            await stayChat.send('while Ana is away 2');
            await hostChat.send('while Ana is away 3');
            await until(() => stayChat.messages.length === 5, 'the others have them');
        });
        await until(() => awayChat.messages.length === 5, 'the guest that was away catches up');
        assert.deepStrictEqual(awayChat.messages, hostChat.messages, 'exactly the host\'s history');
        assert.deepStrictEqual(awayChat.messages.map(message => message.id), [1, 2, 3, 4, 5]);
        assert.deepStrictEqual(received.map(message => message.text), ['while Ana is away 1', 'while Ana is away 2', 'while Ana is away 3'],
            'only the missed messages are new');

        // Live messages keep coming, once each.
        await hostChat.send('after the outage');
        await until(() => awayChat.messages.length === 6, 'live messages arrive again');
        assert.deepStrictEqual(awayChat.messages, hostChat.messages);
        assert.strictEqual(received.length, 4);

        // A second outage with nothing missed changes nothing.
        await fixture.offline(away, async () => undefined);
        await hostChat.send('last');
        await until(() => awayChat.messages.length === 7, 'the last message arrives');
        assert.deepStrictEqual(awayChat.messages, hostChat.messages);
        assert.deepStrictEqual(stayChat.messages, hostChat.messages);
        assert.strictEqual(received.length, 5);
    });
});
