/**
 * Redis for multi-instance deployments: connections, Lua script helper, and the Redis side of the
 * cluster (instance heartbeats, cleanup lock, readiness). Room state lives in redis-store.ts;
 * socket.io fan-out uses @socket.io/redis-adapter (see server.ts).
 *
 * Four connections: commands (room store, pending requests, heartbeats, locks, readiness), the
 * adapter's publisher, the adapter's subscriber, and the replay window's appends. Commands never share a
 * connection with the adapter's publishing nor the window's appends: Redis answers a connection's commands
 * in order, so under fan-out load every command (e.g. the relay's activity stamp, a heartbeat) would wait
 * behind thousands of PUBLISHes.
 *
 * A Redis outage degrades instead of killing: every connection reconnects by itself (backoff up to 2 s);
 * meanwhile commands fail at once ('unavailable' for clients), and the adapter's PUBLISHes, which it never
 * waits for, fail without an unhandled rejection (`guardPublisher`): socket.io still delivers every event to
 * the sockets of this instance, so sessions within one instance go on.
 *
 * Works against a single Redis (or a primary behind Sentinel) and against a Redis Cluster (`clusterUrls`): every
 * script touches keys of one slot only. A room's keys share the hash tag `{room:<id>}` (see `roomKey`), so they
 * live on one shard; the few global keys (room index, request deadlines, instances, locks) are each touched alone.
 * Fan-out with the sharded adapter (Redis 7 SSUBSCRIBE/SPUBLISH, one channel per socket.io room) spreads over
 * the cluster's shards too.
 */
import * as crypto from 'crypto';
import { createClient, createCluster } from 'redis';
import type { Logger } from 'pino';
import { randomId } from './auth';
import type { Cluster } from './cluster';

export type RedisClient = ReturnType<typeof createClient>;

export interface RedisOptions {
    /** A single Redis; with `clusterUrls`, only used in logs. */
    url: string;
    /** Redis Cluster: some of its nodes (the client discovers the others). */
    clusterUrls?: string[];
    /** Prefix of every key and pub/sub channel, so that several deployments can share a Redis. */
    prefix: string;
    logger: Logger;
    connectTimeoutMs?: number;
    /** How often an instance reports itself alive; it counts as dead after three missed reports. */
    heartbeatMs?: number;
}

/**
 * The key of a room's record under `prefix`, and the stem of every other key of that room: the hash tag
 * `{room:<id>}` puts all of them into one Redis Cluster slot, so that scripts may touch several of them.
 */
export function roomKey(prefix: string, roomId: string): string {
    return `${prefix}{room:${roomId}}`;
}

/**
 * Times store operations (Redis round trips) for the metrics: set per client by the server. `operation` names the
 * script or command.
 */
export type RedisTimer = (operation: string, seconds: number) => void;
const timers = new WeakMap<object, RedisTimer>();
export function setRedisTimer(client: RedisClient, timer: RedisTimer): void {
    timers.set(client, timer);
}

/** Runs `command` on `client` and reports its duration under `operation` (see `setRedisTimer`). */
export async function timed<T>(client: RedisClient, operation: string, command: () => Promise<T>): Promise<T> {
    const timer = timers.get(client);
    if (!timer) {
        return command();
    }
    const started = process.hrtime.bigint();
    try {
        return await command();
    } finally {
        timer(operation, Number(process.hrtime.bigint() - started) / 1e9);
    }
}

/** The URL without its password, for logs. */
export function redactRedisUrl(url: string): string {
    try {
        const parsed = new URL(url);
        if (parsed.password) {
            parsed.password = '***';
        }
        return parsed.toString();
    } catch {
        return 'redis://(unparsable url)';
    }
}

/** A Lua script run by its SHA1, loaded on first use (and again after a Redis restart). */
export class LuaScript {
    readonly sha: string;

    constructor(readonly source: string, readonly name = 'script') {
        this.sha = crypto.createHash('sha1').update(source).digest('hex');
    }

    run(client: RedisClient, keys: string[], args: (string | number)[]): Promise<unknown> {
        return timed(client, this.name, () => this.send(client, keys, args));
    }

    protected async send(client: RedisClient, keys: string[], args: (string | number)[]): Promise<unknown> {
        if (isClusterClient(client)) {
            return this.sendToCluster(client as unknown as ClusterClient, keys, args.map(String));
        }
        const options = { keys, arguments: args.map(String) };
        try {
            return await client.evalSha(this.sha, options);
        } catch (error) {
            if (error instanceof Error && error.message.includes('NOSCRIPT')) {
                return client.eval(this.source, options);
            }
            throw error;
        }
    }

