/**
 * Authentication: signed login and room tokens (HS256 JWTs), and the login providers that hand out
 * login tokens. Providers are a list so that OIDC can be added without touching the rest.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import { promisify } from 'util';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';
import { normalizeDisplayName } from '@theia-collab/protocol/lib/display-name';
import { CollaborationError } from '@theia-collab/protocol/lib/errors';
import { DisplayName, Limits, LoginProviderId, LoginResult, Role } from '@theia-collab/protocol/lib/wire';

export interface UserIdentity {
    id: string;
    name: string;
    provider: LoginProviderId;
}

/** What a room token asserts: user `sub` is peer `peer` with role `role` in room `room`. */
export interface RoomClaims {
    sub: string;
    room: string;
    peer: string;
    role: Role;
}

const ALGORITHM = 'HS256';
const USER_AUDIENCE = 'collab:user';
const ROOM_AUDIENCE = 'collab:room';

export function randomId(bytes: number): string {
    return crypto.randomBytes(bytes).toString('base64url');
}

export class TokenService {
    protected readonly key: Uint8Array;

    constructor(secret: string, protected readonly issuer: string, protected readonly tokenTtlMs: number) {
        // Derive a fixed-size key so any secret length works the same way.
        this.key = crypto.createHash('sha256').update(`collab-server:jwt:${secret}`).digest();
    }

    async issueLoginToken(identity: UserIdentity): Promise<LoginResult> {
        // Every provider's name passes through here: the last line of defence for what others get to see.
        const user = { ...identity, name: normalizeDisplayName(identity.name) };
        if (!user.name) {
            throw new CollaborationError('bad-request', 'The display name is empty once invisible and control characters are removed.');
        }
        const expiresAt = Date.now() + this.tokenTtlMs;
        const token = await new SignJWT({ name: user.name, provider: user.provider, typ: 'user' })
            .setProtectedHeader({ alg: ALGORITHM })
            .setSubject(user.id)
            .setIssuer(this.issuer)
            .setAudience(USER_AUDIENCE)
            .setIssuedAt()
            .setJti(randomId(12))
            .setExpirationTime(Math.floor(expiresAt / 1000))
            .sign(this.key);
        return { token, user: { id: user.id, name: user.name }, expiresAt };
    }

    async verifyLoginToken(token: unknown): Promise<UserIdentity> {
        const payload = await this.verify(token, USER_AUDIENCE);
        const name = DisplayName.safeParse(typeof payload.name === 'string' ? normalizeDisplayName(payload.name) : payload.name);
        if (payload.typ !== 'user' || typeof payload.sub !== 'string' || !name.success || typeof payload.provider !== 'string') {
            throw new CollaborationError('unauthorized', 'Malformed login token.');
        }
        return { id: payload.sub, name: name.data, provider: payload.provider as LoginProviderId };
    }

    async issueRoomToken(claims: RoomClaims, expiresAt: number): Promise<string> {
        return new SignJWT({ room: claims.room, peer: claims.peer, role: claims.role, typ: 'room' })
            .setProtectedHeader({ alg: ALGORITHM })
            .setSubject(claims.sub)
            .setIssuer(this.issuer)
            .setAudience(ROOM_AUDIENCE)
            .setIssuedAt()
            .setExpirationTime(Math.floor(expiresAt / 1000))
            .sign(this.key);
    }

    async verifyRoomToken(token: unknown): Promise<RoomClaims> {
        const payload = await this.verify(token, ROOM_AUDIENCE);
        const role = Role.safeParse(payload.role);
        if (payload.typ !== 'room' || typeof payload.sub !== 'string' || typeof payload.room !== 'string'
            || typeof payload.peer !== 'string' || !role.success) {
            throw new CollaborationError('unauthorized', 'Malformed room token.');
        }
        return { sub: payload.sub, room: payload.room, peer: payload.peer, role: role.data };
    }

    protected async verify(token: unknown, audience: string): Promise<Record<string, unknown>> {
        if (typeof token !== 'string' || token.length === 0) {
            throw new CollaborationError('unauthorized', 'Missing token: log in first.');
        }
        if (token.length > 8192) {
            throw new CollaborationError('unauthorized', 'Token too long.');
        }
        try {
            const { payload } = await jwtVerify(token, this.key, { algorithms: [ALGORITHM], issuer: this.issuer, audience });
            return payload as Record<string, unknown>;
        } catch (error) {
            if (error instanceof joseErrors.JWTExpired) {
                throw new CollaborationError('unauthorized', 'Token expired: log in again.');
            }
            throw new CollaborationError('unauthorized', 'Invalid token.');
        }
    }
}

// ---- login providers ----

