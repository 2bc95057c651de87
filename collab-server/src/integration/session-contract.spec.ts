/**
 * The contract extension authors program against, against a real server: permissions declared on
 * definitions, cancellation, asking what a peer handles, held delivery, target options, reserved names,
 * and requests that fail at once when their target goes.
 */
import * as assert from 'node:assert/strict';
import { Broadcast, Notification, Request } from '@theia-collab/protocol/lib/messages';
import type { CollaborationSession } from '@theia-collab/protocol/lib/session';
import { collector, delay, next, rejection, SessionFixture, until } from './session-fixture';

const Write = Request.define<{ text: string }, number>('contract/write', { requires: 'readwrite' });
const Said = Broadcast.define<{ text: string }>('contract/said', { requires: 'readwrite' });
const Slow = Request.define<{}, string>('contract/slow');
const Ping = Notification.define<{ n: number }>('contract/ping');
const Hello = Broadcast.define<{ n: number }>('contract/hello');

describe('the session contract for extension authors', function () {
    this.timeout(60_000);
    let fixture: SessionFixture;

    beforeEach(async () => {
        fixture = await SessionFixture.start();
    });

    afterEach(async () => {
        await fixture?.close();
    });

    async function hostWith(...permissions: ('readonly' | 'readwrite')[]): Promise<{ host: CollaborationSession; guests: CollaborationSession[] }> {
        const host = await (await fixture.connect('Host')).createSession();
        const queue = [...permissions];
        host.onJoinRequest(request => request.admit(queue.shift()!));
        const guests: CollaborationSession[] = [];
        for (let i = 0; i < permissions.length; i++) {
            guests.push(await (await fixture.connect(`Guest ${i + 1}`)).joinSession(host.invite!.code));
        }
        await until(() => [host, ...guests].every(session => session.peers.length === permissions.length + 1), 'everyone sees everyone');
        return { host, guests };
    }

    it('a definition that requires read-write is refused for a read-only sender before its handler runs', async () => {
        const { host, guests: [reader, writer] } = await hostWith('readonly', 'readwrite');
        const written: string[] = [];
        host.onRequest(Write, ({ text }) => written.push(text));
        const said = collector<string>();
        writer.onBroadcast(Said, ({ text }) => said.push(text));
        const error = await rejection(reader.sendRequest(Write, { text: 'by the reader' }));
        assert.equal(error.code, 'forbidden');
        assert.match(error.message, /read-write/);
        await reader.sendBroadcast(Said, { text: 'by the reader' });
        assert.equal(await writer.sendRequest(Write, { text: 'by the writer' }), 1);
        await host.sendBroadcast(Said, { text: 'by the host' });
        await until(() => said.items.length === 1, 'the host\'s broadcast arrives');
        await delay(100);
        assert.deepEqual(written, ['by the writer']);
        assert.deepEqual(said.items, ['by the host']);
    });

    it('cancelling a request rejects it at once and aborts the handler\'s signal on the other side', async () => {
        const { host, guests: [guest] } = await hostWith('readwrite');
        let aborted = false;
        let started = false;
        host.onRequest(Slow, (_params, _sender, { signal }) => new Promise<string>(resolve => {
            started = true;
            signal.addEventListener('abort', () => {
                aborted = true;
                resolve('stopped');
            });
        }));
        const controller = new AbortController();
        const pending = guest.sendRequest(Slow, {}, { signal: controller.signal });
        await until(() => started, 'the handler runs');
        controller.abort();
        assert.equal((await rejection(pending)).code, 'cancelled');
        await until(() => aborted, 'the host\'s handler sees the cancellation');
        assert.equal((await rejection(guest.sendRequest(Slow, {}, { signal: controller.signal }))).code, 'cancelled', 'an aborted signal sends nothing');
    });

    it('isAvailable says whether a peer handles a definition', async () => {
        const { host, guests: [guest] } = await hostWith('readonly');
        assert.equal(await guest.isAvailable(Slow), false);
        const handler = host.onRequest(Slow, () => 'here');
        assert.equal(await guest.isAvailable(Slow), true);
        assert.equal(await guest.isAvailable(Ping), false);
        handler.dispose();
        assert.equal(await guest.isAvailable(Slow), false);
        host.onBroadcast(Hello, () => undefined);
        assert.equal(await guest.isAvailable(Hello, host.self.id), true);
    });

    it('with holdDelivery, messages sent before the handlers are registered wait for startDelivery', async () => {
        const host = await (await fixture.connect('Host')).createSession();
        host.onJoinRequest(request => request.admit('readwrite'));
        // The host greets every guest the moment it joins.
        host.onPeerJoined(peer => {
            host.sendNotification(Ping, { n: 1 }, { target: peer.id }).catch(() => undefined);
            host.sendBroadcast(Hello, { n: 2 }).catch(() => undefined);
        });
        const held = await (await fixture.connect('Held')).joinSession(host.invite!.code, { holdDelivery: true });
        await delay(300);
        const pings = collector<number>();
        held.onNotification(Ping, ({ n }) => pings.push(n));
        held.onBroadcast(Hello, ({ n }) => pings.push(n));
        assert.deepEqual(pings.items, []);
        held.startDelivery();
        assert.deepEqual(pings.items, [1, 2]);
        held.startDelivery();
        // Control: without holding, the same greeting arrives before anyone listens and is lost.
        const eager = await (await fixture.connect('Eager')).joinSession(host.invite!.code);
        await delay(300);
        const late = collector<number>();
        eager.onNotification(Ping, ({ n }) => late.push(n));
        await delay(100);
        assert.deepEqual(late.items, []);
    });

    it('notifications take a target option, and the session\'s own method names are reserved', async () => {
        const { host, guests: [first, second] } = await hostWith('readwrite', 'readwrite');
        const atSecond = collector<number>();
        second.onNotification(Ping, ({ n }) => atSecond.push(n));
        const atFirst = collector<number>();
        first.onNotification(Ping, ({ n }) => atFirst.push(n));
        await host.sendNotification(Ping, { n: 7 }, { target: second.self.id });
        await host.sendNotification(Ping, { n: 8 }, first.self.id);
        await until(() => atSecond.items.length === 1 && atFirst.items.length === 1, 'both arrive');
        assert.deepEqual([atFirst.items, atSecond.items], [[8], [7]]);
        assert.throws(() => host.onBroadcast(Broadcast.define('session/roster'), () => undefined), /reserved/);
        assert.throws(() => host.onRequest(Request.define('session/methods'), () => undefined), /reserved/);
    });

    it('requests to a peer that leaves fail at once with disconnected', async () => {
        const { host, guests: [guest, other] } = await hostWith('readwrite', 'readwrite');
        guest.onRequest(Slow, () => new Promise<string>(() => undefined));
        const pending = host.sendRequest(Slow, {}, { target: guest.self.id, timeout: 30_000 });
        const fromOther = other.sendRequest(Slow, {}, { target: guest.self.id, timeout: 30_000 });
        await delay(200);
        const started = Date.now();
        const left = next(host.onPeerLeft);
        await guest.leave();
        await left;
        const [hostError, otherError] = await Promise.all([rejection(pending), rejection(fromOther)]);
        assert.equal(hostError.code, 'disconnected');
        assert.equal(otherError.code, 'disconnected');
        assert.ok(Date.now() - started < 5000, 'long before the 30 s timeout');
    });

    it('a room of 12: removing a guest rotates the key for the 11 others (a rekey of many keys is not a parse error)', async () => {
        const permissions = Array.from({ length: 12 }, () => 'readwrite' as const);
        const { host, guests } = await hostWith(...permissions);
        const [removed, ...staying] = guests;
        await host.removePeer(removed.self.id);
        const heard = collector<string>();
        staying.forEach(guest => guest.onBroadcast(Hello, (_params, sender) => heard.push(`${guest.self.name}<-${sender.name}`)));
        await host.sendBroadcast(Hello, { n: 1 });
        await until(() => heard.items.length === 11, 'every staying guest hears the host under the new key');
        assert.equal(host.connectionState, 'connected');
        assert.equal(host.closed, false);
    });
});