    /**
     * node-redis 4.7's cluster client routes EVAL/EVALSHA by the script's first argument instead of its first key
     * (`evalFirstKeyIndex(options)` gets the script), i.e. to a random node: MOVED until it gives up. Route by the
     * first key here.
     */
    protected async sendToCluster(cluster: ClusterClient, keys: string[], args: string[]): Promise<unknown> {
        const tail = [String(keys.length), ...keys, ...args];
        try {
            return await cluster.sendCommand(keys[0], false, ['EVALSHA', this.sha, ...tail]);
        } catch (error) {
            if (error instanceof Error && error.message.includes('NOSCRIPT')) {
                return cluster.sendCommand(keys[0], false, ['EVAL', this.source, ...tail]);
            }
            throw error;
        }
    }
}

type ClusterClient = ReturnType<typeof createCluster>;

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
        promise,
        new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(message)), ms); })
    ]).finally(() => clearTimeout(timer));
}

/**
 * The client writes queued commands while the socket accepts them, then waits for 'drain' and for
 * the next turn of the event loop: with Node's default 16 KB, a publisher of 1 KB messages sends
 * about 15 of them per turn and falls behind under fan-out load. Allow more per turn.
 */
const PUBLISHER_HIGH_WATER_MARK = 1024 * 1024;

/**
 * A Redis Cluster client, made to look like a single-node client for what this server uses of it: `isReady`
 * (every known node connected) and `ping` (a random node). Commands go to the node of their first key.
 */
function clusterClient(options: RedisOptions, clientOptions: Parameters<typeof createClient>[0] & object): RedisClient {
    const cluster = createCluster({
        rootNodes: options.clusterUrls!.map(url => ({ url })),
        defaults: clientOptions,
        // Answers from replicas could be stale (a room record just written): always ask the primaries.
        useReplicas: false
    });
    Object.defineProperty(cluster, 'isReady', {
        get: () => cluster.isOpen && cluster.masters.every(node => !node.client || (node.client as { isReady?: boolean }).isReady !== false)
    });
    Object.defineProperty(cluster, 'ping', {
        value: () => cluster.sendCommand(undefined, true, ['PING'])
    });
    return cluster as unknown as RedisClient;
}

/** Whether `client` talks to a Redis Cluster (see `clusterClient`). */
export function isClusterClient(client: RedisClient): boolean {
    return Array.isArray((client as unknown as { masters?: unknown }).masters);
}

async function openClient(options: RedisOptions, role: string, writableHighWaterMark?: number): Promise<RedisClient> {
    const where = options.clusterUrls ? `cluster ${options.clusterUrls.map(redactRedisUrl).join(',')}` : redactRedisUrl(options.url);
    const logger = options.logger.child({ redis: role });
    const clientOptions = {
        // Fail fast while Redis is away instead of queueing (handlers answer 'internal', /health says 503).
        disableOfflineQueue: true,
        socket: {
            connectTimeout: options.connectTimeoutMs ?? 5000,
            reconnectStrategy: (retries: number) => Math.min(50 * 2 ** Math.min(retries, 6), 2000),
            // Passed on to net.connect / tls.connect (a stream option the socket typings do not list).
            ...(writableHighWaterMark ? { writableHighWaterMark } as object : {})
        }
    };
    const client = options.clusterUrls ? clusterClient(options, clientOptions) : createClient({ url: options.url, ...clientOptions });
    let down = false;
    client.on('error', error => {
        if (!down) {
            down = true;
            logger.error({ err: error, url: where }, 'redis connection failed; retrying');
        }
    });
    client.on('ready', () => {
        if (down) {
            down = false;
            logger.info({ url: where }, 'redis connection restored');
        }
    });
    // At start-up the first failure is final (a clear error beats retrying forever); later, the client reconnects.
    let failed: ((error: Error) => void) | undefined;
    const firstError = new Promise<never>((_, reject) => failed = reject);
    const onError = (error: Error) => failed?.(new Error(`Cannot connect to Redis at ${where}: ${error.message}`));
    client.once('error', onError);
    try {
        await withTimeout(Promise.race([client.connect(), firstError]), options.connectTimeoutMs ?? 5000, `Cannot connect to Redis at ${where}`);
    } catch (error) {
        await client.disconnect().catch(() => undefined);
        throw error;
    } finally {
        client.off('error', onError);
        firstError.catch(() => undefined);
    }
    return client;
}

// Heartbeats and liveness use Redis's clock, so that clock skew between instances cannot make a live
// instance look dead (which would detach its members).
const REDIS_NOW = `local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)`;

const HEARTBEAT = new LuaScript(`${REDIS_NOW}
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 3600000)
return now`, 'heartbeat');

const LIVE_INSTANCES = new LuaScript(`${REDIS_NOW}
return redis.call('ZRANGEBYSCORE', KEYS[1], now - tonumber(ARGV[1]), '+inf')`, 'live-instances');

