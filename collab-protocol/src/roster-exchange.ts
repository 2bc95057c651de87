/**
 * Both ends of the roster (session-roster.ts): the host numbers the rosters it publishes and says who went
 * since the last one; a guest takes a roster only when it is well-formed, not older than the last one it
 * took, and agrees with what the guest knows for itself (exactly one host, the one whose key the invite's
 * fingerprint named; this guest with its own key, as a guest). A roster that leaves the guest out means the
 * host removed it.
 */
import { CollaborationError } from './errors';
import { Roster, RosterSchema } from './session-roster';
import { validationMessage } from './session-messages';
import { PeerInfo, PeerLeftReason } from './wire';

/** Host side: the next roster to publish. */
export class RosterPublisher {
    private version = 0;
    /** Peers gone since the last published roster, with why. */
    private readonly gone = new Map<string, PeerLeftReason>();

    peerGone(peerId: string, reason: PeerLeftReason): void {
        this.gone.set(peerId, reason);
    }

    /** The next version: the host, then its guests; who went since the previous one. */
    next(host: PeerInfo, guests: readonly PeerInfo[]): Roster {
        const gone = [...this.gone].map(([id, reason]) => ({ id, reason }));
        this.gone.clear();
        return { v: ++this.version, peers: [host, ...guests], ...(gone.length ? { gone } : {}) };
    }
}

/** What a guest makes of a roster. */
export type RosterReading =
    /** Malformed, or contradicting the invite or this guest's own key: reported, not taken. */
    | { kind: 'refused'; error: CollaborationError }
    /** Older than the roster taken already (a replay): ignored. */
    | { kind: 'stale' }
    /** This guest is no longer in it: the host removed it. */
    | { kind: 'removed' }
    /** Who is in now; why each peer no longer listed went (`left` when the roster does not say). */
    | { kind: 'current'; roster: Roster; listed: ReadonlySet<string>; reasonGone(peerId: string): PeerLeftReason };

/** What a guest knows for itself. */
export interface GuestIdentity {
    selfId: string;
    /** This guest's own public key (wire encoding). */
    selfPublicKey: string;
    hostId: string;
    /** The host's key, as the invite's fingerprint vouched for it. */
    hostPublicKey: string | undefined;
}

/** Guest side: checks the host's rosters in turn. */
export class RosterReader {
    private version = 0;

    /** Reads a roster's params. */
    read(params: unknown, identity: GuestIdentity): RosterReading {
        const parsed = RosterSchema.safeParse(params);
        if (!parsed.success) {
            return { kind: 'refused', error: new CollaborationError('invalid-params', `Malformed roster: ${validationMessage(parsed.error)}`) };
        }
        const roster = parsed.data;
        if (roster.v < this.version) {
            return { kind: 'stale' };
        }
        const { selfId, selfPublicKey, hostId, hostPublicKey } = identity;
        const self = roster.peers.find(info => info.id === selfId);
        const hosts = roster.peers.filter(info => info.role === 'host');
        if (hosts.length !== 1 || hosts[0].id !== hostId || hosts[0].publicKey !== hostPublicKey
            || (self && (self.publicKey !== selfPublicKey || self.role !== 'guest'))) {
            return { kind: 'refused', error: new CollaborationError('bad-request', 'The roster contradicts the invite or this guest\'s own key.') };
        }
        this.version = roster.v;
        if (!self) {
            return { kind: 'removed' };
        }
        const reasons = new Map((roster.gone ?? []).map(gone => [gone.id, gone.reason]));
        return {
            kind: 'current',
            roster,
            listed: new Set(roster.peers.map(info => info.id)),
            reasonGone: peerId => reasons.get(peerId) ?? 'left'
        };
    }
}
