import * as assert from 'node:assert/strict';
import { Deferred } from './concurrency';
import { generateContentKey, generateSessionKeyPair, KeyRing, SessionKeyPair, unwrapContentKey } from './crypto';
import { CollaborationError } from './errors';
import { HostRoomKeys, MAX_REKEY_ATTEMPTS, RoomKeysHost } from './host-room-keys';
import { PeerInfo } from './wire';

const ROOM = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

interface Rekey { keyId: number; keys: { peerId: string; keyMaterial: Uint8Array }[] }

describe('host room keys', () => {
    let hostPair: SessionKeyPair;
    const guestPairs = new Map<string, SessionKeyPair>();
    let guests: PeerInfo[];
    before(async () => {
        hostPair = await generateSessionKeyPair();
        guests = [];
        for (const id of ['alice', 'bob']) {
            const pair = await generateSessionKeyPair();
            guestPairs.set(id, pair);
            guests.push({ id, userId: id, name: id, publicKey: pair.publicKeyEncoded, role: 'guest', permission: 'readwrite' });
        }
    });

    /** A host whose server records 'room:rekey' and refuses the first `refusals` of them. */
    async function setup(refusals = 0): Promise<{ roomKeys: HostRoomKeys; keys: KeyRing; sent: Rekey[]; host: RoomKeysHost & { closed: boolean } }> {
        const keys = new KeyRing(50);
        keys.add(0, await generateContentKey());
        keys.activate(0);
        const sent: Rekey[] = [];
        let refused = 0;
        const host = {
            roomId: ROOM,
            closed: false,
            connection: {
                request: async <T>(event: string, payload: object): Promise<T> => {
                    assert.equal(event, 'room:rekey');
                    if (refused++ < refusals) {
                        throw new CollaborationError('conflict', 'Another rotation came first.');
                    }
                    sent.push(payload as Rekey);
                    return {} as T;
                }
            },
            keys,
            privateKey: hostPair.privateKey,
            isClosed: () => host.closed,
            guests: () => guests,
            admitted: (peerId: string) => guests.find(guest => guest.id === peerId)
        };
        return { roomKeys: new HostRoomKeys(host), keys, sent, host };
    }

    /** What a guest gets out of the key material wrapped for it. */
    function unwrap(peerId: string, keyMaterial: Uint8Array, keyId: number) {
        return unwrapContentKey(keyMaterial, {
            privateKey: guestPairs.get(peerId)!.privateKey, peerPublicKey: hostPair.publicKeyEncoded, roomId: ROOM, guestPeerId: peerId, keyId
        });
    }

    it('rotates to a new key that every remaining guest can open, and only then seals with it', async () => {
        const { roomKeys, keys, sent } = await setup();
        await roomKeys.rotate();
        assert.equal(keys.currentKeyId, 1);
        assert.deepEqual(sent.map(rekey => [rekey.keyId, rekey.keys.map(entry => entry.peerId)]), [[1, ['alice', 'bob']]]);
        for (const entry of sent[0].keys) {
            const opened = await unwrap(entry.peerId, entry.keyMaterial, 1);
            assert.deepEqual(opened.exportRaw(), keys.current!.key.exportRaw());
        }
        // Wrapped for alice: bob cannot open it, nor can it be taken for another key id.
        await assert.rejects(unwrap('bob', sent[0].keys[0].keyMaterial, 1), (error: CollaborationError) => error.code === 'decrypt-failed');
        await assert.rejects(unwrap('alice', sent[0].keys[0].keyMaterial, 2), (error: CollaborationError) => error.code === 'decrypt-failed');
        keys.clear();
    });

    it('tries again when the server refuses, and fails after MAX_REKEY_ATTEMPTS with the old key still current', async () => {
        const retried = await setup(MAX_REKEY_ATTEMPTS - 1);
        await retried.roomKeys.rotate();
        assert.equal(retried.keys.currentKeyId, 1);
        retried.keys.clear();
        const failing = await setup(MAX_REKEY_ATTEMPTS);
        await assert.rejects(failing.roomKeys.rotate(), (error: CollaborationError) => error.code === 'conflict');
        assert.equal(failing.keys.currentKeyId, 0);
        assert.deepEqual(failing.keys.ids(), [0]);
        failing.keys.clear();
    });

    it('hands the current key again to one admitted guest, and nothing for the first key, a stranger or a closed session', async () => {
        const { roomKeys, keys, sent, host } = await setup();
        await roomKeys.resend('alice');
        assert.equal(sent.length, 0, 'key 0 came with the admission');
        await roomKeys.rotate();
        await roomKeys.resend('alice');
        await roomKeys.resend('mallory');
        assert.deepEqual(sent.map(rekey => [rekey.keyId, rekey.keys.map(entry => entry.peerId)]), [[1, ['alice', 'bob']], [1, ['alice']]]);
        host.closed = true;
        await roomKeys.resend('alice');
        await roomKeys.rotate();
        assert.equal(sent.length, 2);
        keys.clear();
    });

    it('runs key operations one at a time, in call order', async () => {
        const { roomKeys, keys } = await setup();
        const order: string[] = [];
        const slow = new Deferred();
        const first = roomKeys.serialize(async () => {
            await slow.promise;
            order.push('first');
        });
        const failing = roomKeys.serialize(async () => {
            order.push('failing');
            throw new Error('failed');
        });
        const rotation = roomKeys.rotate().then(() => order.push(`rotated to ${keys.currentKeyId}`));
        await new Promise(resolve => setTimeout(resolve, 10));
        assert.deepEqual(order, []);
        slow.resolve();
        await first;
        await assert.rejects(failing, /failed/);
        await rotation;
        assert.deepEqual(order, ['first', 'failing', 'rotated to 1']);
        keys.clear();
    });
});
