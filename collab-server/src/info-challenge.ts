/**
 * Proof of identity for a local server: a server started with a secret (`infoChallengeSecret`) answers
 * `GET /api/info?challenge=<nonce>` with `challengeResponse` = HMAC-SHA256(secret, label, port, nonce).
 * A program that knows the secret (the Theia app that started the server, or another window of the same
 * user reading the same private file) can so tell its own server from anything else that answers on the
 * port. The port is part of the MAC so that a program squatting one port cannot relay the challenge to the
 * real server listening on another one and pass its answer off as its own.
 *
 * Kept free of other server modules: the Theia backend imports it without loading the server.
 */
import * as crypto from 'crypto';

/** Nonces: base64url, 16 to 128 characters (at least 96 bits). */
export const CHALLENGE_PATTERN = /^[A-Za-z0-9_-]{16,128}$/;

export function infoChallengeResponse(secret: string, port: number, nonce: string): string {
    return crypto.createHmac('sha256', secret).update(`theia-collab:info-challenge:v1\n${port}\n${nonce}`).digest('base64url');
}

/** A fresh nonce for `?challenge=`. */
export function createInfoChallenge(): string {
    return crypto.randomBytes(24).toString('base64url');
}

/** Constant-time check of a `challengeResponse`. */
export function verifyInfoChallenge(secret: string, port: number, nonce: string, response: unknown): boolean {
    if (typeof response !== 'string' || response.length > 256) {
        return false;
    }
    const expected = crypto.createHash('sha256').update(infoChallengeResponse(secret, port, nonce)).digest();
    const actual = crypto.createHash('sha256').update(response).digest();
    return crypto.timingSafeEqual(expected, actual);
}

/** Constant-time comparison of two secrets of any length (e.g. a bearer token). */
export function secretsEqual(a: string, b: string): boolean {
    const left = crypto.createHash('sha256').update(a).digest();
    const right = crypto.createHash('sha256').update(b).digest();
    return crypto.timingSafeEqual(left, right);
}