/**
 * The socket.io Redis adapter publishes without waiting for (or catching) the result: while Redis is away each
 * PUBLISH would be an unhandled rejection, which ends the process. Failures are counted and reported instead
 * (the adapter has delivered to the local sockets already).
 */
export function guardPublisher(publisher: RedisClient, onFailure: (error: unknown) => void): void {
    for (const name of ['publish', 'PUBLISH', 'sPublish', 'SPUBLISH'] as const) {
        const original = (publisher as unknown as Record<string, unknown>)[name];
        if (typeof original !== 'function') {
            continue;
        }
        (publisher as unknown as Record<string, unknown>)[name] = function (this: unknown, ...args: unknown[]): Promise<unknown> {
            let result: unknown;
            try {
                result = original.apply(this, args);
            } catch (error) {
                onFailure(error);
                return Promise.resolve(0);
            }
            if (result instanceof Promise) {
                return result.catch(error => {
                    onFailure(error);
                    return 0;
                });
            }
            return Promise.resolve(result);
        };
    }
}

export class RedisConnection implements Cluster {
    readonly instanceId = randomId(9);
    readonly shared = true;
    protected heartbeatTimer?: NodeJS.Timeout;
    protected closed = false;
    protected readonly heartbeatMs: number;

    protected constructor(
        /** Commands: room store, pending requests, logins, heartbeats, locks, readiness. Never pub/sub. */
        readonly client: RedisClient,
        /** Publishing (socket.io adapter: broadcasts, server-side events). */
        readonly publisher: RedisClient,
        /** Subscriptions (socket.io adapter). */
        readonly subscriber: RedisClient,
        /** The replay window's appends (many, never waited for on the relay's path). */
        readonly replay: RedisClient,
        readonly options: RedisOptions
    ) {
        this.heartbeatMs = options.heartbeatMs ?? 2000;
    }

    static async connect(options: RedisOptions): Promise<RedisConnection> {
        const opened: RedisClient[] = [];
        try {
            opened.push(await openClient(options, 'commands'));
            opened.push(await openClient(options, 'publisher', PUBLISHER_HIGH_WATER_MARK));
            opened.push(await openClient(options, 'subscriber'));
            opened.push(await openClient(options, 'replay', PUBLISHER_HIGH_WATER_MARK));
        } catch (error) {
            await Promise.all(opened.map(client => client.disconnect().catch(() => undefined)));
            throw error;
        }
        const [client, publisher, subscriber, replay] = opened;
        const connection = new RedisConnection(client, publisher, subscriber, replay, options);
        await connection.heartbeat();
        connection.heartbeatTimer = setInterval(() => connection.heartbeat().catch(() => undefined), connection.heartbeatMs);
        connection.heartbeatTimer.unref();
        options.logger.info({ url: options.clusterUrls ? options.clusterUrls.map(redactRedisUrl) : redactRedisUrl(options.url), cluster: !!options.clusterUrls, instance: connection.instanceId }, 'connected to redis');
        return connection;
    }

    key(name: string): string {
        return this.options.prefix + name;
    }

    protected async heartbeat(): Promise<void> {
        if (!this.closed) {
            await HEARTBEAT.run(this.client, [this.key('instances')], [this.instanceId]);
        }
    }

    async liveInstances(): Promise<Set<string>> {
        const alive = await LIVE_INSTANCES.run(this.client, [this.key('instances')], [3 * this.heartbeatMs]) as string[];
        return new Set([...alive, this.instanceId]);
    }

    async tryLock(name: string, ttlMs: number): Promise<boolean> {
        const result = await timed(this.client, 'lock', () => this.client.set(this.key(`lock:${name}`), this.instanceId, { NX: true, PX: Math.max(1, Math.round(ttlMs)) }));
        return result === 'OK';
    }

    async ping(): Promise<void> {
        await withTimeout(this.client.ping(), 1000, 'Redis did not answer within 1 s');
    }

    /** Whether the commands connection is up (false while Redis is away and the client reconnects). */
    get ready(): boolean {
        return this.client.isReady;
    }

    async close(): Promise<void> {
        if (this.closed) {
            return;
        }
        this.closed = true;
        clearInterval(this.heartbeatTimer);
        if (this.client.isReady) {
            await withTimeout(this.client.zRem(this.key('instances'), this.instanceId), 1000, 'timed out').catch(() => undefined);
        }
        for (const client of [this.subscriber, this.publisher, this.replay, this.client]) {
            // QUIT waits for a reply that never comes while Redis is away: then just drop the connection.
            const quit = client.isReady ? withTimeout(client.quit(), 1000, 'timed out') : Promise.reject(new Error('not connected'));
            await quit.catch(() => client.disconnect().catch(() => undefined));
        }
    }
}
