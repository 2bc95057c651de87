/**
 * The socket.io Redis adapter of a multi-instance server, and what it receives from Redis (for the metrics).
 *
 * - `sharded` (default): `createShardedAdapter` with `subscriptionMode: 'dynamic'`. Redis 7 sharded pub/sub
 *   (SPUBLISH/SSUBSCRIBE); every socket.io room (our room and peer channels) has a channel of its own, which an
 *   instance subscribes to while one of its sockets is in that room. A room's broadcasts thus reach only the
 *   instances holding its members; on a Redis Cluster each channel lives on the shard of its slot. Server-side
 *   events (the peer bus) and requests still go on one channel every instance subscribes to.
 * - `classic`: `createAdapter` (PUBLISH / PSUBSCRIBE): every broadcast of every room reaches every instance, which
 *   decodes it and drops it when it has no member. For Redis before 7.
 *
 * Counting: the adapters hand what Redis delivered to the instance in one method (sharded: `onRawMessage(raw,
 * channel)`; classic: `onmessage(pattern, channel, raw)` for broadcasts and `onrequest(channel, raw)` for
 * requests), which their subscription listeners call through `this` (node-redis v4 clients). The factory below
 * wraps that method on each adapter it creates and counts messages and bytes before the adapter decodes them.
 */
import type { Namespace } from 'socket.io';
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import type { RedisClient } from './redis';

export type RedisAdapterKind = 'sharded' | 'classic';

/** `room`: a broadcast to one socket.io room on its own channel; `server`: everything else (server-side events, requests, responses, broadcasts to several rooms). */
export type ReceivedChannel = 'room' | 'server';

export interface AdapterReceiver {
    (channel: ReceivedChannel, bytes: number): void;
}

export interface RedisAdapterOptions {
    kind: RedisAdapterKind;
    /** Channel prefix (`<redisPrefix>socket.io`). */
    key: string;
    requestsTimeout: number;
    /** Called for every message Redis delivers to this instance's adapter. */
    received?: AdapterReceiver;
}

type AdapterFactory = (nsp: Namespace) => unknown;

/**
 * The sharded adapter (a socket.io-adapter `ClusterAdapter`) delivers a broadcast to this instance's sockets only
 * once Redis answered its SPUBLISH; the classic adapter delivers at once. The server relies on the latter: e.g. it
 * emits `room:closed` to a room and then detaches the members from the room channel (peer-bus.ts), synchronously,
 * so a delayed local delivery would find nobody left. Restore it: publish (encoded synchronously, so the packet as
 * it is now), then deliver locally (the in-memory `Adapter.broadcast`). What an instance publishes keeps its order on
 * the publisher connection either way. A failed publish is counted by `guardPublisher` (redis.ts).
 */
function deliverLocallyAtOnce(adapter: Record<string, unknown>): void {
    let proto = Object.getPrototypeOf(adapter) as Record<string, unknown> | null;
    while (proto && (proto.constructor as { name?: string }).name !== 'Adapter') {
        proto = Object.getPrototypeOf(proto) as Record<string, unknown> | null;
    }
    const localBroadcast = proto?.broadcast as ((packet: unknown, opts: BroadcastOpts) => void) | undefined;
    const publish = adapter.publish as ((message: unknown) => void) | undefined;
    if (!localBroadcast || typeof publish !== 'function') {
        throw new Error('unexpected socket.io adapter: no in-memory broadcast to deliver locally');
    }
    adapter.broadcast = function (this: unknown, packet: unknown, opts: BroadcastOpts): void {
        if (!opts.flags?.local) {
            // MessageType.BROADCAST of socket.io-adapter's cluster adapter.
            publish.call(this, { type: 3, data: { packet, opts: { rooms: [...opts.rooms], except: [...opts.except ?? []], flags: opts.flags } } });
        }
        localBroadcast.call(this, packet, opts);
    };
}

interface BroadcastOpts {
    rooms: Set<string>;
    except?: Set<string>;
    flags?: { local?: boolean };
}

function size(raw: unknown): number {
    return Buffer.isBuffer(raw) || typeof raw === 'string' ? Buffer.byteLength(raw as Buffer | string) : 0;
}

export function redisAdapter(publisher: RedisClient, subscriber: RedisClient, options: RedisAdapterOptions): AdapterFactory {
    const factory: AdapterFactory = options.kind === 'sharded'
        ? createShardedAdapter(publisher, subscriber, { channelPrefix: options.key, subscriptionMode: 'dynamic' }) as AdapterFactory
        : createAdapter(publisher, subscriber, { key: options.key, requestsTimeout: options.requestsTimeout }) as AdapterFactory;
    const received = options.received;
    // socket.io calls the factory with `new` (a function returning an object, so `new` yields that object).
    return function (nsp: Namespace) {
        const adapter = factory(nsp) as Record<string, unknown>;
        if (options.kind === 'sharded') {
            deliverLocallyAtOnce(adapter);
        }
        if (!received) {
            return adapter;
        }
        if (options.kind === 'sharded') {
            // Room channels are `<prefix>#<nsp>#<room>#`; the main channel is `<prefix>#<nsp>#`, this adapter's
            // response channel `<prefix>#<nsp>#<uid>#`.
            const main = String(adapter.channel);
            const responses = String(adapter.responseChannel);
            const original = adapter.onRawMessage as (raw: unknown, channel: unknown) => void;
            adapter.onRawMessage = function (this: unknown, raw: unknown, channel: unknown): void {
                const name = String(channel);
                received(name !== main && name !== responses && name.startsWith(main) ? 'room' : 'server', size(raw));
                original.call(this, raw, channel);
            };
        } else {
            // Broadcasts to one room go to `<key>#<nsp>#<room>#` (all instances subscribe to the pattern `<key>#<nsp>#*`).
            const main = String(adapter.channel);
            const onmessage = adapter.onmessage as (pattern: unknown, channel: unknown, raw: unknown) => void;
            adapter.onmessage = function (this: unknown, pattern: unknown, channel: unknown, raw: unknown): void {
                const name = String(channel);
                received(name !== main && name.startsWith(main) ? 'room' : 'server', size(raw));
                onmessage.call(this, pattern, channel, raw);
            };
            const onrequest = adapter.onrequest as (channel: unknown, raw: unknown) => unknown;
            adapter.onrequest = function (this: unknown, channel: unknown, raw: unknown): unknown {
                received('server', size(raw));
                return onrequest.call(this, channel, raw);
            };
        }
        return adapter;
    };
}
