/**
 * The replay window of several instances, in Redis, so that a member resuming on any instance gets what any
 * instance relayed. Per room (keys under the prefix; `{room:<id>}` is the room's hash tag, so that the three
 * share a Redis Cluster slot with the room's other keys):
 * - `{room:<id>}:replay`   stream: one entry per relayed envelope, `m` its header (JSON: sender, kind, target, id,
 *                     seq, key, at), `d` its data (still sealed).
 * - `{room:<id>}:replayi`  list: `<stream id> <bytes> <at>` per entry, oldest first: eviction without reading data.
 * - `{room:<id>}:replaym`  hash: `b` bytes held, `e` relay time of the newest envelope that left the window, `l`
 *                     relay time of the last envelope added.
 *
 * Appending is one Lua script (XADD, then evicting the oldest entries beyond `windowMs` or `bytesPerRoom`),
 * sent without waiting for it on the relay's hot path, on a connection of its own (node-redis pipelines what is
 * sent in one turn). Stream and list expire `windowMs` plus a minute after the last envelope (all of it has
 * aged out by then); the hash outlives them, so that a member resuming later still learns what was lost. An
 * append that fails (Redis away) is remembered here and written to `e` once Redis is back, so that `complete`
 * stays honest.
 */
import type { Logger } from 'pino';
import type { EnvelopeKind, RelayedEnvelope, ReplayResult } from '@theia-collab/protocol/lib/wire';
import { LuaScript, RedisClient, roomKey } from './redis';
import {
    compactData, MARK_MARGIN_MS, meantFor, REPLAY_ENTRY_OVERHEAD, ReplayMark, ReplayQuery, ReplayStats, ReplayWindow, ReplayWindowLimits
} from './replay-window';

// KEYS: stream, index, meta. ARGV: at, windowMs, bytesPerRoom, size, entryTtlMs, metaTtlMs, header, data.
const APPEND = new LuaScript(`
local at = tonumber(ARGV[1])
local size = tonumber(ARGV[4])
local bytes
if redis.call('LLEN', KEYS[2]) == 0 then
  local last = tonumber(redis.call('HGET', KEYS[3], 'l') or '0')
  local evicted = tonumber(redis.call('HGET', KEYS[3], 'e') or '0')
  if last > evicted then redis.call('HSET', KEYS[3], 'e', last) end
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[3], 'b', size)
  bytes = size
else
  bytes = redis.call('HINCRBY', KEYS[3], 'b', size)
end
local id = redis.call('XADD', KEYS[1], '*', 'm', ARGV[7], 'd', ARGV[8])
redis.call('RPUSH', KEYS[2], id .. ' ' .. size .. ' ' .. ARGV[1])
redis.call('HSET', KEYS[3], 'l', ARGV[1])
local oldest = at - tonumber(ARGV[2])
local maxBytes = tonumber(ARGV[3])
local newest = nil
for i = 1, 100000 do
  local head = redis.call('LINDEX', KEYS[2], 0)
  if not head then break end
  local hid, hsize, hat = string.match(head, '^(%S+) (%d+) (%d+)$')
  hsize = tonumber(hsize)
  hat = tonumber(hat)
  if hat >= oldest and bytes <= maxBytes then break end
  redis.call('LPOP', KEYS[2])
  redis.call('XDEL', KEYS[1], hid)
  bytes = redis.call('HINCRBY', KEYS[3], 'b', -hsize)
  newest = hat
end
if newest then
  local evicted = tonumber(redis.call('HGET', KEYS[3], 'e') or '0')
  if newest > evicted then redis.call('HSET', KEYS[3], 'e', newest) end
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
redis.call('PEXPIRE', KEYS[3], ARGV[6])
return id
`, 'replay-append');

// KEYS: stream, index, meta. Returns { evicted-at, entries }.
const READ = new LuaScript(`
local meta = redis.call('HMGET', KEYS[3], 'e', 'l')
local evicted = tonumber(meta[1] or '0')
if redis.call('LLEN', KEYS[2]) == 0 and meta[2] and tonumber(meta[2]) > evicted then evicted = tonumber(meta[2]) end
return { tostring(evicted), redis.call('XRANGE', KEYS[1], '-', '+') }
`, 'replay-read');

