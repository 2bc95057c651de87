import * as assert from 'node:assert/strict';
import { z } from 'zod';
import { CollaborationClient, login } from '@theia-collab/protocol/lib/client';
import { shortFingerprint } from '@theia-collab/protocol/lib/crypto';
import { CollaborationError } from '@theia-collab/protocol/lib/errors';
import { Broadcast, Notification, Request } from '@theia-collab/protocol/lib/messages';
import type { CollaborationSession, JoinRequest, Peer } from '@theia-collab/protocol/lib/session';
import { collector, delay, impl, next, rejection, SessionFixture, until } from './session-fixture';

const Edit = Broadcast.define<{ text: string; at: number }>('test/edit', { params: z.object({ text: z.string(), at: z.number() }) });
const Blob = Broadcast.define<{ bytes: Uint8Array }>('test/blob');
const Ping = Notification.define<{ n: number }>('test/ping', { params: z.object({ n: z.number() }) });
const Add = Request.define<{ a: number; b: number }, number>('test/add', { params: z.object({ a: z.number(), b: z.number() }), result: z.number() });
const Fail = Request.define<{ how: 'collab' | 'plain' | 'async' }, void>('test/fail');
const Hang = Request.define<{}, void>('test/hang');
const Missing = Request.define<{}, void>('test/missing');

