/**
 * Server options: defaults, validation, and loading from a JSON file, environment variables and
 * command line flags (in increasing precedence).
 */
import * as fs from 'fs';
import type { Logger } from 'pino';
import { Limits } from '@theia-collab/protocol/lib/wire';
import type { RoomStore } from './rooms';
import type { RedisAdapterKind } from './redis-adapter';
import { checkOidcOptions, OidcOptions } from './oidc';

export type ServerMode = 'development' | 'production';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
/** Login providers this server implements. */
export type EnabledProvider = 'anonymous' | 'token' | 'oidc';

/** Token bucket: up to `max` operations, refilled at `max` per `windowMs`. */
export interface RateLimit {
    max: number;
    windowMs: number;
}

export interface ServerOptions {
    hostname: string;
    /** 0 picks a free port. */
    port: number;
    mode: ServerMode;
    /** HS256 signing secret for login and room tokens. Required in production; random per process in development. */
    secret?: string;
    /** JWT issuer; the audience is derived from it. */
    issuer: string;
    /** Lifetime of a room from its creation. */
    roomTtlMs: number;
    /** A room without any relay or control traffic for this long is closed. */
    idleRoomMs: number;
    /** A room without guests (and without pending join requests) for this long is closed. */
    emptyRoomMs: number;
    /** How long the server waits for a response to a relayed request. */
    requestTimeoutMs: number;
    /** Largest relayed envelope `data`, in bytes. */
    maxPayloadBytes: number;
    /**
     * Origins allowed to use the HTTP API and socket from a browser. `*` allows any. Requests without
     * an Origin header (non-browser clients) are always allowed. Default: loopback origins only.
     */
    allowedOrigins: string[];
    /** Lifetime of login tokens. */
    tokenTtlMs: number;
    /** Per remote address, HTTP logins. */
    loginRateLimit: RateLimit;
    /** Per remote address, `room:join` and `room:create`. */
    joinRateLimit: RateLimit;
    /** Per socket, inbound events. */
    socketEventRateLimit: RateLimit;
    /** Per socket, inbound binary bytes. */
    socketByteRateLimit: RateLimit;
    /** Refused events (rate limited) a socket may accumulate before it is disconnected. */
    rateLimitStrikes: number;
    logLevel: LogLevel;
    /**
     * Log lines a client can cause (refused events and connections, floods): at most `max` per socket and per
     * address in each `windowMs`; then one summary line per window counts what was left out.
     */
    logRateLimit: RateLimit;
    /** Use an existing pino logger instead of creating one. */
    logger?: Logger;
    providers: EnabledProvider[];
    /**
     * Anonymous login (a display name, no credential). Default: on in development mode, off in production mode,
     * where it must be switched on explicitly (`--allow-anonymous`, `COLLAB_ALLOW_ANONYMOUS=1`). When on, the
     * `anonymous` provider is enabled; when off, `providers` may not name it.
     */
    allowAnonymous?: boolean;
    /** JSON file of token users (see `collab-server hash-secret`); enables the `token` provider. */
    tokenUsersFile?: string;
    /** OpenID Connect login; enables the `oidc` provider. */
    oidc?: OidcOptions;
    /**
     * Redis (`redis://[:password@]host:port[/db]`, `rediss://` for TLS): several instances with the same
     * Redis and secret then act as one server (shared rooms, socket.io fan-out). In memory otherwise.
     */
    redisUrl?: string;
    /**
     * Redis Cluster instead of `redisUrl`: some of its primaries' URLs (the client discovers the rest). A room's
     * keys share one slot (hash tag `{room:<id>}`); with the sharded adapter each room's channel lives on its shard.
     */
    redisCluster?: string[];
    /**
     * socket.io fan-out through Redis: `sharded` (default; Redis 7 sharded pub/sub, one channel per room, which
     * only the instances holding the room's members subscribe to) or `classic` (one channel every instance
     * receives every broadcast on; for Redis before 7).
     */
    redisAdapter: RedisAdapterKind;
    /** Prefix of the Redis keys and channels (several deployments may share one Redis). */
    redisPrefix: string;
    /**
     * How long a member whose instance stopped (or died) may take to reconnect with its room token
     * and resume; then it is removed (the host: the room closes). Only matters with Redis.
     */
    resumeGraceMs: number;
    /**
     * How long a host whose connection dropped (network, not a deliberate leave) keeps its room: guests
     * see it 'reconnecting' (`room:host-status`) and it may resume with its room token; then the room
     * closes ('host-left').
     */
    hostGraceMs: number;
    /** Likewise for a guest: its place is kept this long, then it leaves ('disconnected'). */
    guestGraceMs: number;
    /**
     * socket.io heartbeat: a ping every `pingIntervalMs`; a connection without answer within `pingTimeoutMs`
     * counts as dropped (so does a client not hearing pings). Lower values notice dead networks sooner.
     */
    pingIntervalMs: number;
    pingTimeoutMs: number;
    /** On shutdown, how long to wait for events being handled before closing. */
    shutdownTimeoutMs: number;
    /** Serve `GET /metrics` (Prometheus). */
    metrics: boolean;
    /** Include Node.js process metrics in `/metrics`. */
    processMetrics: boolean;
    /**
     * When set, `GET /metrics` needs `Authorization: Bearer <metricsToken>` (401 otherwise). At least 16
     * visible ASCII characters.
     */
    metricsToken?: string;
    /** Use the first X-Forwarded-For address as the remote address (only behind a trusted proxy). */
    trustProxy: boolean;
    /**
     * Concurrent socket.io connections per remote address (the address the rate limits use, so behind a
     * trusted proxy the client's); further connections are refused ('rate-limited'). Engine.io handshakes
     * (transport connections that have not yet connected a socket) are bounded at twice this.
     */
    maxConnectionsPerAddress: number;
    /**
     * When set, `GET /api/info?challenge=<nonce>` also answers `challengeResponse`, an HMAC of the nonce and
     * this server's port with this secret (see info-challenge.ts): whoever knows the secret can tell this
     * server from another program on the port. Used by the Theia app's embedded server.
     */
    infoChallengeSecret?: string;
    maxRoomsPerSocket: number;
    maxPendingJoinsPerRoom: number;
    maxPendingRequestsPerPeer: number;
    /**
     * Stored content (sealed parts a host leaves for its guests, see content-store.ts): bound per room, in
     * bytes; the least recently used contents of the room are evicted to make room.
     */
    contentBytesPerRoom: number;
    /** Bound of all stored content of this instance, in bytes; 0 disables stored content. */
    contentBytes: number;
    /**
     * Stored content each room is guaranteed: a room holding at most this much is never evicted by other
     * rooms' puts (only by its own); rooms above it lose their least recently used contents first. Default
     * `min(contentBytesPerRoom, contentBytes / 64)`; 0 lets any room evict any other (plain LRU).
     */
    contentReservedBytesPerRoom?: number;
    /**
     * Replay window: how long the server keeps the envelopes it relayed, so that a member whose connection
     * dropped gets what it missed when it resumes (`room:replay`); 0 keeps nothing.
     */
    replayWindowMs: number;
    /** Bound of one room's replay window, in bytes (data plus 256 per envelope); the oldest envelopes go first. */
    replayWindowBytesPerRoom: number;
    /**
     * Bound of all replay windows held in this instance's memory, in bytes. With Redis the windows are kept
     * there (bounded per room); then this bounds what waits to be written to Redis.
     */
    replayWindowBytes: number;
    /** Period of the cleanup timer; derived from the room timeouts when not set. */
    sweepIntervalMs?: number;
    /**
     * With Redis: how often each instance checks that the rooms of its connections are still in the store
     * (a Redis restarted without persistence lost them: their members get `room:closed`). Default 2 s.
     */
    storeCheckIntervalMs?: number;
    /** Room state storage; in memory by default. */
    store?: RoomStore;
}

