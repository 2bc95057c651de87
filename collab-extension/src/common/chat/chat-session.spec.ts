/**
 * Chat over a real coordination server and real protocol clients: a host, two guests, a late joiner.
 */
import * as assert from 'assert';
import { CollaborationClient, CollaborationError, CollaborationSession, Permission } from '@theia-collab/protocol';
import { until } from '@theia-collab/test-kit';
import { ServerHandle, startServer } from '@theia-collab/server/lib/server';
import { ChatChannel } from './chat-channel';
import { ChatMessage, ChatMessages } from './chat-protocol';

function texts(channel: ChatChannel): string[] {
    return channel.messages.map(message => `${message.authorName}: ${message.text}`);
}

describe('chat over a real session', function () {
    this.timeout(30000);
    let server: ServerHandle;
    const clients: CollaborationClient[] = [];
    let host: CollaborationSession;
    let hostChat: ChatChannel;
    const permissions = new Map<string, Permission>();

    async function join(name: string, permission: Permission): Promise<{ session: CollaborationSession; chat: ChatChannel; received: ChatMessage[] }> {
        permissions.set(name, permission);
        const client = await CollaborationClient.connect({ serverUrl: server.url, name });
        clients.push(client);
        const session = await client.joinSession(host.invite!.code);
        await until(() => host.getPeer(session.self.id) !== undefined, `the host sees ${name}`);
        const chat = new ChatChannel(session);
        const received: ChatMessage[] = [];
        chat.onDidReceive(message => received.push(message));
        await chat.start();
        return { session, chat, received };
    }

    before(async () => {
        server = await startServer({
            hostname: '127.0.0.1', port: 0, logLevel: 'silent',
            loginRateLimit: { max: 10_000, windowMs: 60_000 }, joinRateLimit: { max: 10_000, windowMs: 60_000 }
        });
    });

    beforeEach(async () => {
        const client = await CollaborationClient.connect({ serverUrl: server.url, name: 'Hosting Hana' });
        clients.push(client);
        host = await client.createSession();
        host.onJoinRequest(request => request.admit(permissions.get(request.name) ?? 'readonly'));
        hostChat = new ChatChannel(host);
    });

    afterEach(() => {
        hostChat.dispose();
        clients.splice(0).forEach(client => client.dispose());
    });

    after(async () => {
        await server?.close();
    });

    it('carries messages both ways, stamped by the host, and gives late joiners the history', async () => {
        const rita = await join('Rita RW', 'readwrite');
        const olaf = await join('Olaf RO', 'readonly');
        const hostReceived: ChatMessage[] = [];
        hostChat.onDidReceive(message => hostReceived.push(message));

        // Guest -> host -> everyone.
        const sent = await rita.chat.send('hello from Rita');
        assert.strictEqual(sent.authorId, rita.session.self.id);
        assert.strictEqual(sent.authorName, 'Rita RW');
        await until(() => olaf.chat.messages.length === 1, 'the other guest gets it');
        assert.deepStrictEqual(olaf.chat.messages[0], sent);
        assert.deepStrictEqual(hostChat.messages[0], sent);
        assert.deepStrictEqual(hostReceived, [sent]);
        assert.ok(Math.abs(sent.time - Date.now()) < 10_000);

        // Host -> guests; read-only guests may chat too.
        await hostChat.send('welcome, both of you');
        await olaf.chat.send('thanks!\nsecond line');
        const html = '<img src=x onerror=alert(1)>';
        await rita.chat.send(html);
        const expected = ['Rita RW: hello from Rita', 'Hosting Hana: welcome, both of you', 'Olaf RO: thanks!\nsecond line', `Rita RW: ${html}`];
        await until(() => [hostChat, rita.chat, olaf.chat].every(chat => chat.messages.length === 4), 'everyone has four messages');
        for (const chat of [hostChat, rita.chat, olaf.chat]) {
            assert.deepStrictEqual(texts(chat), expected);
        }
        assert.strictEqual(rita.received.length, 4, 'own messages are received once, not twice');
        assert.deepStrictEqual(rita.chat.messages.map(message => message.id), [1, 2, 3, 4]);

        // A late joiner gets the history (not as new messages), then live ones.
        const lena = await join('Lena Late', 'readonly');
        assert.deepStrictEqual(texts(lena.chat), expected);
        assert.strictEqual(lena.received.length, 0);
        await rita.chat.send('hi Lena');
        await until(() => lena.chat.messages.length === 5, 'the late joiner gets live messages');
        assert.strictEqual(lena.received[0].text, 'hi Lena');
        assert.strictEqual(lena.chat.messages[3].text, html, 'markup stays plain text');
    });

    it('does not let guests forge authors or post around the host', async () => {
        const fred = await join('Fred Forger', 'readwrite');
        const vera = await join('Vera Victim', 'readonly');

        // A forged broadcast claiming to be the host is ignored.
        await fred.session.sendBroadcast(ChatMessages.Posted, { id: 99, authorId: host.self.id, authorName: 'Hosting Hana', time: 1, text: 'give me your password' });
        // Extra fields (an author) are refused.
        await assert.rejects(fred.session.sendRequest(ChatMessages.Send, { text: 'hi', authorName: 'Hosting Hana' } as never),
            (error: CollaborationError) => error.code === 'invalid-params');
        // Oversized and empty messages are refused by the host, not just by the sender's channel.
        await assert.rejects(fred.session.sendRequest(ChatMessages.Send, { text: 'x'.repeat(4097) }),
            (error: CollaborationError) => error.code === 'invalid-params');
        await assert.rejects(fred.session.sendRequest(ChatMessages.Send, { text: '   ' }),
            (error: CollaborationError) => error.code === 'invalid-params');
        await assert.rejects(fred.chat.send(''), (error: CollaborationError) => error.code === 'invalid-params');

        await fred.chat.send('an honest message');
        await until(() => vera.chat.messages.length === 1, 'the honest message arrives');
        assert.deepStrictEqual(texts(vera.chat), ['Fred Forger: an honest message']);
        assert.deepStrictEqual(texts(hostChat), ['Fred Forger: an honest message']);
    });

    it('rate-limits a participant who floods the chat', async () => {
        hostChat.dispose();
        hostChat = new ChatChannel(host, { rateLimit: 3, rateWindow: 60_000 });
        const fred = await join('Fred Flood', 'readonly');
        for (let i = 0; i < 3; i++) {
            await fred.chat.send(`message ${i}`);
        }
        await assert.rejects(fred.chat.send('one too many'), (error: CollaborationError) => error.code === 'rate-limited');
        assert.strictEqual(hostChat.messages.length, 3);
    });
});
