/**
 * Short outages lose nothing: a member whose connection drops resumes and opens, in order, everything
 * relayed to it meanwhile (broadcasts and messages targeted at it), end to end encrypted, before live
 * traffic; longer outages than the server's window are reported as missed messages.
 */
import * as assert from 'node:assert/strict';
import { Broadcast, Notification } from '@theia-collab/protocol/lib/messages';
import type { CollaborationSession } from '@theia-collab/protocol/lib/session';
import type { ServerOptions } from '../config';
import { keepOffline } from './reliability-fixture';
import { delay, next, SessionFixture, until } from './session-fixture';

const Said = Broadcast.define<{ n: number }>('replay/said');
const Direct = Notification.define<{ n: number }>('replay/direct');

describe('replay of what a reconnecting member missed', function () {
    this.timeout(60_000);
    let fixture: SessionFixture;

    afterEach(async () => {
        await fixture?.close();
    });

    async function room(options: Partial<ServerOptions> = {}) {
        fixture = await SessionFixture.start(options);
        const hostClient = await fixture.connect('Host');
        const host = await hostClient.createSession();
        host.onJoinRequest(request => request.admit('readwrite'));
        const awayClient = await fixture.connect('Away');
        const away = await awayClient.joinSession(host.invite!.code);
        const other = await (await fixture.connect('Other')).joinSession(host.invite!.code);
        await until(() => [host, away, other].every(session => session.peers.length === 3), 'everyone sees everyone');
        return { host, away, awayClient, other };
    }

    /** Everyone but `away` sends steadily while `away` is cut off for `offlineMs`. */
    async function talkWhileAway(sessions: CollaborationSession[], away: CollaborationSession, awayClient: Parameters<typeof keepOffline>[0], offlineMs: number) {
        const sent: string[] = [];
        const dropped = next(away.onDidChangeConnection, state => state === 'reconnecting');
        const offline = keepOffline(awayClient, offlineMs);
        await dropped;
        for (let n = 0; n < 40; n++) {
            for (const [index, session] of sessions.entries()) {
                await session.sendBroadcast(Said, { n: index * 1000 + n });
                sent.push(`b${index * 1000 + n}`);
            }
            await delay(offlineMs / 60);
        }
        await offline;
        return sent;
    }

    it('a member cut off for a few seconds gets every broadcast sent meanwhile, in order, and nothing twice', async () => {
        const { host, away, awayClient, other } = await room();
        const received: string[] = [];
        away.onBroadcast(Said, ({ n }) => received.push(`b${n}`));
        let missed = 0;
        away.onMissedMessages(() => missed++);
        const sent = await talkWhileAway([host, other], away, awayClient, 2000);
        await next(away.onDidChangeConnection, state => state === 'connected', 15_000);
        // Live traffic after the resume arrives behind what was replayed.
        await host.sendBroadcast(Said, { n: 99_999 });
        await until(() => received.includes('b99999'), 'the live message arrives');
        assert.deepEqual(received, [...sent, 'b99999'].filter(item => received.includes(item)), 'in order');
        assert.deepEqual(new Set(received), new Set([...sent, 'b99999']), 'every message, once');
        assert.equal(received.length, sent.length + 1);
        // Each sender's messages in its own order.
        for (const prefix of [0, 1]) {
            const own = received.filter(item => Math.floor(Number(item.slice(1)) / 1000) === prefix && item !== 'b99999');
            assert.deepEqual(own, [...own].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1))));
        }
        assert.equal(missed, 0);
        assert.deepEqual(fixture.logger.records.filter(record => record.level !== 'info' && /rejected a message/.test(record.text)), []);
    });

    it('messages targeted at the member before the server noticed the drop are replayed too', async () => {
        const { host, away, awayClient } = await room();
        const received: number[] = [];
        away.onNotification(Direct, ({ n }) => received.push(n));
        // Dropped on the client side only: the server keeps delivering into the dead connection for a moment.
        const offline = keepOffline(awayClient, 1500);
        for (let n = 0; n < 5; n++) {
            await host.sendNotification(Direct, { n }, { target: away.self.id }).catch(() => undefined);
        }
        await offline;
        await next(away.onDidChangeConnection, state => state === 'connected', 15_000);
        await host.sendNotification(Direct, { n: 5 }, { target: away.self.id });
        await until(() => received.includes(5), 'the live notification arrives');
        // Those the server accepted before it saw the drop come back in the replay; the others were refused to the host.
        assert.deepEqual(received, [...received].sort((a, b) => a - b));
        assert.equal(new Set(received).size, received.length);
    });

    it('an outage longer than the server\'s window is reported as missed messages', async () => {
        const { host, away, awayClient, other } = await room({ replayWindowMs: 300 });
        const received: string[] = [];
        away.onBroadcast(Said, ({ n }) => received.push(`b${n}`));
        const missed = next(away.onMissedMessages, () => true, 20_000);
        const sent = await talkWhileAway([host, other], away, awayClient, 2500);
        await missed;
        assert.ok(received.length < sent.length, 'messages older than the window are gone');
    });
});
