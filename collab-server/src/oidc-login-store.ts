/**
 * Pending OpenID Connect logins (see oidc.ts): in memory for one instance, in Redis when several
 * instances share the work, so that a login started on one instance may be called back and polled
 * on any other.
 *
 * Redis keys (under the configured prefix; `<h>` is the SHA-256 of the login id, base64url, so that
 * key names do not reveal the poller's secret):
 * - `oidc:login:<h>`      hash: `r` the login (JSON), `o` its outcome (JSON) once the callback finished.
 *                          Expires with the login (after the callback: with its result grace period).
 * - `oidc:state:<state>`  `<h>`; taken (read and deleted) atomically by the one callback it allows.
 * - `oidc:logins`         sorted set of `<h>` by expiry (Redis clock): counts pending logins for the bound.
 */
import * as crypto from 'crypto';
import { z } from 'zod';
import type { CollaborationErrorData } from '@theia-collab/protocol/lib/errors';
import type { LoginResult } from '@theia-collab/protocol/lib/wire';
import { LuaScript, RedisClient } from './redis';

export type LoginOutcome = { result: LoginResult } | { error: CollaborationErrorData };

export interface PendingLogin {
    loginId: string;
    state: string;
    nonce: string;
    /** PKCE verifier: a secret, never logged. */
    codeVerifier: string;
    /** Milliseconds since the epoch (this instance's clock). */
    expiresAt: number;
    address: string;
}

export interface StoredLogin extends PendingLogin {
    outcome?: LoginOutcome;
}

export interface OidcLoginStore {
    /** Keeps `login` until its `expiresAt`, unless `max` logins are pending already: then false. */
    add(login: PendingLogin, max: number, now: number): Promise<boolean>;
    /** The login of `state`. The state is spent by this call, whatever the answer: one callback per state. */
    takeByState(state: string): Promise<StoredLogin | undefined>;
    /** Records the outcome of a login still kept (once); it is then kept until `expiresAt`. */
    finish(loginId: string, outcome: LoginOutcome, expiresAt: number, now: number): Promise<void>;
    /** The login; when it has an outcome, it is removed by this call, so that one poll gets the outcome. */
    poll(loginId: string): Promise<StoredLogin | undefined>;
    remove(loginId: string): Promise<void>;
    /** Forgets expired logins (Redis expires them itself). */
    sweep(now: number): void;
}

export class MemoryOidcLoginStore implements OidcLoginStore {
    protected readonly byId = new Map<string, StoredLogin>();
    protected readonly byState = new Map<string, StoredLogin>();

    async add(login: PendingLogin, max: number, now: number): Promise<boolean> {
        this.sweep(now);
        if (this.byId.size >= max) {
            return false;
        }
        const stored = { ...login };
        this.byId.set(login.loginId, stored);
        this.byState.set(login.state, stored);
        return true;
    }

    async takeByState(state: string): Promise<StoredLogin | undefined> {
        const login = this.byState.get(state);
        this.byState.delete(state);
        return login && { ...login };
    }

    async finish(loginId: string, outcome: LoginOutcome, expiresAt: number): Promise<void> {
        const login = this.byId.get(loginId);
        if (login && !login.outcome) {
            login.outcome = outcome;
            login.expiresAt = expiresAt;
        }
    }

    async poll(loginId: string): Promise<StoredLogin | undefined> {
        const login = this.byId.get(loginId);
        if (login?.outcome) {
            this.forget(login);
        }
        return login && { ...login };
    }

    async remove(loginId: string): Promise<void> {
        const login = this.byId.get(loginId);
        if (login) {
            this.forget(login);
        }
    }

    sweep(now: number): void {
        for (const login of this.byId.values()) {
            if (login.expiresAt <= now) {
                this.forget(login);
            }
        }
    }

    protected forget(login: StoredLogin): void {
        this.byId.delete(login.loginId);
        if (this.byState.get(login.state) === login) {
            this.byState.delete(login.state);
        }
    }
}

/** What Redis gives back is checked like any input: a record of another version or a broken one counts as missing. */
const StoredLoginSchema = z.object({
    loginId: z.string().max(64),
    state: z.string().max(64),
    nonce: z.string().max(64),
    codeVerifier: z.string().max(128),
    expiresAt: z.number(),
    address: z.string().max(256)
});
const OutcomeSchema = z.union([
    z.object({ result: z.object({ token: z.string(), user: z.object({ id: z.string(), name: z.string() }), expiresAt: z.number() }) }),
    z.object({ error: z.object({ code: z.string(), message: z.string() }) })
]);