export const DEFAULT_OPTIONS: ServerOptions = {
    hostname: '127.0.0.1',
    port: 8100,
    mode: 'development',
    issuer: 'theia-collab',
    roomTtlMs: 24 * 60 * 60 * 1000,
    idleRoomMs: 30 * 60 * 1000,
    emptyRoomMs: 60 * 60 * 1000,
    requestTimeoutMs: 30 * 1000,
    maxPayloadBytes: Limits.maxPayloadBytes,
    allowedOrigins: [],
    tokenTtlMs: 12 * 60 * 60 * 1000,
    loginRateLimit: { max: 20, windowMs: 60 * 1000 },
    joinRateLimit: { max: 30, windowMs: 60 * 1000 },
    socketEventRateLimit: { max: 500, windowMs: 1000 },
    socketByteRateLimit: { max: 32 * 1024 * 1024, windowMs: 1000 },
    rateLimitStrikes: 20,
    logLevel: 'info',
    logRateLimit: { max: 20, windowMs: 10 * 1000 },
    providers: ['anonymous'],
    trustProxy: false,
    maxConnectionsPerAddress: 200,
    maxRoomsPerSocket: 8,
    maxPendingJoinsPerRoom: 32,
    maxPendingRequestsPerPeer: 1024,
    contentBytesPerRoom: 64 * 1024 * 1024,
    contentBytes: 512 * 1024 * 1024,
    replayWindowMs: 120 * 1000,
    replayWindowBytesPerRoom: 8 * 1024 * 1024,
    replayWindowBytes: 256 * 1024 * 1024,
    redisPrefix: 'collab:',
    redisAdapter: 'sharded',
    resumeGraceMs: 60 * 1000,
    hostGraceMs: 60 * 1000,
    guestGraceMs: 2 * 60 * 1000,
    pingIntervalMs: 25 * 1000,
    pingTimeoutMs: 20 * 1000,
    shutdownTimeoutMs: 10 * 1000,
    metrics: true,
    processMetrics: true
};

