/**
 * Attacks by a malicious coordination server (and by guests working with it) against real clients: the
 * clients connect through `MaliciousServer`, which relays to a real collab-server and rewrites, forges,
 * replays and re-orders what a test tells it to. One test per attack; each asserts that the attack is
 * refused and that nothing the host enforces changed.
 */
import * as assert from 'node:assert/strict';
import { generateSessionKeyPair, KEY_GRACE_MS, randomBytes, toBase64Url } from '@theia-collab/protocol/lib/crypto';
import { EnvelopeCodec } from '@theia-collab/protocol/lib/envelope-codec';
import { CollaborationError } from '@theia-collab/protocol/lib/errors';
import { Broadcast, Request } from '@theia-collab/protocol/lib/messages';
import type { CollaborationSession } from '@theia-collab/protocol/lib/session';
import type { PeerInfo, Permission, RelayedEnvelope } from '@theia-collab/protocol/lib/wire';
import { MaliciousServerFixture } from './malicious-server';
import { collector, delay, impl, next, rejection, until } from './session-fixture';

/** What the host guards: a write only read-write guests may make. */
const WriteNote = Request.define<{ text: string }, number>('attack/write');
const Said = Broadcast.define<{ text: string }>('attack/said');

interface Room {
    host: CollaborationSession;
    notes: string[];
    /** Guest sessions by name: 'Reader' (read-only), 'Writer' (read-write), 'Bystander' (read-write). */
    reader: CollaborationSession;
    writer: CollaborationSession;
    bystander: CollaborationSession;
}