describe('session API against a real server', function () {
    this.timeout(20000);
    let fixture: SessionFixture;

    before(async () => {
        fixture = await SessionFixture.start();
    });

    after(async () => {
        await fixture?.close();
    });

    describe('connecting', () => {
        it('logs in anonymously and connects', async () => {
            const client = await fixture.connect('Ada');
            assert.equal(client.connected, true);
            assert.equal(client.user?.name, 'Ada');
        });

        it('connects with a token from login()', async () => {
            const result = await login(fixture.server.url, 'Grace');
            const client = await CollaborationClient.connect({ serverUrl: fixture.server.url + '/', name: 'ignored', token: result.token, logger: fixture.logger });
            fixture.clients.push(client);
            assert.equal(client.connected, true);
        });

        it('rejects a bad token with the server code', async () => {
            const error = await rejection(CollaborationClient.connect({ serverUrl: fixture.server.url, name: 'x', token: 'not-a-token', logger: fixture.logger }));
            assert.equal(error.code, 'unauthorized');
        });

        it('rejects an invalid login with the server code', async () => {
            const error = await rejection(login(fixture.server.url, ''));
            assert.equal(error.code, 'bad-request');
        });
    });

    describe('creating and joining', () => {
        it('creates a session with an invite', async () => {
            const host = await (await fixture.connect('Host')).createSession();
            assert.equal(host.isHost, true);
            assert.equal(host.self, host.host);
            assert.equal(host.self.role, 'host');
            assert.deepEqual(host.peers.map(peer => peer.id), [host.self.id]);
            assert.match(host.self.fingerprint, /^[0-9A-F]{4}(-[0-9A-F]{4}){3}$/);
            const invite = host.invite!;
            assert.equal(invite.roomId, host.roomId);
            assert.equal(invite.code, `${host.roomId}#${invite.hostKeyFingerprint}.${invite.secret}`);
            assert.equal(invite.link, `${fixture.server.url}/join/${host.roomId}#${invite.hostKeyFingerprint}.${invite.secret}`);
            await host.leave();
            assert.equal(host.closed, true);
        });

        it('lets the host admit a guest who compared fingerprints', async () => {
            const host = await (await fixture.connect('Host')).createSession();
            const requests: JoinRequest[] = [];
            host.onJoinRequest(request => {
                requests.push(request);
                request.admit('readonly');
            });
            const joined = collector<Peer>();
            host.onPeerJoined(joined.push);
            let pending: { fingerprint: string } | undefined;
            const guest = await (await fixture.connect('Guest')).joinSession(host.invite!.link, { onPending: info => pending = info });
            assert.equal(requests.length, 1);
            assert.equal(requests[0].name, 'Guest');
            assert.equal(pending?.fingerprint, requests[0].fingerprint);
            assert.equal(guest.self.fingerprint, requests[0].fingerprint);
            assert.equal(guest.isHost, false);
            assert.equal(guest.host.id, host.self.id);
            assert.equal(guest.host.fingerprint, host.self.fingerprint);
            assert.equal(guest.self.permission, 'readonly');
            assert.deepEqual(guest.peers.map(peer => peer.id), [host.self.id, guest.self.id]);
            await until(() => host.peers.length === 2, 'the host sees the guest');
            assert.deepEqual(joined.items.map(peer => peer.id), [guest.self.id]);
            assert.equal(host.getPeer(guest.self.id)?.permission, 'readonly');
            assert.equal(guest.invite, undefined);
        });

        it('rejects a denied join with the host\'s reason', async () => {
            const host = await (await fixture.connect('Host')).createSession();
            host.onJoinRequest(request => request.deny('Not today'));
            const error = await rejection((await fixture.connect('Guest')).joinSession(host.invite!.code));
            assert.equal(error.code, 'denied');
            assert.equal(error.message, 'Not today');
            assert.equal(host.peers.length, 1);
        });

        it('rejects a join to a closed or unknown room', async () => {
            const host = await (await fixture.connect('Host')).createSession();
            const code = host.invite!.code;
            await host.leave();
            const error = await rejection((await fixture.connect('Guest')).joinSession(code));
            assert.equal(error.code, 'not-found');
        });

        it('rejects a join when the room closes while waiting', async () => {
            const host = await (await fixture.connect('Host')).createSession();
            host.onJoinRequest(() => host.leave());
            const error = await rejection((await fixture.connect('Guest')).joinSession(host.invite!.code));
            assert.equal(error.code, 'room-closed');
        });

        it('withdraws a join when aborted', async () => {
            const host = await (await fixture.connect('Host')).createSession();
            const controller = new AbortController();
            host.onJoinRequest(() => controller.abort());
            const error = await rejection((await fixture.connect('Guest')).joinSession(host.invite!.code, { signal: controller.signal }));
            assert.equal(error.code, 'cancelled');
        });

        it('rejects an invite that is not one', async () => {
            const error = await rejection((await fixture.connect('Guest')).joinSession('hello there'));
            assert.equal(error.code, 'bad-request');
        });
    });

    describe('messages', () => {
        let host: CollaborationSession;
        let guest1: CollaborationSession;
        let guest2: CollaborationSession;

        before(async () => {
            ({ host, guests: [guest1, guest2] } = await fixture.room(2));
        });

        it('delivers broadcasts host to guests and guest to everyone else', async () => {
            const atHost = collector<[unknown, string]>();
            const atGuest1 = collector<[unknown, string]>();
            const atGuest2 = collector<[unknown, string]>();
            const disposables = [
                host.onBroadcast(Edit, (params, sender) => atHost.push([params, sender.id])),
                guest1.onBroadcast(Edit, (params, sender) => atGuest1.push([params, sender.id])),
                guest2.onBroadcast(Edit, (params, sender) => atGuest2.push([params, sender.id]))
            ];
            await host.sendBroadcast(Edit, { text: 'from host', at: 1 });
            await guest1.sendBroadcast(Edit, { text: 'from guest 1', at: 2 });
            await until(() => atGuest2.items.length === 2 && atGuest1.items.length === 1 && atHost.items.length === 1, 'broadcasts arrive');
            assert.deepEqual(atGuest2.items, [[{ text: 'from host', at: 1 }, host.self.id], [{ text: 'from guest 1', at: 2 }, guest1.self.id]]);
            assert.deepEqual(atGuest1.items, [[{ text: 'from host', at: 1 }, host.self.id]]);
            assert.deepEqual(atHost.items, [[{ text: 'from guest 1', at: 2 }, guest1.self.id]]);
            disposables.forEach(disposable => disposable.dispose());
        });

        it('keeps the order of many messages and carries binary data', async () => {
            const received = collector<number | 'blob'>();
            const blobs = collector<Uint8Array>();
            const disposables = [
                guest1.onBroadcast(Edit, params => received.push(params.at)),
                guest1.onBroadcast(Blob, params => {
                    received.push('blob');
                    blobs.push(params.bytes);
                })
            ];
            // Large enough for WebCrypto, which seals several at a time; neither they nor the small ones may overtake.
            const sizes = [200_000, 300_000, 20_000, 150_000, 60_000];
            const sends: Promise<void>[] = [];
            const expected: (number | 'blob')[] = [];
            const sent: Uint8Array[] = [];
            for (let i = 0; i < 100; i++) {
                sends.push(host.sendBroadcast(Edit, { text: 'x'.repeat(i * 10), at: i }));
                expected.push(i);
                if (i % 30 === 20 || i === 51 || i === 52) {
                    const bytes = new Uint8Array(sizes[sent.length]).map((_, k) => (k + sent.length) % 251);
                    sent.push(bytes);
                    sends.push(host.sendBroadcast(Blob, { bytes }));
                    expected.push('blob');
                }
            }
            await Promise.all(sends);
            await until(() => received.items.length === expected.length, 'all messages arrive');
            assert.deepEqual(received.items, expected);
            assert.equal(blobs.items.length, sent.length);
            blobs.items.forEach((blob, k) => assert.ok(blob instanceof Uint8Array && Buffer.from(blob).equals(Buffer.from(sent[k])), `blob ${k} intact, in order`));
            disposables.forEach(disposable => disposable.dispose());
        });

        it('hands a small message to the socket before the send call returns (a keystroke is not held back)', async () => {
            const client = await fixture.connect('Typist');
            const typist = await client.createSession();
            const socket = (client as unknown as { socket: { emit: (...args: unknown[]) => unknown } }).socket;
            const emit = socket.emit;
            const emitted: unknown[] = [];
            socket.emit = function (this: unknown, ...args: unknown[]) {
                emitted.push(args[0]);
                return emit.apply(this, args);
            };
            try {
                const sent = typist.sendBroadcast(Edit, { text: 'k', at: 1 });
                assert.deepEqual(emitted, ['relay']);
                await sent;
            } finally {
                socket.emit = emit;
            }
        });

        it('delivers notifications to the host by default and to a named peer', async () => {
            const atHost = collector<[number, string]>();
            const atGuest2 = collector<[number, string]>();
            const atGuest1 = collector<number>();
            const disposables = [
                host.onNotification(Ping, (params, sender) => atHost.push([params.n, sender.id])),
                guest2.onNotification(Ping, (params, sender) => atGuest2.push([params.n, sender.id])),
                guest1.onNotification(Ping, params => atGuest1.push(params.n))
            ];
            await guest1.sendNotification(Ping, { n: 1 });
            await host.sendNotification(Ping, { n: 2 }, guest2.self.id);
            await guest1.sendNotification(Ping, { n: 3 }, guest2.self.id);
            await until(() => atHost.items.length === 1 && atGuest2.items.length === 2, 'notifications arrive');
            assert.deepEqual(atHost.items, [[1, guest1.self.id]]);
            assert.deepEqual(atGuest2.items, [[2, host.self.id], [3, guest1.self.id]]);
            await delay(100);
            assert.deepEqual(atGuest1.items, []);
            disposables.forEach(disposable => disposable.dispose());
        });

        it('answers requests in both directions', async () => {
            const disposables = [
                host.onRequest(Add, (params, sender) => {
                    assert.equal(sender.id, guest1.self.id);
                    return params.a + params.b;
                }),
                guest2.onRequest(Add, async params => {
                    await delay(20);
                    return params.a * 100 + params.b;
                })
            ];
            assert.equal(await guest1.sendRequest(Add, { a: 2, b: 3 }), 5);
            assert.equal(await host.sendRequest(Add, { a: 4, b: 5 }, { target: guest2.self.id }), 405);
            const many = await Promise.all([...Array(20).keys()].map(i => host.sendRequest(Add, { a: i, b: 1 }, { target: guest2.self.id })));
            assert.deepEqual(many, [...Array(20).keys()].map(i => i * 100 + 1));
            disposables.forEach(disposable => disposable.dispose());
        });

        it('surfaces remote errors with their code', async () => {
            const disposable = host.onRequest(Fail, async params => {
                if (params.how === 'collab') {
                    throw new CollaborationError('not-found', 'No such file: a.txt');
                }
                if (params.how === 'plain') {
                    throw new Error('boom');
                }
                await delay(5);
                throw new CollaborationError('permission-denied', 'read only');
            });
            let error = await rejection(guest1.sendRequest(Fail, { how: 'collab' }));
            assert.deepEqual([error.code, error.message], ['not-found', 'No such file: a.txt']);
            error = await rejection(guest1.sendRequest(Fail, { how: 'plain' }));
            assert.deepEqual([error.code, error.message], ['internal', 'boom']);
            error = await rejection(guest1.sendRequest(Fail, { how: 'async' }));
            assert.deepEqual([error.code, error.message], ['permission-denied', 'read only']);
            error = await rejection(guest1.sendRequest(Missing, {}));
            assert.equal(error.code, 'unknown-method');
            disposable.dispose();
            error = await rejection(guest1.sendRequest(Fail, { how: 'collab' }));
            assert.equal(error.code, 'unknown-method');
        });

        it('validates params and results', async () => {
            let called = 0;
            const disposable = host.onRequest(Add, params => {
                called++;
                return params.a + params.b;
            });
            const error = await rejection(guest1.sendRequest(Add, { a: 'one', b: 2 } as unknown as { a: number; b: number }));
            assert.equal(error.code, 'invalid-params');
            assert.match(error.message, /\ba\b/);
            assert.equal(called, 0);
            disposable.dispose();
            const Lying = Request.define<{ a: number; b: number }, string>('test/add', { result: z.string() });
            const lying = host.onRequest(Add, () => 42);
            assert.equal((await rejection(guest1.sendRequest(Lying, { a: 1, b: 2 }))).code, 'invalid-params');
            lying.dispose();

            const received = collector<unknown>();
            const listener = guest2.onBroadcast(Edit, received.push);
            const problem = next(guest2.onMessageError);
            await host.sendBroadcast(Edit, { text: 42 } as unknown as { text: string; at: number });
            const reported = await problem;
            assert.equal(reported.code, 'invalid-params');
            assert.equal(reported.sender, host.self.id);
            await host.sendBroadcast(Edit, { text: 'ok', at: 1 });
            await until(() => received.items.length === 1, 'the valid broadcast arrives');
            assert.deepEqual(received.items, [{ text: 'ok', at: 1 }]);
            listener.dispose();
        });

        it('times out requests on its own and rejects unknown targets', async () => {
            const disposable = host.onRequest(Hang, () => new Promise<void>(() => { }));
            const started = Date.now();
            const error = await rejection(guest1.sendRequest(Hang, {}, { timeout: 300 }));
            assert.equal(error.code, 'timeout');
            assert.ok(Date.now() - started < 3000);
            disposable.dispose();
            assert.equal((await rejection(guest1.sendRequest(Add, { a: 1, b: 1 }, { target: 'nobody' }))).code, 'not-found');
            assert.equal((await rejection(host.sendRequest(Add, { a: 1, b: 1 }))).code, 'bad-request');
        });

        it('refuses a second handler for the same request method', () => {
            const disposable = host.onRequest(Add, () => 1);
            assert.throws(() => host.onRequest(Add, () => 2), CollaborationError);
            disposable.dispose();
            host.onRequest(Add, () => 3).dispose();
        });
    });

    describe('server-side request errors', () => {
        let shortFixture: SessionFixture;

        before(async () => {
            shortFixture = await SessionFixture.start({ requestTimeoutMs: 300 });
        });

        after(async () => {
            await shortFixture?.close();
        });

        it('rejects with the server\'s timeout when the peer never answers', async () => {
            const { host, guests: [guest] } = await shortFixture.room(1);
            host.onRequest(Hang, () => new Promise<void>(() => { }));
            const error = await rejection(guest.sendRequest(Hang, {}, { timeout: 10_000 }));
            assert.equal(error.code, 'timeout');
            assert.match(error.message, /0\.3 s/);
        });

        it('rejects with disconnected when the asked peer leaves', async () => {
            const { host, guests: [guest1, guest2] } = await shortFixture.room(2);
            guest2.onRequest(Hang, () => new Promise<void>(() => { }));
            const asked = rejection(host.sendRequest(Hang, {}, { target: guest2.self.id, timeout: 10_000 }));
            await delay(50);
            await guest2.leave();
            assert.equal((await asked).code, 'disconnected');
            assert.equal(guest1.closed, false);
        });
    });

    describe('membership', () => {
        it('changes permissions and reports it everywhere', async () => {
            const { host, guests: [guest1, guest2] } = await fixture.room(2);
            const changed = next(guest2.onPeerChanged, peer => peer.id === guest1.self.id);
            const own = next(guest1.onPeerChanged, peer => peer.id === guest1.self.id);
            await host.setPermission(guest1.self.id, 'readonly');
            assert.equal(host.getPeer(guest1.self.id)?.permission, 'readonly');
            assert.equal((await changed).permission, 'readonly');
            assert.equal((await own).permission, 'readonly');
            assert.equal(guest1.self.permission, 'readonly');
            assert.equal((await rejection(guest1.setPermission(guest2.self.id, 'readonly'))).code, 'forbidden');
        });

        it('reports guests leaving and the host ending the session', async () => {
            const { host, guests: [guest1, guest2] } = await fixture.room(2);
            const left = next(host.onPeerLeft);
            const leftAtGuest2 = next(guest2.onPeerLeft);
            await guest1.leave();
            assert.equal(guest1.closed, true);
            const event = await left;
            assert.deepEqual([event.peer.id, event.reason], [guest1.self.id, 'left']);
            assert.equal((await leftAtGuest2).peer.id, guest1.self.id);
            assert.equal(host.getPeer(guest1.self.id), undefined);
            assert.equal((await rejection(guest1.sendBroadcast(Edit, { text: '', at: 0 }))).code, 'room-closed');

            const pending = rejection(guest2.sendRequest(Hang, {}, { timeout: 10_000 }));
            const closed = next(guest2.onClose);
            await host.leave();
            const closure = await closed;
            assert.equal(closure.reason, 'host-left');
            assert.equal(guest2.closed, true);
            assert.equal((await pending).code, 'room-closed');
        });

        it('removes a guest', async () => {
            const { host, guests: [guest1, guest2] } = await fixture.room(2);
            const closed = next(guest1.onClose);
            const left = next(guest2.onPeerLeft);
            await host.removePeer(guest1.self.id);
            assert.equal((await closed).reason, 'removed');
            const event = await left;
            assert.deepEqual([event.peer.id, event.reason], [guest1.self.id, 'removed']);
            assert.deepEqual(host.peers.map(peer => peer.id), [host.self.id, guest2.self.id]);
            assert.equal((await rejection(guest2.removePeer(host.self.id))).code, 'forbidden');
        });

        it('closes sessions when the connection goes away', async () => {
            const client = await fixture.connect('Host');
            const host = await client.createSession();
            const closed = next(host.onClose);
            client.dispose();
            assert.equal((await closed).reason, 'disconnected');
            assert.equal(host.closed, true);
        });

        it('shows the fingerprint the guest sees to the host', async () => {
            const host = await (await fixture.connect('Host')).createSession();
            const request = next(host.onJoinRequest);
            const joining = (await fixture.connect('Guest')).joinSession(host.invite!.code);
            const seen = await request;
            await seen.admit('readwrite');
            const guest = await joining;
            assert.equal(seen.fingerprint, guest.self.fingerprint);
            assert.equal(guest.host.fingerprint, await shortFingerprint((impl(host) as any).keyPair.publicKeyEncoded));
            assert.equal((await rejection(seen.admit('readwrite'))).code, 'bad-request');
        });
    });
});