const LOG_LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Merges over the defaults and checks the result; throws an Error with a readable message. */
export function resolveOptions(options: Partial<ServerOptions>): ServerOptions {
    const defined = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
    const resolved: ServerOptions = { ...DEFAULT_OPTIONS, ...defined };
    const problems: string[] = [];
    const anonymousAllowed = resolved.allowAnonymous ?? resolved.mode !== 'production';
    if (defined.providers === undefined) {
        resolved.providers = anonymousAllowed ? ['anonymous'] : [];
    } else if (resolved.allowAnonymous === true && !resolved.providers.includes('anonymous')) {
        resolved.providers = ['anonymous', ...resolved.providers];
    } else if (!anonymousAllowed && resolved.providers.includes('anonymous')) {
        problems.push(resolved.mode === 'production'
            ? 'anonymous login is off in production mode: switch it on explicitly with --allow-anonymous (COLLAB_ALLOW_ANONYMOUS=1, "allowAnonymous": true), or remove it from the providers'
            : 'the providers name anonymous, but allowAnonymous is false');
    }
    resolved.allowAnonymous = anonymousAllowed;
    if (resolved.tokenUsersFile && !resolved.providers.includes('token')) {
        resolved.providers = [...resolved.providers, 'token'];
    }
    if (resolved.oidc && !resolved.providers.includes('oidc')) {
        resolved.providers = [...resolved.providers, 'oidc'];
    }
    const positive = (name: keyof ServerOptions) => {
        const value = resolved[name];
        if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
            problems.push(`${name} must be a positive number`);
        }
    };
    if (!Number.isInteger(resolved.port) || resolved.port < 0 || resolved.port > 65535) {
        problems.push('port must be an integer between 0 and 65535');
    }
    (['roomTtlMs', 'idleRoomMs', 'emptyRoomMs', 'requestTimeoutMs', 'maxPayloadBytes', 'tokenTtlMs', 'rateLimitStrikes',
        'maxRoomsPerSocket', 'maxPendingJoinsPerRoom', 'maxPendingRequestsPerPeer', 'resumeGraceMs', 'hostGraceMs', 'guestGraceMs',
        'pingIntervalMs', 'pingTimeoutMs', 'shutdownTimeoutMs'] as const).forEach(positive);
    if (!Number.isSafeInteger(resolved.maxConnectionsPerAddress) || resolved.maxConnectionsPerAddress <= 0) {
        problems.push('maxConnectionsPerAddress must be a positive integer');
    }
    if (!Number.isSafeInteger(resolved.contentBytesPerRoom) || resolved.contentBytesPerRoom <= 0) {
        problems.push('contentBytesPerRoom must be a positive integer');
    }
    if (!Number.isSafeInteger(resolved.contentBytes) || resolved.contentBytes < 0) {
        problems.push('contentBytes must be a non-negative integer (0 disables stored content)');
    }
    if (!Number.isSafeInteger(resolved.replayWindowMs) || resolved.replayWindowMs < 0) {
        problems.push('replayWindowMs must be a non-negative integer (0 keeps no replay window)');
    }
    for (const name of ['replayWindowBytesPerRoom', 'replayWindowBytes'] as const) {
        if (!Number.isSafeInteger(resolved[name]) || resolved[name] <= 0) {
            problems.push(`${name} must be a positive integer`);
        }
    }
    if (resolved.storeCheckIntervalMs !== undefined && !(resolved.storeCheckIntervalMs > 0)) {
        problems.push('storeCheckIntervalMs must be a positive number');
    }
    if (resolved.contentReservedBytesPerRoom === undefined) {
        resolved.contentReservedBytesPerRoom = Math.floor(Math.min(resolved.contentBytesPerRoom, resolved.contentBytes / 64));
    } else if (!Number.isSafeInteger(resolved.contentReservedBytesPerRoom) || resolved.contentReservedBytesPerRoom < 0) {
        problems.push('contentReservedBytesPerRoom must be a non-negative integer');
    } else if (resolved.contentReservedBytesPerRoom > resolved.contentBytesPerRoom || resolved.contentReservedBytesPerRoom > resolved.contentBytes) {
        problems.push('contentReservedBytesPerRoom may not exceed contentBytesPerRoom nor contentBytes');
    }
    if (resolved.metricsToken !== undefined && (typeof resolved.metricsToken !== 'string' || !/^[\x21-\x7e]{16,1024}$/.test(resolved.metricsToken))) {
        problems.push('metricsToken must be 16 to 1024 visible ASCII characters (no spaces)');
    }
    if (resolved.infoChallengeSecret !== undefined && (typeof resolved.infoChallengeSecret !== 'string' || resolved.infoChallengeSecret.length < 32)) {
        problems.push('infoChallengeSecret must be at least 32 characters');
    }
    if (resolved.maxPayloadBytes > Limits.maxPayloadBytes) {
        problems.push(`maxPayloadBytes may not exceed the protocol limit of ${Limits.maxPayloadBytes}`);
    }
    if (resolved.maxPayloadBytes < Limits.minPayloadBytes) {
        problems.push(`maxPayloadBytes must be at least ${Limits.minPayloadBytes} (document updates are sent in parts of 512 KiB)`);
    }
    if (resolved.redisUrl !== undefined && !/^rediss?:\/\//.test(resolved.redisUrl)) {
        problems.push('redisUrl must start with redis:// or rediss://');
    }
    if (resolved.redisCluster !== undefined) {
        if (!Array.isArray(resolved.redisCluster) || resolved.redisCluster.length === 0 || resolved.redisCluster.some(url => typeof url !== 'string' || !/^rediss?:\/\//.test(url))) {
            problems.push('redisCluster must list one or more URLs starting with redis:// or rediss://');
        }
        if (resolved.redisUrl !== undefined) {
            problems.push('redisUrl and redisCluster exclude each other');
        }
    }
    if (resolved.redisAdapter !== 'sharded' && resolved.redisAdapter !== 'classic') {
        problems.push('redisAdapter must be sharded or classic');
    }
    if (!/^[A-Za-z0-9_.:{}-]{0,64}$/.test(resolved.redisPrefix)) {
        problems.push('redisPrefix may only contain letters, digits and _ . : { } - (at most 64)');
    }
    for (const name of ['loginRateLimit', 'joinRateLimit', 'socketEventRateLimit', 'socketByteRateLimit', 'logRateLimit'] as const) {
        const limit = resolved[name];
        if (!limit || !(limit.max > 0) || !(limit.windowMs > 0)) {
            problems.push(`${name} must have a positive max and windowMs`);
        }
    }
    if (resolved.mode !== 'development' && resolved.mode !== 'production') {
        problems.push(`mode must be 'development' or 'production'`);
    }
    if (!LOG_LEVELS.includes(resolved.logLevel)) {
        problems.push(`logLevel must be one of ${LOG_LEVELS.join(', ')}`);
    }
    for (const provider of resolved.providers) {
        if (provider !== 'anonymous' && provider !== 'token' && provider !== 'oidc') {
            problems.push(`unknown login provider '${provider}'`);
        }
    }
    if (resolved.providers.includes('token') && !resolved.tokenUsersFile) {
        problems.push('the token login provider needs tokenUsersFile');
    }
    if (resolved.providers.includes('oidc')) {
        problems.push(...resolved.oidc ? checkOidcOptions(resolved.oidc, resolved.mode === 'production') : ['the oidc login provider needs oidc.issuer and oidc.clientId']);
    }
    if (resolved.mode === 'production' && resolved.providers.length === 0) {
        problems.push('production mode has no login provider: configure token users (COLLAB_TOKEN_USERS) or OpenID Connect (COLLAB_OIDC_ISSUER), '
            + 'or switch anonymous login on explicitly (--allow-anonymous, COLLAB_ALLOW_ANONYMOUS=1)');
    }
    if (resolved.mode === 'production' && !resolved.secret) {
        problems.push('production mode needs a secret (COLLAB_SECRET)');
    }
    if (resolved.secret !== undefined && resolved.secret.length < 32) {
        problems.push('secret must be at least 32 characters');
    }
    if (problems.length) {
        throw new Error(`Invalid collab-server configuration: ${problems.join('; ')}`);
    }
    return resolved;
}