export interface LoginProvider {
    readonly id: LoginProviderId;
    readonly label: string;
    /** POST endpoint taking a JSON body. Providers with redirects (OIDC) will add more routes. */
    readonly path: string;
    /** Throws a CollaborationError ('bad-request', 'unauthorized') when the login is refused. */
    login(body: unknown): Promise<UserIdentity>;
}

/** Raw input; normalised (see display-name.ts) before use. */
const AnonymousLoginBody = z.object({ name: z.string().max(4 * 1024) }).strict();

export class AnonymousLoginProvider implements LoginProvider {
    readonly id = 'anonymous';
    readonly label = 'Anonymous';
    readonly path = '/api/login/anonymous';

    async login(body: unknown): Promise<UserIdentity> {
        const parsed = AnonymousLoginBody.safeParse(body);
        if (!parsed.success) {
            throw new CollaborationError('bad-request', 'Expected {"name": "<display name>"}.');
        }
        const name = normalizeDisplayName(parsed.data.name, Infinity);
        if (!name) {
            throw new CollaborationError('bad-request', 'The display name is empty once invisible and control characters are removed.');
        }
        if (name.length > Limits.maxNameLength) {
            throw new CollaborationError('bad-request', `The display name is longer than ${Limits.maxNameLength} characters.`);
        }
        return { id: `anonymous:${randomId(12)}`, name, provider: 'anonymous' };
    }
}

// ---- token users: scrypt-hashed shared secrets from a JSON file ----

const scrypt = promisify(crypto.scrypt) as (password: crypto.BinaryLike, salt: crypto.BinaryLike, keylen: number, options: crypto.ScryptOptions) => Promise<Buffer>;
const SCRYPT = { N: 16384, r: 8, p: 1, keyLength: 32 };
const UserName = z.string().min(1).max(128).regex(/^[A-Za-z0-9_.@-]+$/);
const HASH_PATTERN = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/;

export async function hashSecret(secret: string): Promise<string> {
    const salt = crypto.randomBytes(16);
    const hash = await scrypt(secret, salt, SCRYPT.keyLength, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p });
    return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

export async function verifySecret(secret: string, encoded: string): Promise<boolean> {
    const match = HASH_PATTERN.exec(encoded);
    if (!match) {
        return false;
    }
    const [N, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])];
    if (N > 2 ** 20 || r > 32 || p > 16) {
        return false;
    }
    const expected = Buffer.from(match[5], 'base64url');
    const actual = await scrypt(secret, Buffer.from(match[4], 'base64url'), expected.length, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 });
    return expected.length > 0 && crypto.timingSafeEqual(expected, actual);
}

export const TokenUserEntry = z.object({
    user: UserName,
    name: DisplayName.optional(),
    secret: z.string().regex(HASH_PATTERN, 'expected a hash from `collab-server hash-secret`')
}).strict();
export type TokenUserEntry = z.infer<typeof TokenUserEntry>;
export const TokenUsersFile = z.union([
    z.object({ users: z.array(TokenUserEntry) }).strict(),
    z.array(TokenUserEntry)
]);

export function loadTokenUsers(path: string): Map<string, TokenUserEntry> {
    let raw: unknown;
    try {
        raw = JSON.parse(fs.readFileSync(path, 'utf8'));
    } catch (error) {
        throw new Error(`Cannot read token users file ${path}: ${error instanceof Error ? error.message : String(error)}`);
    }
    const parsed = TokenUsersFile.safeParse(raw);
    if (!parsed.success) {
        throw new Error(`Invalid token users file ${path}: ${parsed.error.issues.map(issue => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
    }
    const users = new Map<string, TokenUserEntry>();
    for (const entry of Array.isArray(parsed.data) ? parsed.data : parsed.data.users) {
        users.set(entry.user, entry);
    }
    return users;
}

const TokenLoginBody = z.object({ user: z.string().min(1).max(128), secret: z.string().min(1).max(1024) }).strict();

export class TokenLoginProvider implements LoginProvider {
    readonly id = 'token';
    readonly label = 'Access token';
    readonly path = '/api/login/token';
    /** Compared against when the user does not exist, so timing does not reveal user names. */
    protected readonly decoyHash = `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${randomId(16)}$${randomId(32)}`;

    constructor(protected readonly users: Map<string, TokenUserEntry>) { }

    async login(body: unknown): Promise<UserIdentity> {
        const parsed = TokenLoginBody.safeParse(body);
        if (!parsed.success) {
            throw new CollaborationError('bad-request', 'Expected {"user": "...", "secret": "..."}.');
        }
        const entry = this.users.get(parsed.data.user);
        const valid = await verifySecret(parsed.data.secret, entry?.secret ?? this.decoyHash);
        if (!entry || !valid) {
            throw new CollaborationError('unauthorized', 'Unknown user or wrong secret.');
        }
        return { id: `token:${entry.user}`, name: normalizeDisplayName(entry.name ?? '') || entry.user, provider: 'token' };
    }
}
