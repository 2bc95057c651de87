/**
 * Invites: `roomId#fingerprint.secret` codes and `${serverUrl}/join/${roomId}#${fingerprint}.${secret}`
 * links. Both the fingerprint of the host's session key and the invite's secret ride in the URL fragment,
 * which browsers never send to the server:
 * - with the fingerprint, a guest checks it is talking to the host who shared the link;
 * - with the secret, a guest proves to the host that it got the invite: its join request carries
 *   `HMAC-SHA-256(secret, 'theia-collab/join/1' | room | guest public key)`. The proof binds the guest's own
 *   key, so a server that puts its key into a join request has no valid proof, and the host refuses the
 *   request before anyone is asked (see invite-registry.ts).
 */
import { hmac } from '@noble/hashes/hmac';
import { sha256 } from '@noble/hashes/sha2';
import { fingerprintsEqual, fromBase64Url, randomBytes, toBase64Url } from './crypto';
import { CollaborationError } from './errors';
import { Invite } from './session';

export interface ParsedInvite {
    /** Only when a link was given. */
    serverUrl?: string;
    roomId: string;
    /** Full fingerprint of the host's public key (base64url SHA-256). */
    fingerprint: string;
    /** The invite's secret (base64url, 16 bytes); missing in invites of versions before it existed. */
    secret?: string;
}

export const INVITE_SECRET_BYTES = 16;
const JOIN_PROOF_DOMAIN = 'theia-collab/join/1';

const ROOM = '[A-Za-z0-9_-]{22,64}';
/** base64url of 32 bytes, unpadded. */
const FINGERPRINT = '[A-Za-z0-9_-]{43}';
/** base64url of 16 bytes. */
const SECRET = '[A-Za-z0-9_-]{22}';
const FRAGMENT = `(${FINGERPRINT})(?:\\.(${SECRET}))?(?![A-Za-z0-9_-])`;
const LINK = new RegExp(`(https?://[^\\s#"'<>]+?)/join/(${ROOM})#${FRAGMENT}`);
const CODE = new RegExp(`(?:^|[^A-Za-z0-9_\\-/#])(${ROOM})#${FRAGMENT}`);

export function newInviteSecret(): string {
    return toBase64Url(randomBytes(INVITE_SECRET_BYTES));
}

export function createInvite(serverUrl: string, roomId: string, fingerprint: string, secret: string, id = 'default'): Invite {
    const base = serverUrl.replace(/\/+$/, '');
    return {
        id,
        serverUrl: base,
        roomId,
        hostKeyFingerprint: fingerprint,
        secret,
        code: `${roomId}#${fingerprint}.${secret}`,
        link: `${base}/join/${roomId}#${fingerprint}.${secret}`
    };
}

/** The guest's proof that it holds the invite's secret, bound to the room and its own public key. */
export function joinProof(secret: string, roomId: string, publicKey: string): string {
    const message = new TextEncoder().encode(`${JOIN_PROOF_DOMAIN}|${roomId}|${publicKey}`);
    return toBase64Url(hmac(sha256, fromBase64Url(secret), message));
}

/** Whether `proof` is what `joinProof` gives for this secret, room and key (constant time). */
export function checkJoinProof(secret: string, roomId: string, publicKey: string, proof: string | undefined): boolean {
    return typeof proof === 'string' && fingerprintsEqual(joinProof(secret, roomId, publicKey), proof);
}

/** Accepts an invite code or link, possibly surrounded by other text (e.g. a pasted chat message). */
export function parseInvite(text: string): ParsedInvite {
    const input = typeof text === 'string' ? text.trim() : '';
    if (input.length > 0 && input.length <= 8192) {
        const link = LINK.exec(input);
        if (link) {
            return { serverUrl: link[1], roomId: link[2], fingerprint: link[3], ...(link[4] ? { secret: link[4] } : {}) };
        }
        const code = CODE.exec(input);
        if (code) {
            return { roomId: code[1], fingerprint: code[2], ...(code[3] ? { secret: code[3] } : {}) };
        }
    }
    throw new CollaborationError('bad-request',
        'This is not a collaboration invite. Paste the invite code (room#fingerprint.secret) or the invite link you received from the host.');
}
