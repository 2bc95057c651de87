/**
 * Dropped connections, through a real server and real protocol clients: guests and hosts reconnect and
 * resume the same peer (keys, sequence numbers), grace periods keep their places, and what was typed
 * meanwhile (Yjs documents synchronised over the session API) is never lost.
 */
import * as assert from 'assert';
import { z } from 'zod';
import type { CollaborationClient } from '@theia-collab/protocol/lib/client';
import { Notification, Request } from '@theia-collab/protocol/lib/messages';
import type { CollaborationSession, PeerLeft, SessionClosed } from '@theia-collab/protocol/lib/session';
import type { ServerOptions } from '../config';
import {
    connectClient, connectionLog, cutClientSide, cutServerSide, freshChars, GuestDoc, HostDoc, keepOffline, prng, socketOf
} from './reliability-fixture';
import { delay, next, rejection, SessionFixture, until } from './session-fixture';

const Ping = Notification.define<{ n: number }>('test/ping', { params: z.object({ n: z.number() }) });
const Slow = Request.define<{ ms: number }, string>('test/slow', { params: z.object({ ms: z.number().int().max(10_000) }), result: z.string() });

describe('reconnecting', function () {
    this.timeout(60_000);
    let fixture: SessionFixture | undefined;
    const toDispose: { dispose(): void }[] = [];

    afterEach(async function () {
        if (this.currentTest?.state === 'failed' && fixture) {
            console.log(fixture.logger.records.slice(-30).map(record => `      ${record.level}: ${record.text}`).join('\n'));
        }
        toDispose.splice(0).forEach(d => d.dispose());
        await fixture?.close();
        fixture = undefined;
    });

    async function start(options: Partial<ServerOptions> = {}): Promise<SessionFixture> {
        fixture = await SessionFixture.start({ socketEventRateLimit: { max: 100_000, windowMs: 1000 }, ...options });
        return fixture;
    }

    /** A host and guests, each with its own client (reconnection settings from `clientOptions`). */
    async function room(guestCount: number, clientOptions: Parameters<typeof connectClient>[3] = {}): Promise<{
        hostClient: CollaborationClient; host: CollaborationSession; guestClients: CollaborationClient[]; guests: CollaborationSession[];
    }> {
        const f = fixture!;
        const hostClient = await connectClient(f.server.url, 'Host', f.logger, clientOptions);
        f.clients.push(hostClient);
        const host = await hostClient.createSession();
        const admitting = host.onJoinRequest(request => request.admit('readwrite').catch(() => undefined));
        const guestClients: CollaborationClient[] = [];
        const guests: CollaborationSession[] = [];
        for (let i = 0; i < guestCount; i++) {
            const client = await connectClient(f.server.url, `Guest ${i + 1}`, f.logger, clientOptions);
            f.clients.push(client);
            guestClients.push(client);
            guests.push(await client.joinSession(host.invite!.code));
        }
        admitting.dispose();
        await until(() => [host, ...guests].every(session => session.peers.length === guestCount + 1), 'everyone sees everyone');
        return { hostClient, host, guestClients, guests };
    }

    /** Types into every doc, a character every few ms each, for `ms`; `during` runs meanwhile. */
    async function typeWhile(docs: (HostDoc | GuestDoc)[], ms: number, seed: number, during: () => Promise<void>): Promise<void> {
        const random = prng(seed);
        const fresh = freshChars();
        let typing = true;
        const typists = docs.map(async doc => {
            while (typing) {
                doc.type(random, fresh);
                await delay(2 + Math.floor(random() * 6));
            }
        });
        const stop = delay(ms).then(() => { typing = false; });
        await during();
        await stop;
        await Promise.all(typists);
    }

    function assertConverged(docs: (HostDoc | GuestDoc)[]): void {
        const value = docs[0].value;
        const inserted = new Set<string>();
        const deleted = new Set<string>();
        for (const doc of docs) {
            assert.strictEqual(doc.value, value, 'every document has the same text');
            doc.inserted.forEach(char => inserted.add(char));
            doc.deleted.forEach(char => deleted.add(char));
        }
        const expected = [...inserted].filter(char => !deleted.has(char)).sort();
        assert.deepStrictEqual([...value].sort(), expected, 'exactly the characters typed and not deleted survive');
        assert.ok(expected.length > 20, `something was typed (${expected.length} characters)`);
    }

    it('a guest whose connection drops mid-typing resumes as the same peer; both documents end identical', async () => {
        const f = await start({ guestGraceMs: 30_000 });
        const { host, guests: [guest], guestClients: [guestClient] } = await room(1);
        const hostDoc = new HostDoc(host);
        const guestDoc = new GuestDoc(guest);
        toDispose.push(hostDoc, guestDoc);
        await guestDoc.sync();
        const log = connectionLog(guest);
        toDispose.push(log);
        const left: PeerLeft[] = [];
        host.onPeerLeft(event => left.push(event));
        const guestId = guest.self.id;
        const socketIds: string[] = [socketOf(guestClient).id!];

        await typeWhile([hostDoc, guestDoc], 2500, 1234, async () => {
            await delay(400);
            cutClientSide(guestClient);
            await next(guest.onDidChangeConnection, state => state === 'connected', 10_000);
            socketIds.push(socketOf(guestClient).id!);
            await delay(400);
            // The same again, the server closing the transport this time.
            cutServerSide(f.server, guestId);
            await next(guest.onDidChangeConnection, state => state === 'connected', 10_000);
            socketIds.push(socketOf(guestClient).id!);
        });
        await until(() => hostDoc.value === guestDoc.value, 'the documents converge', 10_000);
        assertConverged([hostDoc, guestDoc]);

        assert.deepStrictEqual(log.own, ['reconnecting', 'connected', 'reconnecting', 'connected']);
        assert.strictEqual(new Set(socketIds).size, 3, 'three connections');
        assert.strictEqual(guest.self.id, guestId, 'the same peer');
        assert.strictEqual(guest.closed, false);
        assert.deepStrictEqual(left, [], 'the host never saw the guest leave');
        assert.ok(guestDoc.syncs >= 3, 'the guest re-synchronised after each reconnect');
        // Sequence numbers went on: nothing was refused as a replay, on either side.
        assert.deepStrictEqual(f.logger.records.filter(record => /Replayed|rejected a message/.test(record.text)), []);
    });

    it('fails requests in flight and sends while reconnecting with "disconnected"; messages flow again afterwards', async () => {
        await start();
        const { host, guests: [guest], guestClients: [guestClient] } = await room(1);
        host.onRequest(Slow, async ({ ms }) => {
            await delay(ms);
            return 'done';
        });
        const inFlight = guest.sendRequest(Slow, { ms: 1500 });
        await delay(100);
        const offline = keepOffline(guestClient, 800);
        await until(() => guest.connectionState === 'reconnecting', 'the guest is reconnecting');
        assert.strictEqual((await rejection(inFlight)).code, 'disconnected');
        assert.strictEqual((await rejection(guest.sendRequest(Slow, { ms: 1 }))).code, 'disconnected');
        assert.strictEqual((await rejection(guest.sendNotification(Ping, { n: 1 }))).code, 'disconnected');
        await offline;
        await next(guest.onDidChangeConnection, state => state === 'connected', 10_000);
        assert.strictEqual(await guest.sendRequest(Slow, { ms: 1 }), 'done');
        const received: number[] = [];
        host.onNotification(Ping, ({ n }) => received.push(n));
        await guest.sendNotification(Ping, { n: 2 });
        await until(() => received.length === 1, 'the notification arrives');
        assert.deepStrictEqual(received, [2]);
        assert.strictEqual(guest.closed, false);
    });

    it('tells the others a peer is reconnecting; a request to it fails with "disconnected" at once', async () => {
        await start();
        const { host, guests: [guest], guestClients: [guestClient] } = await room(1);
        guest.onRequest(Slow, () => 'guest');
        const offline = keepOffline(guestClient, 1000);
        await until(() => guest.connectionState === 'reconnecting', 'the guest is reconnecting');
        // The server noticed when the transport closed: the relay refuses requests to the guest.
        await delay(100);
        const started = Date.now();
        const error = await rejection(host.sendRequest(Slow, { ms: 1 }, { target: guest.self.id, timeout: 20_000 }));
        assert.strictEqual(error.code, 'disconnected');
        assert.ok(Date.now() - started < 5000, 'failed at once, not after the 20 s timeout');
        await offline;
        await next(guest.onDidChangeConnection, state => state === 'connected', 10_000);
        // Back: requests reach it again.
        assert.strictEqual(await host.sendRequest(Slow, { ms: 1 }, { target: guest.self.id }), 'guest');
    });

    it('a guest that missed a key rotation while away gets the current key when it is back', async () => {
        await start({ guestGraceMs: 30_000 });
        const { host, guests: [away, leaving], guestClients: [awayClient] } = await room(2);
        const received: number[] = [];
        away.onNotification(Ping, ({ n }) => received.push(n));
        const offline = keepOffline(awayClient, 1200);
        await until(() => away.connectionState === 'reconnecting', 'the guest is away');
        const keyBefore = (host as unknown as { keys: { currentKeyId: number } }).keys.currentKeyId;
        await leaving.leave();
        // The host rotates the room key when a guest leaves; the guest that is away cannot get it now.
        await until(() => (host as unknown as { keys: { currentKeyId: number } }).keys.currentKeyId > keyBefore, 'the key rotated', 10_000);
        await offline;
        await next(away.onDidChangeConnection, state => state === 'connected', 10_000);
        await until(() => (away as unknown as { keys: { currentKeyId: number } }).keys.currentKeyId > keyBefore, 'the guest has the new key', 10_000);
        await host.sendNotification(Ping, { n: 7 }, away.self.id);
        await until(() => received.length === 1, 'a message sealed with the new key is opened');
        assert.deepStrictEqual(received, [7]);
        assert.deepStrictEqual(fixture!.logger.records.filter(record => /decrypt-failed/.test(record.text)), []);
    });

    it('keeps the room while the host reconnects within its grace period; guest edits made meanwhile arrive', async () => {
        await start({ hostGraceMs: 10_000 });
        const { host, hostClient, guests, guestClients } = await room(2);
        const hostDoc = new HostDoc(host);
        const guestDocs = guests.map(guest => new GuestDoc(guest));
        toDispose.push(hostDoc, ...guestDocs);
        await Promise.all(guestDocs.map(doc => doc.sync()));
        const logs = guests.map(connectionLog);
        toDispose.push(...logs);
        const closed: SessionClosed[] = [];
        guests.forEach(guest => guest.onClose(event => closed.push(event)));

        await typeWhile([hostDoc, ...guestDocs], 3000, 99, async () => {
            await delay(300);
            const offline = keepOffline(hostClient, 1200);
            await until(() => guests.every(guest => guest.hostConnectionState === 'reconnecting'), 'the guests see the host reconnecting');
            assert.strictEqual(host.connectionState, 'reconnecting');
            await offline;
            await next(host.onDidChangeConnection, state => state === 'connected', 10_000);
            await until(() => guests.every(guest => guest.hostConnectionState === 'connected'), 'the guests see the host back');
        });
        await until(() => [hostDoc, ...guestDocs].every(doc => doc.value === hostDoc.value), 'the documents converge', 10_000);
        assertConverged([hostDoc, ...guestDocs]);
        for (const log of logs) {
            assert.deepStrictEqual(log.host, ['reconnecting', 'connected']);
            assert.deepStrictEqual(log.own, [], 'the guests stayed connected');
        }
        assert.deepStrictEqual(closed, []);
        assert.strictEqual(host.peers.length, 3);
        // Connected guests kept their socket: only the host reconnected.
        assert.ok(guestClients.every(client => client.connected));
    });

    it('closes the room with "host-left" when the host does not come back within its grace period', async () => {
        await start({ hostGraceMs: 500 });
        const { host, hostClient, guests } = await room(2);
        const closedGuests = guests.map(guest => next(guest.onClose, () => true, 10_000));
        const hostClosed = next(host.onClose, () => true, 15_000);
        const offline = keepOffline(hostClient, 3000);
        for (const event of await Promise.all(closedGuests)) {
            assert.strictEqual(event.reason, 'host-left');
            assert.match(event.message, /host lost the connection/i);
        }
        await offline;
        // The host comes back too late and learns the session is over.
        const event = await hostClosed;
        assert.strictEqual(event.reason, 'host-left');
        assert.strictEqual(host.closed, true);
    });

    it('removes a guest that does not come back within its grace period', async () => {
        await start({ guestGraceMs: 400 });
        const { host, guests: [guest, other], guestClients: [guestClient] } = await room(2);
        const left = next(host.onPeerLeft, () => true, 10_000);
        const otherSaw = next(other.onPeerLeft, () => true, 10_000);
        const guestClosed = next(guest.onClose, () => true, 15_000);
        const guestId = guest.self.id;
        const offline = keepOffline(guestClient, 3000);
        const event = await left;
        assert.deepStrictEqual([event.peer.id, event.reason], [guestId, 'disconnected']);
        assert.strictEqual((await otherSaw).peer.id, guestId);
        await offline;
        const closed = await guestClosed;
        assert.strictEqual(closed.reason, 'removed');
        assert.strictEqual(host.peers.length, 2);
        assert.strictEqual(other.closed, false);
    });

    it('gives up after its reconnect timeout: the session closes with a message', async () => {
        const f = await start({ guestGraceMs: 30_000 });
        const hostClient = await connectClient(f.server.url, 'Host', f.logger);
        f.clients.push(hostClient);
        const host = await hostClient.createSession();
        host.onJoinRequest(request => request.admit('readwrite'));
        const guestClient = await connectClient(f.server.url, 'Guest', f.logger, { reconnectTimeoutMs: 700 });
        f.clients.push(guestClient);
        const guest = await guestClient.joinSession(host.invite!.code);
        const closed = next(guest.onClose, () => true, 5000);
        const offline = keepOffline(guestClient, 2000);
        const event = await closed;
        assert.strictEqual(event.reason, 'disconnected');
        assert.match(event.message, /could not reconnect within 1 s/);
        await offline;
        await delay(300);
        assert.strictEqual(guestClient.connected, false, 'stopped trying');
    });

    it('resumes with the room token alone once the login token expired, and logs in again without a session', async () => {
        const f = await start({ tokenTtlMs: 1500, guestGraceMs: 30_000 });
        const { host, guests: [guest], guestClients: [guestClient] } = await room(1);
        const idle = await connectClient(f.server.url, 'Idle', f.logger);
        f.clients.push(idle);
        await delay(2100);
        cutClientSide(guestClient);
        await next(guest.onDidChangeConnection, state => state === 'connected', 10_000);
        assert.strictEqual(guest.closed, false);
        host.onRequest(Slow, () => 'ok');
        assert.strictEqual(await guest.sendRequest(Slow, { ms: 0 }), 'ok');
        const loginToken = (idle as unknown as { token: string }).token;
        cutClientSide(idle);
        await until(() => idle.connected, 'the idle client is back', 10_000);
        assert.notStrictEqual((idle as unknown as { token: string }).token, loginToken, 'with a new login');
    });
});
