import { CollaborationError, Peer } from '@theia-collab/protocol';

export interface TerminalInputTarget {
    readonly title: string;
    readonly writable: boolean;
}

/**
 * Whether `peer` (the sender as the session knows it right now, not as it claims to be) may type into
 * the shared terminal `target`. Returns the error to answer with, or `undefined` when allowed.
 */
export function checkTerminalInput(target: TerminalInputTarget | undefined, peer: Peer | undefined): CollaborationError | undefined {
    if (!target) {
        return new CollaborationError('not-found', 'This terminal is no longer shared.');
    }
    if (!peer) {
        return new CollaborationError('permission-denied', 'Only participants of the session can type into a shared terminal.');
    }
    if (peer.role === 'host') {
        return undefined;
    }
    if (!target.writable) {
        return new CollaborationError('permission-denied', `The host shares the terminal '${target.title}' read-only.`);
    }
    if (peer.permission !== 'readwrite') {
        return new CollaborationError('permission-denied', `You joined read-only, so you cannot type into the terminal '${target.title}'.`);
    }
    return undefined;
}