// KEYS: meta. ARGV: at (envelopes relayed up to then were lost), metaTtlMs.
const MARK_LOST = new LuaScript(`
local evicted = tonumber(redis.call('HGET', KEYS[1], 'e') or '0')
if tonumber(ARGV[1]) > evicted then redis.call('HSET', KEYS[1], 'e', ARGV[1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`, 'replay-mark-lost');

interface Header {
    sender: string;
    kind: EnvelopeKind;
    target?: string;
    id?: number;
    seq: number;
    key: number;
    at: number;
}

export interface RedisReplayWindowOptions extends ReplayWindowLimits {
    prefix: string;
    /** How long a room's bookkeeping outlives its last envelope (at least the longest grace period). */
    metaTtlMs: number;
}

export class RedisReplayWindow implements ReplayWindow {
    /** Bytes of appends sent and not yet answered. */
    protected inFlight = 0;
    /** Per room: the newest relay time of envelopes that could not be added (Redis away), not yet in Redis. */
    protected readonly lost = new Map<string, number>();
    protected readonly entryTtlMs: number;
    protected failureLogged = false;

    constructor(protected readonly client: RedisClient, readonly options: RedisReplayWindowOptions, protected readonly logger: Logger) {
        this.entryTtlMs = options.windowMs + 60_000;
    }

    get limits(): ReplayWindowLimits {
        return this.options;
    }

    mark(): ReplayMark {
        return { at: Date.now() };
    }

    protected keys(roomId: string): string[] {
        const stem = roomKey(this.options.prefix, roomId);
        return [`${stem}:replay`, `${stem}:replayi`, `${stem}:replaym`];
    }

    record(envelope: RelayedEnvelope, at = Date.now()): void {
        if (this.options.windowMs <= 0) {
            return;
        }
        const size = envelope.data.byteLength + REPLAY_ENTRY_OVERHEAD;
        if (!this.client.isReady || size > this.options.bytesPerRoom || this.inFlight + size > this.options.bytes) {
            this.markLost(envelope.room, at);
            return;
        }
        envelope.data = compactData(envelope.data);
        const header: Header = { sender: envelope.sender, kind: envelope.kind, seq: envelope.seq, key: envelope.key, at };
        if (envelope.target !== undefined) {
            header.target = envelope.target;
        }
        if (envelope.id !== undefined) {
            header.id = envelope.id;
        }
        const data = envelope.data instanceof Uint8Array
            ? Buffer.from(envelope.data.buffer, envelope.data.byteOffset, envelope.data.byteLength)
            : Buffer.from(envelope.data);
        const keys = this.keys(envelope.room);
        const args: (string | Buffer)[] = [
            String(at), String(this.options.windowMs), String(this.options.bytesPerRoom), String(size),
            String(this.entryTtlMs), String(this.options.metaTtlMs), JSON.stringify(header), data
        ];
        this.inFlight += size;
        this.append(keys, args).then(() => {
            this.inFlight -= size;
            this.failureLogged = false;
        }, error => {
            this.inFlight -= size;
            this.markLost(envelope.room, at);
            if (!this.failureLogged) {
                this.failureLogged = true;
                this.logger.warn({ err: error, room: envelope.room }, 'replay window: an envelope could not be kept in Redis (members resuming are told they missed messages)');
            }
        });
    }

    protected async append(keys: string[], args: (string | Buffer)[]): Promise<unknown> {
        try {
            return await this.client.sendCommand(['EVALSHA', APPEND.sha, String(keys.length), ...keys, ...args]);
        } catch (error) {
            if (error instanceof Error && error.message.includes('NOSCRIPT')) {
                return this.client.sendCommand(['EVAL', APPEND.source, String(keys.length), ...keys, ...args]);
            }
            throw error;
        }
    }

    protected markLost(roomId: string, at: number): void {
        this.lost.set(roomId, Math.max(this.lost.get(roomId) ?? 0, at));
    }

