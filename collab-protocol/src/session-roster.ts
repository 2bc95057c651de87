/**
 * The roster: who is in the session, with which permission and which session key, as the host says it.
 *
 * The host is the only authority on membership. Its roster travels as a sealed, sender-authenticated
 * message (`session/roster`), broadcast whenever it changes (a guest admitted, removed or gone, a
 * permission changed) and sent again to a guest that reconnects. Guests take peers, permissions (their
 * own included) and the public keys they authenticate each other with from the roster alone; what the
 * server says about members (`room:peer-joined`, `room:permission-changed`, `room:resumed`) can only make
 * a guest forget a peer, never add one or change a permission. Versions only grow, so an old roster
 * replayed by the server cannot undo a removal (the envelope's sequence number refuses it anyway).
 */
import { z } from 'zod';
import { Limits, PeerId, PeerInfo } from './wire';

/** Method names under `session/` are the session's own; features cannot register them. */
export const SESSION_METHOD_PREFIX = 'session/';
export const ROSTER_METHOD = 'session/roster';

export const RosterSchema = z.object({
    v: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
    peers: z.array(PeerInfo).min(1).max(Limits.maxPeersPerRoom),
    /** Peers gone since the previous version, with why (for the "left" / "removed" notices). */
    gone: z.array(z.object({ id: PeerId, reason: z.enum(['left', 'removed', 'disconnected']) }).strict()).max(Limits.maxPeersPerRoom).optional()
}).strict();
export type Roster = z.infer<typeof RosterSchema>;

export function isSessionMethod(method: string): boolean {
    return method.startsWith(SESSION_METHOD_PREFIX);
}
