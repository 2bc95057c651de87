/**
 * Host only: the room content key's life. The host creates the next key when a guest leaves or is removed
 * (so it cannot read what follows), wraps it for every remaining guest it admitted (ECDH with the key that
 * guest joined with, crypto.ts), and hands the current one again to a guest that reconnects (it may have
 * missed a rotation). These operations, and admissions (which wrap the current key for the new guest), run
 * one at a time, in call order: a rotation never races an admission into handing out a stale key.
 */
import { ContentKey, generateContentKey, KeyRing, wrapContentKey } from './crypto';
import { CollaborationError } from './errors';
import type { SessionConnection } from './session-impl';
import { PeerInfo } from './wire';

/** Attempts of a rotation the server refused (another rotation got there first, a hiccup) before it fails. */
export const MAX_REKEY_ATTEMPTS = 3;

/** What the host's key operations need from its session. */
export interface RoomKeysHost {
    readonly roomId: string;
    readonly connection: Pick<SessionConnection, 'request'>;
    readonly keys: KeyRing;
    /** The host's own ECDH private key. */
    readonly privateKey: CryptoKey;
    isClosed(): boolean;
    /** The guests this host admitted and that are still in. */
    guests(): PeerInfo[];
    /** A guest as this host admitted it (undefined for a peer it never admitted). */
    admitted(peerId: string): PeerInfo | undefined;
}

function noop(): void { }

export class HostRoomKeys {
    private chain: Promise<unknown> = Promise.resolve();

    constructor(private readonly host: RoomKeysHost) { }

    /** Runs `operation` after every key operation called before it. */
    serialize<T>(operation: () => Promise<T>): Promise<T> {
        const result = this.chain.then(operation);
        this.chain = result.catch(noop);
        return result;
    }

    /** The room key `key` (id `keyId`) wrapped for one guest. */
    wrapFor(guest: Pick<PeerInfo, 'id' | 'publicKey'>, key: ContentKey, keyId: number): Promise<Uint8Array> {
        return wrapContentKey(key, { privateKey: this.host.privateKey, peerPublicKey: guest.publicKey, roomId: this.host.roomId, guestPeerId: guest.id, keyId });
    }

    /** Creates the next content key and hands it to every remaining guest; seals with it once the server took it. */
    rotate(): Promise<void> {
        return this.serialize(async () => {
            const { keys, connection, roomId } = this.host;
            let lastError: unknown;
            for (let attempt = 0; attempt < MAX_REKEY_ATTEMPTS && !this.host.isClosed(); attempt++) {
                const keyId = keys.currentKeyId + 1;
                const key = await generateContentKey();
                const wrapped = await Promise.all(this.host.guests().map(async guest => ({ peerId: guest.id, keyMaterial: await this.wrapFor(guest, key, keyId) })));
                // Guests may answer with the new key before our acknowledgement arrives.
                keys.add(keyId, key);
                try {
                    await connection.request('room:rekey', { roomId, keyId, keys: wrapped });
                    if (!this.host.isClosed()) {
                        keys.activate(keyId);
                    }
                    return;
                } catch (error) {
                    keys.remove(keyId);
                    lastError = error;
                }
            }
            if (!this.host.isClosed()) {
                throw lastError ?? new CollaborationError('internal', 'Key rotation failed.');
            }
        });
    }

    /** Hands the current room key to one guest again (it ignores a key it already holds). */
    resend(peerId: string): Promise<void> {
        return this.serialize(async () => {
            const current = this.host.keys.current;
            const guest = this.host.admitted(peerId);
            if (this.host.isClosed() || !current || guest === undefined || current.id === 0) {
                return;
            }
            const keyMaterial = await this.wrapFor(guest, current.key, current.id);
            await this.host.connection.request('room:rekey', { roomId: this.host.roomId, keyId: current.id, keys: [{ peerId, keyMaterial }] });
        });
    }
}