    async read(query: ReplayQuery): Promise<ReplayResult> {
        const now = query.now ?? Date.now();
        const [evictedText, rawEntries] = await this.readRaw(query.roomId);
        let evictedAt = Math.max(Number(evictedText.toString()) || 0, this.lost.get(query.roomId) ?? 0);
        const oldest = now - this.options.windowMs;
        const until = query.until ? query.until.at + MARK_MARGIN_MS : Infinity;
        const envelopes: RelayedEnvelope[] = [];
        let bytes = 0;
        let truncated = false;
        for (const [, fields] of rawEntries) {
            let headerBuffer: Buffer | undefined;
            let data: Buffer | undefined;
            for (let i = 0; i + 1 < fields.length; i += 2) {
                const name = fields[i].toString();
                if (name === 'm') {
                    headerBuffer = fields[i + 1];
                } else if (name === 'd') {
                    data = fields[i + 1];
                }
            }
            if (!headerBuffer || !data) {
                continue;
            }
            const header = JSON.parse(headerBuffer.toString()) as Header;
            if (header.at < oldest) {
                // Aged out, not yet trimmed (the room was quiet since).
                evictedAt = Math.max(evictedAt, header.at);
                continue;
            }
            if (header.at > until) {
                // Relayed well after the requester's connection joined: it got that live.
                break;
            }
            if (header.at < query.joinedAt || !meantFor(header, query.requester, query.after)) {
                continue;
            }
            const size = data.byteLength + REPLAY_ENTRY_OVERHEAD;
            if (bytes + size > query.maxBytes || envelopes.length >= (query.maxEnvelopes ?? Infinity)) {
                truncated = true;
                break;
            }
            bytes += size;
            const envelope: RelayedEnvelope = { room: query.roomId, kind: header.kind, seq: header.seq, key: header.key, sender: header.sender, data };
            if (header.target !== undefined) {
                envelope.target = header.target;
            }
            if (header.id !== undefined) {
                envelope.id = header.id;
            }
            envelopes.push(envelope);
        }
        const since = query.since ?? query.joinedAt;
        return { envelopes, complete: !truncated && (evictedAt === 0 || evictedAt < since) };
    }

    protected async readRaw(roomId: string): Promise<[Buffer, [Buffer, Buffer[]][]]> {
        const keys = this.keys(roomId);
        let reply: unknown;
        try {
            reply = await this.client.sendCommand(['EVALSHA', READ.sha, String(keys.length), ...keys], { returnBuffers: true });
        } catch (error) {
            if (!(error instanceof Error && error.message.includes('NOSCRIPT'))) {
                throw error;
            }
            reply = await this.client.sendCommand(['EVAL', READ.source, String(keys.length), ...keys], { returnBuffers: true });
        }
        return reply as [Buffer, [Buffer, Buffer[]][]];
    }

    dropRoom(roomId: string): void {
        this.lost.delete(roomId);
        if (this.client.isReady) {
            this.client.del(this.keys(roomId)).catch(() => undefined);
        }
    }

    /** Writes what was lost while Redis was away, once it is back. */
    async sweep(): Promise<void> {
        if (!this.client.isReady) {
            return;
        }
        for (const [roomId, at] of [...this.lost]) {
            await MARK_LOST.run(this.client, [this.keys(roomId)[2]], [at, this.options.metaTtlMs]);
            if (this.lost.get(roomId) === at) {
                this.lost.delete(roomId);
            }
        }
    }

    async stats(roomIds: () => Promise<string[]>): Promise<ReplayStats> {
        const ids = await roomIds();
        let bytes = 0;
        let entries = 0;
        for (let i = 0; i < ids.length; i += 200) {
            const batch = ids.slice(i, i + 200);
            const counts = await Promise.all(batch.map(async id => {
                const [, index, meta] = this.keys(id);
                const [length, held] = await Promise.all([this.client.lLen(index), this.client.hGet(meta, 'b')]);
                return length > 0 ? { length, held: Number(held) || 0 } : { length: 0, held: 0 };
            }));
            counts.forEach(count => {
                entries += count.length;
                bytes += count.held;
            });
        }
        return { bytes, entries };
    }

    dispose(): void {
        this.lost.clear();
    }
}