// Pending logins counted for the bound are those whose expiry (Redis clock) lies ahead; the index
// itself expires with its latest member, so an idle deployment leaves nothing behind.
const INDEX = `local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local function index(key, ttl, member)
  redis.call('ZADD', key, now + ttl, member)
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
end`;

/** KEYS: login, state, index. ARGV: login JSON, ttl ms, max pending, hashed id. */
const ADD = new LuaScript(`${INDEX}
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], 'r', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[2])
index(KEYS[3], tonumber(ARGV[2]), ARGV[4])
return 1
`);

/** KEYS: state. Read and delete in one step (GETDEL, also on Redis before 6.2). */
const TAKE = new LuaScript(`
local value = redis.call('GET', KEYS[1])
if value then redis.call('DEL', KEYS[1]) end
return value
`);

/** KEYS: login, index. ARGV: outcome JSON, ttl ms, hashed id. */
const FINISH = new LuaScript(`${INDEX}
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], 'o') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'o', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
index(KEYS[2], tonumber(ARGV[2]), ARGV[3])
return 1
`);

/** KEYS: login, index. ARGV: hashed id. A finished login is handed out once. */
const POLL = new LuaScript(`
local values = redis.call('HMGET', KEYS[1], 'r', 'o')
if values[1] and values[2] then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return values
`);

export class RedisOidcLoginStore implements OidcLoginStore {
    constructor(protected readonly client: RedisClient, protected readonly prefix: string) { }

    protected hashed(loginId: string): string {
        return crypto.createHash('sha256').update(loginId).digest('base64url');
    }

    protected loginKey(hashed: string): string {
        return `${this.prefix}oidc:login:${hashed}`;
    }

    protected get indexKey(): string {
        return `${this.prefix}oidc:logins`;
    }

    async add(login: PendingLogin, max: number, now: number): Promise<boolean> {
        const hashed = this.hashed(login.loginId);
        const added = await ADD.run(this.client, [this.loginKey(hashed), `${this.prefix}oidc:state:${login.state}`, this.indexKey], [
            JSON.stringify(login), ttl(login.expiresAt, now), max, hashed
        ]);
        return added === 1;
    }

    async takeByState(state: string): Promise<StoredLogin | undefined> {
        const hashed = await TAKE.run(this.client, [`${this.prefix}oidc:state:${state}`], []);
        if (typeof hashed !== 'string') {
            return undefined;
        }
        const [record, outcome] = await this.client.hmGet(this.loginKey(hashed), ['r', 'o']);
        const login = parse(record, outcome);
        return login?.state === state ? login : undefined;
    }

    async finish(loginId: string, outcome: LoginOutcome, expiresAt: number, now: number): Promise<void> {
        const hashed = this.hashed(loginId);
        await FINISH.run(this.client, [this.loginKey(hashed), this.indexKey], [JSON.stringify(outcome), ttl(expiresAt, now), hashed]);
    }

    async poll(loginId: string): Promise<StoredLogin | undefined> {
        const hashed = this.hashed(loginId);
        const [record, outcome] = await POLL.run(this.client, [this.loginKey(hashed), this.indexKey], [hashed]) as (string | null)[];
        const login = parse(record, outcome);
        return login?.loginId === loginId ? login : undefined;
    }

    async remove(loginId: string): Promise<void> {
        const hashed = this.hashed(loginId);
        await this.client.multi().del(this.loginKey(hashed)).zRem(this.indexKey, hashed).exec();
    }

    sweep(): void { }
}

/** Redis TTLs are relative, so the clocks of instances and Redis need not agree. */
function ttl(expiresAt: number, now: number): number {
    return Math.max(1, Math.round(expiresAt - now));
}

function parse(record: string | null | undefined, outcome: string | null | undefined): StoredLogin | undefined {
    try {
        const login: StoredLogin | undefined = record ? StoredLoginSchema.parse(JSON.parse(record)) : undefined;
        if (login && outcome) {
            login.outcome = OutcomeSchema.parse(JSON.parse(outcome)) as LoginOutcome;
        }
        return login;
    } catch {
        return undefined;
    }
}
