/**
 * Room state and pending relayed requests in Redis, shared by every server instance.
 *
 * Keys (all under the configured prefix):
 * - `room:<id>`      hash: `s` room record (JSON), `v` version, `a` last activity (ms). Expires a
 *                     while after the room's own expiry, as a fallback to the cleanup sweep.
 * - `rooms`          set of room ids (listing, counting).
 * - `closed:<id>`    why a room closed (JSON), for members resuming late; expires after an hour.
 * - `req:<room>`     hash `<requester>|<id>` -> `<responder>|<deadline>`: pending relayed requests.
 * - `reqn:<room>`    hash requester -> number of its pending requests.
 * - `req-deadlines`  sorted set of `<room>|<requester>|<id>` by deadline (timeouts of any instance).
 *
 * Updates are optimistic: read the record with its version, change it in JS, write it with a Lua
 * compare-and-set on the version, retry on conflict.
 */
import { CollaborationError } from '@theia-collab/protocol/lib/errors';
import type { AddResult, PendingRequest, PendingRequestStore } from './pending-requests';
import { LuaScript, RedisClient } from './redis';
import type { ClosedRecord, RoomRecord, RoomStore, Updated } from './rooms';

const CREATE = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 's', ARGV[1], 'v', '1', 'a', ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
redis.call('SADD', KEYS[2], ARGV[4])
return 1
`);

const COMPARE_AND_SET = new LuaScript(`
if redis.call('HGET', KEYS[1], 'v') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 's', ARGV[2], 'v', tostring(tonumber(ARGV[1]) + 1))
return 1
`);

const COMPARE_AND_DELETE = new LuaScript(`
if redis.call('HGET', KEYS[1], 'v') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[2])
redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[4])
return 1
`);

const TOUCH = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local current = tonumber(redis.call('HGET', KEYS[1], 'a') or '0')
if tonumber(ARGV[1]) > current then redis.call('HSET', KEYS[1], 'a', ARGV[1]) end
return 1
`);

export interface RedisRoomStoreOptions {
    prefix: string;
    /** Activity is written at most this often per room (and instance). */
    touchIntervalMs: number;
    /** The room key outlives the room's expiry by this much (the sweep normally closes it first). */
    expiryMarginMs?: number;
    tombstoneMs?: number;
    maxAttempts?: number;
}

export class RedisRoomStore implements RoomStore {
    protected readonly lastTouch = new Map<string, number>();

    constructor(protected readonly client: RedisClient, protected readonly options: RedisRoomStoreOptions) { }

    protected roomKey(roomId: string): string {
        return `${this.options.prefix}room:${roomId}`;
    }

    protected get indexKey(): string {
        return `${this.options.prefix}rooms`;
    }

    async create(room: RoomRecord): Promise<void> {
        const created = await CREATE.run(this.client, [this.roomKey(room.id), this.indexKey], [
            JSON.stringify(room), room.lastActivityAt, room.expiresAt + (this.options.expiryMarginMs ?? 5 * 60_000), room.id
        ]);
        if (created !== 1) {
            throw new Error(`Room ${room.id} exists`);
        }
    }

    protected async read(roomId: string): Promise<{ room: RoomRecord; version: string } | undefined> {
        const [state, version, activity] = await this.client.hmGet(this.roomKey(roomId), ['s', 'v', 'a']);
        if (!state || !version) {
            return undefined;
        }
        const room = JSON.parse(state) as RoomRecord;
        const lastActivityAt = Number(activity);
        if (lastActivityAt > room.lastActivityAt) {
            room.lastActivityAt = lastActivityAt;
        }
        return { room, version };
    }

    async get(roomId: string): Promise<RoomRecord | undefined> {
        return (await this.read(roomId))?.room;
    }

    async update<T>(roomId: string, mutate: (room: RoomRecord) => T): Promise<Updated<T> | undefined> {
        for (let attempt = 0; ; attempt++) {
            const current = await this.read(roomId);
            if (!current) {
                return undefined;
            }
            const before = JSON.stringify(current.room);
            const result = mutate(current.room);
            const after = JSON.stringify(current.room);
            if (after === before) {
                return { room: current.room, result };
            }
            if (await COMPARE_AND_SET.run(this.client, [this.roomKey(roomId)], [current.version, after]) === 1) {
                return { room: current.room, result };
            }
            await this.backOff(attempt);
        }
    }