/** `1500`, `1500ms`, `90s`, `30m`, `24h`, `7d` -> milliseconds. */
export function parseDuration(value: string | number): number {
    if (typeof value === 'number') {
        return value;
    }
    const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(value);
    if (!match) {
        throw new Error(`Invalid duration '${value}' (use e.g. 1500, 90s, 30m, 24h)`);
    }
    const units = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
    const unit = units[(match[2] ?? 'ms') as keyof typeof units];
    return Math.round(Number(match[1]) * unit);
}

function parseInteger(name: string, value: string): number {
    if (!/^\d+$/.test(value.trim())) {
        throw new Error(`${name} must be a non-negative integer, got '${value}'`);
    }
    return Number(value);
}

/** `20/1m` -> at most 20 per minute (byte limits in bytes: `33554432/1s`). */
export function parseRate(value: string): RateLimit {
    const match = /^\s*(\d+)\s*\/\s*(\S+)\s*$/.exec(value);
    if (!match) {
        throw new Error(`Invalid rate '${value}' (use <max>/<duration>, e.g. 20/1m)`);
    }
    return { max: Number(match[1]), windowMs: parseDuration(match[2]) };
}

function parseBoolean(name: string, value: string): boolean {
    if (/^(1|true|yes|on)$/i.test(value.trim())) {
        return true;
    }
    if (/^(0|false|no|off)$/i.test(value.trim())) {
        return false;
    }
    throw new Error(`${name} must be true or false, got '${value}'`);
}

