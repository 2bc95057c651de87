import * as assert from 'node:assert/strict';
import { generateSessionKeyPair } from './crypto';
import { GuestIdentity, RosterPublisher, RosterReader, RosterReading } from './roster-exchange';
import { PeerInfo } from './wire';

async function peer(id: string, role: 'host' | 'guest', permission: 'readonly' | 'readwrite' = 'readwrite'): Promise<PeerInfo> {
    return { id, userId: `user-${id}`, name: id, publicKey: (await generateSessionKeyPair()).publicKeyEncoded, role, permission };
}

function current(reading: RosterReading): Extract<RosterReading, { kind: 'current' }> {
    assert.equal(reading.kind, 'current', JSON.stringify(reading));
    return reading as Extract<RosterReading, { kind: 'current' }>;
}

describe('roster exchange', () => {
    let host: PeerInfo;
    let alice: PeerInfo;
    let bob: PeerInfo;
    let identity: GuestIdentity;
    before(async () => {
        host = await peer('host', 'host');
        alice = await peer('alice', 'guest', 'readonly');
        bob = await peer('bob', 'guest');
        identity = { selfId: 'alice', selfPublicKey: alice.publicKey, hostId: 'host', hostPublicKey: host.publicKey };
    });

    it('numbers the host\'s rosters and says once who went since the previous one', () => {
        const publisher = new RosterPublisher();
        assert.deepEqual(publisher.next(host, [alice, bob]), { v: 1, peers: [host, alice, bob] });
        publisher.peerGone('bob', 'removed');
        publisher.peerGone('carol', 'left');
        assert.deepEqual(publisher.next(host, [alice]), { v: 2, peers: [host, alice], gone: [{ id: 'bob', reason: 'removed' }, { id: 'carol', reason: 'left' }] });
        assert.deepEqual(publisher.next(host, [alice]), { v: 3, peers: [host, alice] });
    });

    it('lets a guest take the host\'s rosters in order, with who is listed and why the others went', () => {
        const publisher = new RosterPublisher();
        const reader = new RosterReader();
        const first = current(reader.read(publisher.next(host, [alice, bob]), identity));
        assert.deepEqual([...first.listed], ['host', 'alice', 'bob']);
        publisher.peerGone('bob', 'removed');
        const second = current(reader.read(publisher.next(host, [alice]), identity));
        assert.ok(!second.listed.has('bob'));
        assert.equal(second.reasonGone('bob'), 'removed');
        assert.equal(second.reasonGone('somebody'), 'left');
    });

    it('ignores an older roster replayed after a newer one: a removal cannot be undone', () => {
        const publisher = new RosterPublisher();
        const reader = new RosterReader();
        const withBob = publisher.next(host, [alice, bob]);
        current(reader.read(publisher.next(host, [alice]), identity));
        assert.deepEqual(reader.read(withBob, identity), { kind: 'stale' });
    });

    it('refuses a malformed roster, and one that contradicts the invite or the guest\'s own key', async () => {
        const reader = new RosterReader();
        const refused = (params: unknown) => {
            const reading = reader.read(params, identity);
            assert.equal(reading.kind, 'refused', JSON.stringify(params));
            return (reading as Extract<RosterReading, { kind: 'refused' }>).error.code;
        };
        assert.equal(refused({ v: 1, peers: [] }), 'invalid-params');
        assert.equal(refused({ v: 1, peers: [host, alice], extra: true }), 'invalid-params');
        const impostor = { ...host, publicKey: (await generateSessionKeyPair()).publicKeyEncoded };
        assert.equal(refused({ v: 1, peers: [impostor, alice] }), 'bad-request', 'the host with a key the invite did not name');
        assert.equal(refused({ v: 1, peers: [host, { ...bob, role: 'host' }, alice] }), 'bad-request', 'two hosts');
        assert.equal(refused({ v: 1, peers: [{ ...bob, role: 'host' }, alice] }), 'bad-request', 'another host');
        assert.equal(refused({ v: 1, peers: [host, { ...alice, publicKey: bob.publicKey }] }), 'bad-request', 'this guest with another key');
        assert.equal(refused({ v: 1, peers: [host, { ...alice, role: 'host' }] }), 'bad-request', 'this guest made host');
        // None of these moved the version on.
        current(reader.read({ v: 1, peers: [host, alice] }, identity));
    });

    it('tells a guest left out of the roster that the host removed it', () => {
        const reader = new RosterReader();
        assert.deepEqual(reader.read({ v: 1, peers: [host, bob] }, identity), { kind: 'removed' });
    });
});