describe('a malicious coordination server and guests, against real clients', function () {
    this.timeout(60_000);
    let fixture: MaliciousServerFixture;
    const opened: CollaborationSession[] = [];

    beforeEach(async () => {
        fixture = await MaliciousServerFixture.start();
    });

    afterEach(async () => {
        opened.splice(0);
        await fixture?.close();
    });

    async function room(): Promise<Room> {
        const host = await (await fixture.connect('Host')).createSession();
        const notes: string[] = [];
        host.onRequest(WriteNote, ({ text }, sender) => {
            if (sender.permission !== 'readwrite') {
                throw new CollaborationError('forbidden', `${sender.name} may only read`);
            }
            notes.push(text);
            return notes.length;
        });
        const permissions: Record<string, Permission> = { Reader: 'readonly', Writer: 'readwrite', Bystander: 'readwrite' };
        // Only the three guests of the room; tests answer the others themselves.
        host.onJoinRequest(request => permissions[request.name] ? request.admit(permissions[request.name]) : undefined);
        const guests: CollaborationSession[] = [];
        for (const name of ['Reader', 'Writer', 'Bystander']) {
            guests.push(await (await fixture.connect(name)).joinSession(host.invite!.code));
        }
        await until(() => [host, ...guests].every(session => session.peers.length === 4), 'everyone sees everyone');
        opened.push(host, ...guests);
        return { host, notes, reader: guests[0], writer: guests[1], bystander: guests[2] };
    }

    function publicKeyOf(name: string, event: 'room:create' | 'room:join'): string {
        const sent = fixture.double.received.filter(item => item.from === name && item.event === event);
        return (sent[sent.length - 1].payload as { publicKey: string }).publicKey;
    }

    function infoOf(session: CollaborationSession, name: string, permission: Permission): PeerInfo {
        const peer = session.self;
        return { id: peer.id, userId: peer.userId, name: peer.name, role: peer.role, permission, publicKey: publicKeyOf(name, peer.role === 'host' ? 'room:create' : 'room:join') };
    }

    /** Nothing the host enforces changed: the reader is read-only everywhere, and cannot write. */
    async function assertReaderStillReadOnly({ host, notes, reader, writer, bystander }: Room): Promise<void> {
        await delay(200);
        assert.equal(host.getPeer(reader.self.id)?.permission, 'readonly', 'the host still holds the reader read-only');
        for (const session of [reader, writer, bystander]) {
            assert.equal(session.getPeer(reader.self.id)?.permission, 'readonly', 'every guest still sees the reader read-only');
        }
        const error = await rejection(reader.sendRequest(WriteNote, { text: 'by the reader' }));
        assert.equal(error.code, 'forbidden');
        assert.deepEqual(notes, []);
    }

    it('a forged room:permission-changed does not upgrade a read-only guest', async () => {
        const r = await room();
        for (const to of ['Host', 'Reader', 'Writer', 'Bystander']) {
            fixture.double.inject(to, 'room:permission-changed', { roomId: r.host.roomId, peerId: r.reader.self.id, permission: 'readwrite' });
        }
        await assertReaderStillReadOnly(r);
    });

    it('a forged room:peer-joined neither upgrades a guest nor adds a stranger', async () => {
        const r = await room();
        const stranger: PeerInfo = {
            id: 'stranger01', userId: 'anon:x', name: 'Host (admin)', role: 'guest', permission: 'readwrite',
            publicKey: (await generateSessionKeyPair()).publicKeyEncoded
        };
        for (const to of ['Host', 'Reader', 'Writer', 'Bystander']) {
            fixture.double.inject(to, 'room:peer-joined', { roomId: r.host.roomId, peer: infoOf(r.reader, 'Reader', 'readwrite') });
            fixture.double.inject(to, 'room:peer-joined', { roomId: r.host.roomId, peer: stranger });
        }
        await assertReaderStillReadOnly(r);
        for (const session of [r.host, r.reader, r.writer, r.bystander]) {
            assert.equal(session.getPeer('stranger01'), undefined);
            assert.equal(session.peers.length, 4);
        }
    });

    it('a forged room:resumed does not change what the host enforces', async () => {
        const r = await room();
        const peers = [infoOf(r.host, 'Host', 'readwrite'), infoOf(r.reader, 'Reader', 'readwrite'), infoOf(r.writer, 'Writer', 'readwrite'),
            infoOf(r.bystander, 'Bystander', 'readwrite')];
        fixture.double.inject('Host', 'room:resumed', { roomId: r.host.roomId, self: peers[0], peers, pending: [], reconnecting: [] });
        fixture.double.inject('Reader', 'room:resumed', { roomId: r.host.roomId, self: peers[1], peers, pending: [], reconnecting: [] });
        await assertReaderStillReadOnly(r);
        assert.equal(r.reader.self.permission, 'readonly');
    });

    it('a read-only guest\'s broadcast relabelled as the host\'s is refused by the other guests', async () => {
        const r = await room();
        const atWriter = collector<{ text: string; from: string }>();
        r.writer.onBroadcast(Said, (params, sender) => atWriter.push({ text: params.text, from: sender.name }));
        fixture.double.toClient = (event, payload, to) => {
            const envelope = payload as RelayedEnvelope;
            return event === 'relay' && to === 'Writer' && envelope.sender === r.reader.self.id ? { ...envelope, sender: r.host.self.id } : payload;
        };
        await r.reader.sendBroadcast(Said, { text: 'I am the host: run this' });
        await fixture.waitLogged(/not authenticated/, 'the writer refuses the relabelled message');
        // Control: the host's own broadcast still arrives, so the refusal was the relabelling.
        await r.host.sendBroadcast(Said, { text: 'genuine' });
        await until(() => atWriter.items.length === 1, 'the genuine broadcast arrives');
        assert.deepEqual(atWriter.items, [{ text: 'genuine', from: 'Host' }]);
    });

    it('a read-only guest\'s request relabelled as a read-write guest\'s is not handled by the host', async () => {
        const r = await room();
        fixture.double.toClient = (event, payload, to) => {
            const envelope = payload as RelayedEnvelope;
            return event === 'relay' && to === 'Host' && envelope.sender === r.reader.self.id ? { ...envelope, sender: r.writer.self.id } : payload;
        };
        const error = await rejection(r.reader.sendRequest(WriteNote, { text: 'as the writer' }, { timeout: 1500 }));
        assert.equal(error.code, 'timeout');
        assert.ok(fixture.logged(/not authenticated/).length > 0);
        assert.deepEqual(r.notes, []);
        // Control: the writer itself may write.
        assert.equal(await r.writer.sendRequest(WriteNote, { text: 'by the writer' }), 1);
    });

    it('a member holding the room key cannot seal a message as another member', async () => {
        const r = await room();
        const atBystander = collector<string>();
        r.bystander.onBroadcast(Said, ({ text }) => atBystander.push(text));
        // The reader seals with the room key and its own pair keys, naming the host (then the writer) as sender.
        const asHost = await new EnvelopeCodec(r.host.roomId, r.host.self.id, impl(r.reader).keys, impl(r.reader).peerAuth)
            .seal('broadcast', { m: Said.method, p: { text: 'forged host message' } });
        fixture.double.inject('Bystander', 'relay', { ...asHost, sender: r.host.self.id });
        const asWriter = await new EnvelopeCodec(r.host.roomId, r.writer.self.id, impl(r.reader).keys, impl(r.reader).peerAuth)
            .seal('request', { m: WriteNote.method, p: { text: 'forged writer request' } }, r.host.self.id, 1);
        fixture.double.inject('Host', 'relay', { ...asWriter, sender: r.writer.self.id });
        await until(() => fixture.logged(/not authenticated/).length >= 2, 'both forgeries are refused');
        await delay(100);
        assert.deepEqual(atBystander.items, []);
        assert.deepEqual(r.notes, []);
    });

    it('a removed guest\'s messages are refused at once, even sealed with the key it held', async () => {
        const r = await room();
        const withheld: RelayedEnvelope[] = [];
        // The server keeps the writer's messages back, to deliver them after the host removed it.
        fixture.double.toServer = (event, payload, from) => {
            if (event === 'relay' && from === 'Writer') {
                withheld.push({ ...(payload as RelayedEnvelope), sender: r.writer.self.id });
                return undefined;
            }
            return payload;
        };
        r.writer.sendRequest(WriteNote, { text: 'after removal' }, { timeout: 1000 }).catch(() => undefined);
        r.writer.sendBroadcast(Said, { text: 'after removal' }).catch(() => undefined);
        await until(() => withheld.length === 2, 'the server holds two messages');
        const atBystander = collector<string>();
        r.bystander.onBroadcast(Said, ({ text }) => atBystander.push(text));
        const left = next(r.bystander.onPeerLeft, event => event.peer.id === r.writer.self.id);
        await r.host.removePeer(r.writer.self.id);
        await left;
        fixture.double.inject('Host', 'relay', withheld[0]);
        fixture.double.inject('Bystander', 'relay', withheld[1]);
        await until(() => fixture.logged(/not in this session/).length >= 2, 'host and guest refuse the removed guest');
        await delay(100);
        assert.deepEqual(r.notes, []);
        assert.deepEqual(atBystander.items, []);
    });

    it('a replayed envelope is refused', async () => {
        const r = await room();
        assert.equal(await r.writer.sendRequest(WriteNote, { text: 'once' }), 1);
        const original = fixture.double.sent('Host', 'relay').find(item => (item as RelayedEnvelope).sender === r.writer.self.id)!;
        fixture.double.inject('Host', 'relay', original);
        await fixture.waitLogged(/Replayed or reordered/, 'the host refuses the replay');
        await delay(100);
        assert.deepEqual(r.notes, ['once']);
    });

    it('re-ordered envelopes: the one held back is refused, not applied out of order', async () => {
        const r = await room();
        let heldBack: unknown;
        fixture.double.toClient = (event, payload, to) => {
            if (event === 'relay' && to === 'Host' && (payload as RelayedEnvelope).sender === r.writer.self.id && heldBack === undefined) {
                heldBack = payload;
                return undefined;
            }
            return payload;
        };
        const first = r.writer.sendRequest(WriteNote, { text: 'first' }, { timeout: 1500 });
        assert.equal(await r.writer.sendRequest(WriteNote, { text: 'second' }), 1);
        fixture.double.inject('Host', 'relay', heldBack);
        assert.equal((await rejection(first)).code, 'timeout');
        assert.deepEqual(r.notes, ['second']);
        assert.ok(fixture.logged(/Replayed or reordered/).length > 0);
    });

    it('a server that puts its own key into a join request does not get in, and nobody is asked', async () => {
        const r = await room();
        const asked = collector<string>();
        r.host.onJoinRequest(request => asked.push(request.name));
        const attacker = await generateSessionKeyPair();
        fixture.double.toServer = (event, payload, from) =>
            event === 'room:join' && from === 'Victim' ? { ...(payload as object), publicKey: attacker.publicKeyEncoded } : payload;
        const error = await rejection((await fixture.connect('Victim')).joinSession(r.host.invite!.code));
        assert.equal(error.code, 'denied');
        assert.match(error.message, /invite is not valid/);
        assert.deepEqual(asked.items, []);
        assert.equal(r.host.peers.length, 4);
        assert.ok(fixture.logged(/Refused a join request from 'Victim'/).length > 0);
    });

    it('a join request made without the invite\'s secret is refused before anyone is asked', async () => {
        const r = await room();
        const asked = collector<string>();
        r.host.onJoinRequest(request => asked.push(request.name));
        const guessed = `${r.host.roomId}#${r.host.invite!.hostKeyFingerprint}.${toBase64Url(randomBytes(16))}`;
        const error = await rejection((await fixture.connect('Guesser')).joinSession(guessed));
        assert.equal(error.code, 'denied');
        // The server itself forges a request with a proof it made up.
        fixture.double.inject('Host', 'room:join-request', {
            roomId: r.host.roomId, requestId: 'forged01',
            peer: { id: 'forgedpeer', userId: 'anon:y', name: 'Forged', role: 'guest', permission: 'readonly', publicKey: (await generateSessionKeyPair()).publicKeyEncoded },
            proof: toBase64Url(randomBytes(32))
        });
        await until(() => fixture.logged(/Refused a join request from 'Forged'/).length > 0, 'the forged request is refused');
        assert.deepEqual(asked.items, []);
        assert.equal(r.host.peers.length, 4);
    });

    it('a server that swaps the host\'s key in an admission is refused by the guest', async () => {
        const r = await room();
        const attacker = await generateSessionKeyPair();
        fixture.double.toClient = (event, payload, to) => {
            if (event !== 'room:admitted' || to !== 'Late') {
                return payload;
            }
            const admitted = payload as { peers: PeerInfo[] };
            return { ...admitted, peers: admitted.peers.map(peer => peer.role === 'host' ? { ...peer, publicKey: attacker.publicKeyEncoded } : peer) };
        };
        r.host.onJoinRequest(request => request.admit('readwrite'));
        const error = await rejection((await fixture.connect('Late')).joinSession(r.host.invite!.code));
        assert.equal(error.code, 'fingerprint-mismatch');
    });

    it('a roster sent by a guest is refused: only the host says who is in', async () => {
        const r = await room();
        const Roster = Broadcast.define<unknown>('session/roster');
        const peers = [infoOf(r.host, 'Host', 'readwrite'), infoOf(r.reader, 'Reader', 'readwrite'), infoOf(r.writer, 'Writer', 'readwrite'),
            infoOf(r.bystander, 'Bystander', 'readwrite')];
        await r.reader.sendBroadcast(Roster, { v: 1_000_000, peers });
        await until(() => fixture.logged(/'session\/roster' is the session's own message/).length >= 3, 'host and guests refuse it');
        await assertReaderStillReadOnly(r);
    });

    it('a forged room key from the server is refused and the room key stays', async () => {
        const r = await room();
        const keyBefore = impl(r.writer).keys.currentKeyId;
        fixture.double.inject('Writer', 'room:key', { roomId: r.host.roomId, keyId: keyBefore + 1, from: r.host.self.id, keyMaterial: randomBytes(60) });
        await fixture.waitLogged(/room key could not be opened/, 'the writer refuses the key');
        assert.equal(impl(r.writer).keys.currentKeyId, keyBefore);
        // And the session still works both ways.
        assert.equal(await r.writer.sendRequest(WriteNote, { text: 'still fine' }), 1);
    });

    it('a server hiding the host\'s roster cannot make a removed guest heard once the old key is retired', async () => {
        const r = await room();
        // The server hides the removal from the bystander (the host's new roster, its own peer-left event), and
        // keeps the reader's message back.
        fixture.double.toClient = (event, payload, to) => to === 'Bystander'
            && (event === 'room:peer-left' || (event === 'relay' && (payload as RelayedEnvelope).sender === r.host.self.id)) ? undefined : payload;
        const withheld: RelayedEnvelope[] = [];
        fixture.double.toServer = (event, payload, from) => {
            if (event === 'relay' && from === 'Reader') {
                withheld.push({ ...(payload as RelayedEnvelope), sender: r.reader.self.id });
                return undefined;
            }
            return payload;
        };
        r.reader.sendBroadcast(Said, { text: 'delivered late' }).catch(() => undefined);
        await until(() => withheld.length === 1, 'the server holds the reader\'s message');
        await r.host.removePeer(r.reader.self.id);
        await until(() => impl(r.bystander).keys.currentKeyId === 1, 'the bystander has the new key');
        assert.ok(r.bystander.getPeer(r.reader.self.id), 'the bystander did not see the new roster');
        const atBystander = collector<string>();
        r.bystander.onBroadcast(Said, ({ text }) => atBystander.push(text));
        await delay(KEY_GRACE_MS + 300);
        fixture.double.inject('Bystander', 'relay', withheld[0]);
        await fixture.waitLogged(/sealed with room key 0, which this peer does not hold/, 'the bystander refuses the old key');
        assert.deepEqual(atBystander.items, []);
    });
});

describe('invites', function () {
    this.timeout(60_000);
    let fixture: MaliciousServerFixture;

    beforeEach(async () => {
        fixture = await MaliciousServerFixture.start();
    });

    afterEach(async () => {
        await fixture?.close();
    });

    it('a single-use invite admits one guest; the next is refused without asking', async () => {
        const host = await (await fixture.connect('Host')).createSession();
        const asked = collector<string>();
        host.onJoinRequest(request => {
            asked.push(request.name);
            request.admit('readonly');
        });
        const once = host.createInvite({ singleUse: true });
        assert.ok(host.invites.some(invite => invite.id === once.id));
        const first = await (await fixture.connect('First')).joinSession(once.link);
        assert.equal(first.self.permission, 'readonly');
        assert.ok(!host.invites.some(invite => invite.id === once.id), 'the invite is used up');
        const error = await rejection((await fixture.connect('Second')).joinSession(once.code));
        assert.equal(error.code, 'denied');
        assert.deepEqual(asked.items, ['First']);
    });

    it('an expired or revoked invite is refused; the others still work', async () => {
        const host = await (await fixture.connect('Host')).createSession();
        const asked = collector<string>();
        host.onJoinRequest(request => {
            asked.push(request.name);
            request.admit('readonly');
        });
        const brief = host.createInvite({ expiresInMs: 100 });
        const revoked = host.createInvite();
        assert.equal(host.revokeInvite(revoked.id), true);
        assert.equal(host.revokeInvite(revoked.id), false);
        await delay(150);
        assert.equal((await rejection((await fixture.connect('Late')).joinSession(brief.code))).code, 'denied');
        assert.equal((await rejection((await fixture.connect('Revoked')).joinSession(revoked.code))).code, 'denied');
        assert.deepEqual(asked.items, []);
        const welcome = await (await fixture.connect('Welcome')).joinSession(host.invite!.code);
        assert.equal(welcome.host.id, host.self.id);
        assert.deepEqual(asked.items, ['Welcome']);
    });

    it('an invite without a secret (an older version\'s) is refused with a clear message', async () => {
        const host = await (await fixture.connect('Host')).createSession();
        const error = await rejection((await fixture.connect('Old')).joinSession(`${host.roomId}#${host.invite!.hostKeyFingerprint}`));
        assert.equal(error.code, 'bad-request');
        assert.match(error.message, /ask the host for a new invite/);
    });
});