function parseList(value: string): string[] {
    return value.split(',').map(item => item.trim()).filter(item => item.length > 0);
}

/** Options from a JSON file; durations may be strings like `30m`. */
export function loadConfigFile(path: string): Partial<ServerOptions> {
    let parsed: unknown;
    try {
        parsed = JSON.parse(fs.readFileSync(path, 'utf8'));
    } catch (error) {
        throw new Error(`Cannot read config file ${path}: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        throw new Error(`Config file ${path} must contain a JSON object`);
    }
    const result: Record<string, unknown> = { ...parsed };
    const oidc = result.oidc as Record<string, unknown> | undefined;
    if (oidc && typeof oidc === 'object' && typeof oidc.loginTimeoutMs === 'string') {
        result.oidc = { ...oidc, loginTimeoutMs: parseDuration(oidc.loginTimeoutMs) };
    }
    for (const key of ['roomTtlMs', 'idleRoomMs', 'emptyRoomMs', 'requestTimeoutMs', 'tokenTtlMs', 'sweepIntervalMs', 'resumeGraceMs', 'hostGraceMs', 'guestGraceMs',
        'pingIntervalMs', 'pingTimeoutMs', 'shutdownTimeoutMs', 'replayWindowMs', 'storeCheckIntervalMs']) {
        if (typeof result[key] === 'string') {
            result[key] = parseDuration(result[key] as string);
        }
    }
    for (const key of ['loginRateLimit', 'joinRateLimit', 'socketEventRateLimit', 'socketByteRateLimit', 'logRateLimit']) {
        if (typeof result[key] === 'string') {
            result[key] = parseRate(result[key] as string);
        }
    }
    for (const key of Object.keys(result)) {
        if (!(key in DEFAULT_OPTIONS) && !['secret', 'tokenUsersFile', 'oidc', 'redisUrl', 'redisCluster', 'sweepIntervalMs', 'allowAnonymous', 'metricsToken', 'contentReservedBytesPerRoom', 'infoChallengeSecret', 'storeCheckIntervalMs'].includes(key)) {
            throw new Error(`Unknown option '${key}' in config file ${path}`);
        }
    }
    return result as Partial<ServerOptions>;
}

export function loadConfigFromEnv(env: NodeJS.ProcessEnv): Partial<ServerOptions> {
    const options: Partial<ServerOptions> = {};
    if (env.COLLAB_PORT) { options.port = parseInteger('COLLAB_PORT', env.COLLAB_PORT); }
    if (env.COLLAB_HOST) { options.hostname = env.COLLAB_HOST; }
    if (env.COLLAB_SECRET) { options.secret = env.COLLAB_SECRET; }
    if (env.COLLAB_ROOM_TTL) { options.roomTtlMs = parseDuration(env.COLLAB_ROOM_TTL); }
    if (env.COLLAB_IDLE_ROOM) { options.idleRoomMs = parseDuration(env.COLLAB_IDLE_ROOM); }
    if (env.COLLAB_ALLOWED_ORIGINS) { options.allowedOrigins = parseList(env.COLLAB_ALLOWED_ORIGINS); }
    if (env.COLLAB_LOG_LEVEL) { options.logLevel = env.COLLAB_LOG_LEVEL as LogLevel; }
    if (env.COLLAB_MODE) { options.mode = env.COLLAB_MODE as ServerMode; }
    if (env.COLLAB_TOKEN_USERS) { options.tokenUsersFile = env.COLLAB_TOKEN_USERS; }
    if (env.COLLAB_PROVIDERS) { options.providers = parseList(env.COLLAB_PROVIDERS) as EnabledProvider[]; }
    if (env.COLLAB_REDIS_URL) { options.redisUrl = env.COLLAB_REDIS_URL; }
    if (env.COLLAB_REDIS_PREFIX) { options.redisPrefix = env.COLLAB_REDIS_PREFIX; }
    if (env.COLLAB_REDIS_CLUSTER) { options.redisCluster = parseList(env.COLLAB_REDIS_CLUSTER); }
    if (env.COLLAB_REDIS_ADAPTER) { options.redisAdapter = env.COLLAB_REDIS_ADAPTER as RedisAdapterKind; }
    if (env.COLLAB_EMPTY_ROOM) { options.emptyRoomMs = parseDuration(env.COLLAB_EMPTY_ROOM); }
    if (env.COLLAB_REQUEST_TIMEOUT) { options.requestTimeoutMs = parseDuration(env.COLLAB_REQUEST_TIMEOUT); }
    if (env.COLLAB_RESUME_GRACE) { options.resumeGraceMs = parseDuration(env.COLLAB_RESUME_GRACE); }
    if (env.COLLAB_HOST_GRACE) { options.hostGraceMs = parseDuration(env.COLLAB_HOST_GRACE); }
    if (env.COLLAB_GUEST_GRACE) { options.guestGraceMs = parseDuration(env.COLLAB_GUEST_GRACE); }
    if (env.COLLAB_PING_INTERVAL) { options.pingIntervalMs = parseDuration(env.COLLAB_PING_INTERVAL); }
    if (env.COLLAB_PING_TIMEOUT) { options.pingTimeoutMs = parseDuration(env.COLLAB_PING_TIMEOUT); }
    if (env.COLLAB_SHUTDOWN_TIMEOUT) { options.shutdownTimeoutMs = parseDuration(env.COLLAB_SHUTDOWN_TIMEOUT); }
    if (env.COLLAB_TOKEN_TTL) { options.tokenTtlMs = parseDuration(env.COLLAB_TOKEN_TTL); }
    if (env.COLLAB_MAX_PAYLOAD) { options.maxPayloadBytes = parseInteger('COLLAB_MAX_PAYLOAD', env.COLLAB_MAX_PAYLOAD); }
    if (env.COLLAB_CONTENT_BYTES_PER_ROOM) { options.contentBytesPerRoom = parseInteger('COLLAB_CONTENT_BYTES_PER_ROOM', env.COLLAB_CONTENT_BYTES_PER_ROOM); }
    if (env.COLLAB_CONTENT_RESERVED_BYTES_PER_ROOM) {
        options.contentReservedBytesPerRoom = parseInteger('COLLAB_CONTENT_RESERVED_BYTES_PER_ROOM', env.COLLAB_CONTENT_RESERVED_BYTES_PER_ROOM);
    }
    if (env.COLLAB_MAX_CONNECTIONS_PER_ADDRESS) {
        options.maxConnectionsPerAddress = parseInteger('COLLAB_MAX_CONNECTIONS_PER_ADDRESS', env.COLLAB_MAX_CONNECTIONS_PER_ADDRESS);
    }
    if (env.COLLAB_ALLOW_ANONYMOUS) { options.allowAnonymous = parseBoolean('COLLAB_ALLOW_ANONYMOUS', env.COLLAB_ALLOW_ANONYMOUS); }
    if (env.COLLAB_METRICS_TOKEN) { options.metricsToken = env.COLLAB_METRICS_TOKEN; }
    if (env.COLLAB_INFO_CHALLENGE_SECRET) { options.infoChallengeSecret = env.COLLAB_INFO_CHALLENGE_SECRET; }
    if (env.COLLAB_CONTENT_BYTES) { options.contentBytes = parseInteger('COLLAB_CONTENT_BYTES', env.COLLAB_CONTENT_BYTES); }
    if (env.COLLAB_LOGIN_RATE) { options.loginRateLimit = parseRate(env.COLLAB_LOGIN_RATE); }
    if (env.COLLAB_JOIN_RATE) { options.joinRateLimit = parseRate(env.COLLAB_JOIN_RATE); }
    if (env.COLLAB_EVENT_RATE) { options.socketEventRateLimit = parseRate(env.COLLAB_EVENT_RATE); }
    if (env.COLLAB_BYTE_RATE) { options.socketByteRateLimit = parseRate(env.COLLAB_BYTE_RATE); }
    if (env.COLLAB_LOG_RATE) { options.logRateLimit = parseRate(env.COLLAB_LOG_RATE); }
    if (env.COLLAB_REPLAY_WINDOW) { options.replayWindowMs = parseDuration(env.COLLAB_REPLAY_WINDOW); }
    if (env.COLLAB_REPLAY_WINDOW_BYTES_PER_ROOM) {
        options.replayWindowBytesPerRoom = parseInteger('COLLAB_REPLAY_WINDOW_BYTES_PER_ROOM', env.COLLAB_REPLAY_WINDOW_BYTES_PER_ROOM);
    }
    if (env.COLLAB_REPLAY_WINDOW_BYTES) { options.replayWindowBytes = parseInteger('COLLAB_REPLAY_WINDOW_BYTES', env.COLLAB_REPLAY_WINDOW_BYTES); }
    if (env.COLLAB_METRICS) { options.metrics = parseBoolean('COLLAB_METRICS', env.COLLAB_METRICS); }
    const oidc = oidcFromEnv(env);
    if (oidc) { options.oidc = oidc as OidcOptions; }
    if (env.COLLAB_TRUST_PROXY) { options.trustProxy = env.COLLAB_TRUST_PROXY === 'true' || env.COLLAB_TRUST_PROXY === '1'; }
    return options;
}

/** `COLLAB_OIDC_*`; the client secret is only ever read from here or the config file. */
function oidcFromEnv(env: NodeJS.ProcessEnv): Partial<OidcOptions> | undefined {
    const oidc: Partial<OidcOptions> = {};
    if (env.COLLAB_OIDC_ISSUER) { oidc.issuer = env.COLLAB_OIDC_ISSUER; }
    if (env.COLLAB_OIDC_CLIENT_ID) { oidc.clientId = env.COLLAB_OIDC_CLIENT_ID; }
    if (env.COLLAB_OIDC_CLIENT_SECRET) { oidc.clientSecret = env.COLLAB_OIDC_CLIENT_SECRET; }
    if (env.COLLAB_OIDC_SCOPES) { oidc.scopes = env.COLLAB_OIDC_SCOPES.split(/[\s,]+/).filter(Boolean); }
    if (env.COLLAB_OIDC_REDIRECT_BASE_URL) { oidc.redirectBaseUrl = env.COLLAB_OIDC_REDIRECT_BASE_URL; }
    if (env.COLLAB_OIDC_ALLOWED_EMAIL_DOMAINS) { oidc.allowedEmailDomains = parseList(env.COLLAB_OIDC_ALLOWED_EMAIL_DOMAINS); }
    if (env.COLLAB_OIDC_LABEL) { oidc.label = env.COLLAB_OIDC_LABEL; }
    return Object.keys(oidc).length ? oidc : undefined;
}

export interface ParsedArgs {
    options: Partial<ServerOptions>;
    configFile?: string;
    help: boolean;
}

/** Flags of the `serve` command (the default). */
export function parseArgs(argv: string[]): ParsedArgs {
    const options: Partial<ServerOptions> = {};
    let configFile: string | undefined;
    let help = false;
    for (let i = 0; i < argv.length; i++) {
        const raw = argv[i];
        const eq = raw.indexOf('=');
        const flag = eq > 0 ? raw.slice(0, eq) : raw;
        const value = (): string => {
            if (eq > 0) {
                return raw.slice(eq + 1);
            }
            const next = argv[++i];
            if (next === undefined) {
                throw new Error(`Missing value for ${flag}`);
            }
            return next;
        };
        switch (flag) {
            case '-h': case '--help': help = true; break;
            case '-p': case '--port': options.port = parseInteger('--port', value()); break;
            case '--host': case '--hostname': options.hostname = value(); break;
            case '-c': case '--config': configFile = value(); break;
            case '--mode': options.mode = value() as ServerMode; break;
            case '--room-ttl': options.roomTtlMs = parseDuration(value()); break;
            case '--idle-room': options.idleRoomMs = parseDuration(value()); break;
            case '--request-timeout': options.requestTimeoutMs = parseDuration(value()); break;
            case '--allowed-origins': options.allowedOrigins = parseList(value()); break;
            case '--log-level': options.logLevel = value() as LogLevel; break;
            case '--token-users': options.tokenUsersFile = value(); break;
            case '--providers': options.providers = parseList(value()) as EnabledProvider[]; break;
            case '--trust-proxy': options.trustProxy = true; break;
            case '--redis': options.redisUrl = value(); break;
            case '--redis-prefix': options.redisPrefix = value(); break;
            case '--redis-cluster': options.redisCluster = parseList(value()); break;
            case '--redis-adapter': options.redisAdapter = value() as RedisAdapterKind; break;
            case '--empty-room': options.emptyRoomMs = parseDuration(value()); break;
            case '--resume-grace': options.resumeGraceMs = parseDuration(value()); break;
            case '--host-grace': options.hostGraceMs = parseDuration(value()); break;
            case '--guest-grace': options.guestGraceMs = parseDuration(value()); break;
            case '--ping-interval': options.pingIntervalMs = parseDuration(value()); break;
            case '--ping-timeout': options.pingTimeoutMs = parseDuration(value()); break;
            case '--shutdown-timeout': options.shutdownTimeoutMs = parseDuration(value()); break;
            case '--token-ttl': options.tokenTtlMs = parseDuration(value()); break;
            case '--max-payload': options.maxPayloadBytes = parseInteger('--max-payload', value()); break;
            case '--content-bytes-per-room': options.contentBytesPerRoom = parseInteger('--content-bytes-per-room', value()); break;
            case '--content-reserved-bytes-per-room': options.contentReservedBytesPerRoom = parseInteger('--content-reserved-bytes-per-room', value()); break;
            case '--max-connections-per-address': options.maxConnectionsPerAddress = parseInteger('--max-connections-per-address', value()); break;
            case '--allow-anonymous': options.allowAnonymous = true; break;
            case '--no-anonymous': options.allowAnonymous = false; break;
            case '--metrics-token': options.metricsToken = value(); break;
            case '--content-bytes': options.contentBytes = parseInteger('--content-bytes', value()); break;
            case '--login-rate': options.loginRateLimit = parseRate(value()); break;
            case '--join-rate': options.joinRateLimit = parseRate(value()); break;
            case '--event-rate': options.socketEventRateLimit = parseRate(value()); break;
            case '--byte-rate': options.socketByteRateLimit = parseRate(value()); break;
            case '--no-metrics': options.metrics = false; break;
            case '--log-rate': options.logRateLimit = parseRate(value()); break;
            case '--replay-window': options.replayWindowMs = parseDuration(value()); break;
            case '--replay-window-bytes-per-room': options.replayWindowBytesPerRoom = parseInteger('--replay-window-bytes-per-room', value()); break;
            case '--replay-window-bytes': options.replayWindowBytes = parseInteger('--replay-window-bytes', value()); break;
            case '--oidc-issuer': options.oidc = { ...options.oidc!, issuer: value() }; break;
            case '--oidc-client-id': options.oidc = { ...options.oidc!, clientId: value() }; break;
            case '--oidc-scopes': options.oidc = { ...options.oidc!, scopes: value().split(/[\s,]+/).filter(Boolean) }; break;
            case '--oidc-redirect-base-url': options.oidc = { ...options.oidc!, redirectBaseUrl: value() }; break;
            case '--oidc-allowed-email-domains': options.oidc = { ...options.oidc!, allowedEmailDomains: parseList(value()) }; break;
            default: throw new Error(`Unknown argument '${raw}' (see --help)`);
        }
    }
    return { options, configFile, help };
}

/** Precedence: defaults < config file < environment < flags. */
export function loadOptions(argv: string[], env: NodeJS.ProcessEnv): { options: Partial<ServerOptions>; help: boolean } {
    const args = parseArgs(argv);
    const file = args.configFile ?? env.COLLAB_CONFIG;
    const fromFile = file ? loadConfigFile(file) : {};
    const fromEnv = loadConfigFromEnv(env);
    const merged: Partial<ServerOptions> = { ...fromFile, ...fromEnv, ...args.options };
    if (fromFile.oidc || fromEnv.oidc || args.options.oidc) {
        // Merged key by key, so the secret may come from the environment and the rest from the file.
        merged.oidc = { ...fromFile.oidc!, ...fromEnv.oidc, ...args.options.oidc };
    }
    return { options: merged, help: args.help };
}
