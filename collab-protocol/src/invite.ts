/**
 * Invites: `roomId#fingerprint` codes and `${serverUrl}/join/${roomId}#${fingerprint}` links. The
 * fingerprint of the host's session key rides in the URL fragment, which browsers never send to the
 * server, so a guest can check it is talking to the host who shared the link.
 */
import { CollaborationError } from './errors';
import { Invite } from './session';

export interface ParsedInvite {
    /** Only when a link was given. */
    serverUrl?: string;
    roomId: string;
    /** Full fingerprint of the host's public key (base64url SHA-256). */
    fingerprint: string;
}

const ROOM = '[A-Za-z0-9_-]{22,64}';
/** base64url of 32 bytes, unpadded. */
const FINGERPRINT = '[A-Za-z0-9_-]{43}';
const LINK = new RegExp(`(https?://[^\\s#"'<>]+?)/join/(${ROOM})#(${FINGERPRINT})(?![A-Za-z0-9_-])`);
const CODE = new RegExp(`(?:^|[^A-Za-z0-9_\\-/#])(${ROOM})#(${FINGERPRINT})(?![A-Za-z0-9_-])`);

export function createInvite(serverUrl: string, roomId: string, fingerprint: string): Invite {
    const base = serverUrl.replace(/\/+$/, '');
    return {
        serverUrl: base,
        roomId,
        hostKeyFingerprint: fingerprint,
        code: `${roomId}#${fingerprint}`,
        link: `${base}/join/${roomId}#${fingerprint}`
    };
}

/** Accepts an invite code or link, possibly surrounded by other text (e.g. a pasted chat message). */
export function parseInvite(text: string): ParsedInvite {
    const input = typeof text === 'string' ? text.trim() : '';
    if (input.length > 0 && input.length <= 8192) {
        const link = LINK.exec(input);
        if (link) {
            return { serverUrl: link[1], roomId: link[2], fingerprint: link[3] };
        }
        const code = CODE.exec(input);
        if (code) {
            return { roomId: code[1], fingerprint: code[2] };
        }
    }
    throw new CollaborationError('bad-request',
        'This is not a collaboration invite. Paste the invite code (room#fingerprint) or the invite link you received from the host.');
}
