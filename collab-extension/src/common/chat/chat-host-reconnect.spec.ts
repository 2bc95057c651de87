/**
 * A host whose own connection drops keeps what it says: chat messages it posts (its own, or a guest's that
 * reached it just before the drop) are broadcast again once it is back, and every guest shows each once.
 */
import * as assert from 'assert';
import { ChatChannel } from './chat-channel';
import { until, useMissedMessagesFixture } from './missed-messages-fixture';

describe('chat when the host\'s connection drops', function () {
    this.timeout(60_000);
    const fixture = useMissedMessagesFixture();

    it('messages the host posted while its connection was down reach every guest once it is back, once each, in order', async () => {
        const host = await fixture.host();
        const hostChat = fixture.track(new ChatChannel(host.session));
        const guest = await fixture.join(host.session, 'Guest Gil');
        const guestChat = fixture.track(new ChatChannel(guest.session));
        await guestChat.start();
        await hostChat.send('before');
        await until(() => guestChat.messages.length === 1, 'the first message arrives');

        await fixture.offline(host, async () => {
            await hostChat.send('said while the host was away 1');
            await hostChat.send('said while the host was away 2');
        });
        await hostChat.send('after');
        await until(() => guestChat.messages.length === 4, 'the guest has every message');
        assert.deepStrictEqual(guestChat.messages.map(message => message.text),
            ['before', 'said while the host was away 1', 'said while the host was away 2', 'after']);
        assert.deepStrictEqual(guestChat.messages, hostChat.messages);
    });
});