    async remove(roomId: string, closed: ClosedRecord, condition?: (room: RoomRecord) => boolean): Promise<RoomRecord | undefined> {
        for (let attempt = 0; ; attempt++) {
            const current = await this.read(roomId);
            if (!current || (condition && !condition(current.room))) {
                return undefined;
            }
            const deleted = await COMPARE_AND_DELETE.run(this.client,
                [this.roomKey(roomId), this.indexKey, `${this.options.prefix}closed:${roomId}`],
                [current.version, roomId, JSON.stringify(closed), this.options.tombstoneMs ?? 60 * 60_000]);
            if (deleted === 1) {
                this.lastTouch.delete(roomId);
                return current.room;
            }
            await this.backOff(attempt);
        }
    }

    async closedInfo(roomId: string): Promise<ClosedRecord | undefined> {
        const text = await this.client.get(`${this.options.prefix}closed:${roomId}`);
        return text ? JSON.parse(text) as ClosedRecord : undefined;
    }

    async touch(roomId: string, now: number): Promise<void> {
        const last = this.lastTouch.get(roomId);
        if (last !== undefined && now - last < this.options.touchIntervalMs) {
            return;
        }
        this.lastTouch.set(roomId, now);
        if (this.lastTouch.size > 100_000) {
            for (const [id, at] of this.lastTouch) {
                if (now - at >= this.options.touchIntervalMs) {
                    this.lastTouch.delete(id);
                }
            }
        }
        await TOUCH.run(this.client, [this.roomKey(roomId)], [now]);
    }

    async list(): Promise<RoomRecord[]> {
        const ids = await this.client.sMembers(this.indexKey);
        const rooms: RoomRecord[] = [];
        for (let i = 0; i < ids.length; i += 200) {
            const batch = ids.slice(i, i + 200);
            const records = await Promise.all(batch.map(id => this.get(id)));
            const gone: string[] = [];
            records.forEach((room, index) => room ? rooms.push(room) : gone.push(batch[index]));
            if (gone.length) {
                // Expired by Redis (no instance swept it in time): drop from the index.
                await this.client.sRem(this.indexKey, gone);
            }
        }
        return rooms;
    }

    async count(): Promise<number> {
        return this.client.sCard(this.indexKey);
    }

    async close(): Promise<void> {
        this.lastTouch.clear();
    }

    protected async backOff(attempt: number): Promise<void> {
        if (attempt + 1 >= (this.options.maxAttempts ?? 50)) {
            throw new CollaborationError('internal', 'The session is too busy; try again.');
        }
        await new Promise(resolve => setTimeout(resolve, Math.random() * Math.min(50, 2 ** attempt)));
    }
}

const ADD_REQUEST = new LuaScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 'duplicate' end
local count = tonumber(redis.call('HGET', KEYS[2], ARGV[3]) or '0')
if count >= tonumber(ARGV[4]) then return 'too-many' end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
redis.call('ZADD', KEYS[3], ARGV[6], ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[7])
redis.call('PEXPIRE', KEYS[2], ARGV[7])
return 'ok'
`);

const TAKE_REQUEST = new LuaScript(`
local value = redis.call('HGET', KEYS[1], ARGV[1])
if not value then return false end
if ARGV[4] ~= '' and string.sub(value, 1, string.len(ARGV[4]) + 1) ~= ARGV[4] .. '|' then return false end
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HINCRBY', KEYS[2], ARGV[2], -1) <= 0 then redis.call('HDEL', KEYS[2], ARGV[2]) end
redis.call('ZREM', KEYS[3], ARGV[3])
return value
`);

const PEER_LEFT = new LuaScript(`
local all = redis.call('HGETALL', KEYS[1])
local taken = {}
for i = 1, #all, 2 do
  local field, value = all[i], all[i + 1]
  local requester = string.sub(field, 1, string.find(field, '|', 1, true) - 1)
  local responder = string.sub(value, 1, string.find(value, '|', 1, true) - 1)
  if requester == ARGV[2] or responder == ARGV[2] then
    redis.call('HDEL', KEYS[1], field)
    redis.call('ZREM', KEYS[3], ARGV[1] .. '|' .. field)
    if requester ~= ARGV[2] then
      if redis.call('HINCRBY', KEYS[2], requester, -1) <= 0 then redis.call('HDEL', KEYS[2], requester) end
      table.insert(taken, field)
      table.insert(taken, value)
    end
  end
