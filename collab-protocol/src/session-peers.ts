/** The peers of a session as this client knows them, with their short key fingerprints. */
import { shortFingerprint } from './crypto';
import { Peer } from './session';
import { PeerInfo } from './wire';

export class SessionPeers {
    private readonly entries = new Map<string, { info: PeerInfo; peer: Peer }>();
    private readonly fingerprints = new Map<string, Promise<string>>();

    /** Builds the public view of a peer (computes its fingerprint, cached per key). */
    async describe(info: PeerInfo): Promise<Peer> {
        let fingerprint = this.fingerprints.get(info.publicKey);
        if (!fingerprint) {
            fingerprint = shortFingerprint(info.publicKey);
            this.fingerprints.set(info.publicKey, fingerprint);
        }
        return Object.freeze({
            id: info.id,
            userId: info.userId,
            name: info.name,
            role: info.role,
            permission: info.permission,
            fingerprint: await fingerprint,
            ...(info.program ? { program: true } : {})
        });
    }

    get(id: string): Peer | undefined {
        return this.entries.get(id)?.peer;
    }

    info(id: string): PeerInfo | undefined {
        return this.entries.get(id)?.info;
    }

    has(id: string): boolean {
        return this.entries.has(id);
    }

    /** Host first, then everyone else in joining order. */
    list(): Peer[] {
        const all = [...this.entries.values()].map(entry => entry.peer);
        return [...all.filter(peer => peer.role === 'host'), ...all.filter(peer => peer.role !== 'host')];
    }

    /** Inserts or replaces; tells whether the peer is new or visibly changed. */
    set(info: PeerInfo, peer: Peer): 'added' | 'changed' | 'same' {
        const previous = this.entries.get(info.id);
        this.entries.set(info.id, { info, peer });
        if (!previous) {
            return 'added';
        }
        const before = previous.peer;
        return before.name !== peer.name || before.permission !== peer.permission || before.role !== peer.role
            || before.fingerprint !== peer.fingerprint ? 'changed' : 'same';
    }

    delete(id: string): Peer | undefined {
        const entry = this.entries.get(id);
        this.entries.delete(id);
        return entry?.peer;
    }

    clear(): void {
        this.entries.clear();
    }
}