end
redis.call('HDEL', KEYS[2], ARGV[2])
return taken
`);

const ROOM_CLOSED = new LuaScript(`
local fields = redis.call('HKEYS', KEYS[1])
for _, field in ipairs(fields) do redis.call('ZREM', KEYS[3], ARGV[1] .. '|' .. field) end
redis.call('DEL', KEYS[1], KEYS[2])
return #fields
`);

// Reaches keys not passed in KEYS (derived from the sorted set's members): fine on a single Redis.
const TAKE_EXPIRED = new LuaScript(`
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local taken = {}
for _, member in ipairs(members) do
  redis.call('ZREM', KEYS[1], member)
  local split = string.find(member, '|', 1, true)
  local room = string.sub(member, 1, split - 1)
  local field = string.sub(member, split + 1)
  local requests = ARGV[3] .. 'req:' .. room
  local value = redis.call('HGET', requests, field)
  if value then
    redis.call('HDEL', requests, field)
    local requester = string.sub(field, 1, string.find(field, '|', 1, true) - 1)
    local counts = ARGV[3] .. 'reqn:' .. room
    if redis.call('HINCRBY', counts, requester, -1) <= 0 then redis.call('HDEL', counts, requester) end
    table.insert(taken, member)
    table.insert(taken, value)
  end
end
return taken
`);

export class RedisPendingRequests implements PendingRequestStore {
    constructor(protected readonly client: RedisClient, protected readonly prefix: string, protected readonly keepMs: number) { }

    protected keys(room: string): string[] {
        return [`${this.prefix}req:${room}`, `${this.prefix}reqn:${room}`, `${this.prefix}req-deadlines`];
    }

    async add(request: PendingRequest, maxPerRequester: number): Promise<AddResult> {
        const field = `${request.requester}|${request.id}`;
        const result = await ADD_REQUEST.run(this.client, this.keys(request.room), [
            field, `${request.responder}|${request.deadline}`, request.requester, maxPerRequester,
            `${request.room}|${field}`, request.deadline, this.keepMs
        ]);
        return result as AddResult;
    }

    async take(room: string, requester: string, id: number, responder?: string): Promise<PendingRequest | undefined> {
        const field = `${requester}|${id}`;
        const value = await TAKE_REQUEST.run(this.client, this.keys(room), [field, requester, `${room}|${field}`, responder ?? '']);
        return typeof value === 'string' ? parseRequest(room, field, value) : undefined;
    }

    async peerLeft(room: string, peer: string): Promise<PendingRequest[]> {
        const taken = await PEER_LEFT.run(this.client, this.keys(room), [room, peer]) as string[];
        const requests: PendingRequest[] = [];
        for (let i = 0; i + 1 < taken.length; i += 2) {
            requests.push(parseRequest(room, taken[i], taken[i + 1]));
        }
        return requests;
    }

    async roomClosed(room: string): Promise<void> {
        await ROOM_CLOSED.run(this.client, this.keys(room), [room]);
    }

    async takeExpired(now: number, limit: number): Promise<PendingRequest[]> {
        const taken = await TAKE_EXPIRED.run(this.client, [`${this.prefix}req-deadlines`], [now, limit, this.prefix]) as string[];
        const requests: PendingRequest[] = [];
        for (let i = 0; i + 1 < taken.length; i += 2) {
            const split = taken[i].indexOf('|');
            requests.push(parseRequest(taken[i].slice(0, split), taken[i].slice(split + 1), taken[i + 1]));
        }
        return requests;
    }

    async close(): Promise<void> { }
}

function parseRequest(room: string, field: string, value: string): PendingRequest {
    const [requester, id] = field.split('|');
    const [responder, deadline] = value.split('|');
    return { room, requester, responder, id: Number(id), deadline: Number(deadline) };
}
