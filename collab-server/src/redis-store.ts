/**
 * Room state and pending relayed requests in Redis, shared by every server instance.
 *
 * Keys (all under the configured prefix). A room's keys share the hash tag `{room:<id>}` (one Redis Cluster
 * slot), so each script touches one slot; the two global keys are written by separate commands:
 * - `{room:<id>}`         hash: `s` room record (JSON), `v` version, `a` last activity (ms). Expires a
 *                          while after the room's own expiry, as a fallback to the cleanup sweep.
 * - `rooms`               set of room ids (listing, counting). Added to before the room is created and removed
 *                          from after it is deleted, so it always holds every room (`list` drops ids whose room
 *                          is gone).
 * - `{room:<id>}:closed`  why a room closed (JSON), for members resuming late; expires after an hour.
 * - `{room:<id>}:req`     hash `<requester>|<id>` -> `<responder>|<deadline>`: pending relayed requests.
 * - `{room:<id>}:reqn`    hash requester -> number of its pending requests.
 * - `req-deadlines`       sorted set of `<room>|<requester>|<id>` by deadline (timeouts of any instance). Added
 *                          to after a request is stored and removed from after it is taken; a deadline whose
 *                          request is gone is dropped when it comes due. Expired requests are taken in two
 *                          steps (pop the due deadlines, then take each from its room): an instance dying between
 *                          the two leaves those requests until their room's keys expire (`keepMs`).
 *
 * Updates are optimistic: read the record with its version, change it in JS, write it with a Lua
 * compare-and-set on the version, retry on conflict.
 */
import { CollaborationError } from '@theia-collab/protocol/lib/errors';
import type { AddResult, PendingRequest, PendingRequestStore } from './pending-requests';
import { LuaScript, RedisClient, roomKey, timed } from './redis';
import type { ClosedRecord, RoomRecord, RoomStore, Updated } from './rooms';

const CREATE = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 's', ARGV[1], 'v', '1', 'a', ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
return 1
`, 'room-create');

const COMPARE_AND_SET = new LuaScript(`
if redis.call('HGET', KEYS[1], 'v') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 's', ARGV[2], 'v', tostring(tonumber(ARGV[1]) + 1))
return 1
`, 'room-update');

const COMPARE_AND_DELETE = new LuaScript(`
if redis.call('HGET', KEYS[1], 'v') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1
`, 'room-remove');

const TOUCH = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local current = tonumber(redis.call('HGET', KEYS[1], 'a') or '0')
if tonumber(ARGV[1]) > current then redis.call('HSET', KEYS[1], 'a', ARGV[1]) end
return 1
`, 'room-touch');

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
        return roomKey(this.options.prefix, roomId);
    }

    protected get indexKey(): string {
        return `${this.options.prefix}rooms`;
    }

    async create(room: RoomRecord): Promise<void> {
        await timed(this.client, 'room-index', () => this.client.sAdd(this.indexKey, room.id));
        const created = await CREATE.run(this.client, [this.roomKey(room.id)], [
            JSON.stringify(room), room.lastActivityAt, room.expiresAt + (this.options.expiryMarginMs ?? 5 * 60_000)
        ]);
        if (created !== 1) {
            throw new Error(`Room ${room.id} exists`);
        }
    }

    protected async read(roomId: string): Promise<{ room: RoomRecord; version: string } | undefined> {
        const [state, version, activity] = await timed(this.client, 'room-read', () => this.client.hmGet(this.roomKey(roomId), ['s', 'v', 'a']));
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
                [this.roomKey(roomId), this.closedKey(roomId)],
                [current.version, JSON.stringify(closed), this.options.tombstoneMs ?? 60 * 60_000]);
            if (deleted === 1) {
                this.lastTouch.delete(roomId);
                // Another slot than the room's: a command of its own. Should it fail, `list` drops the id later.
                await timed(this.client, 'room-index', () => this.client.sRem(this.indexKey, roomId)).catch(() => undefined);
                return current.room;
            }
            await this.backOff(attempt);
        }
    }

    protected closedKey(roomId: string): string {
        return `${this.roomKey(roomId)}:closed`;
    }

    async closedInfo(roomId: string): Promise<ClosedRecord | undefined> {
        const text = await timed(this.client, 'room-closed', () => this.client.get(this.closedKey(roomId)));
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
        const ids = await timed(this.client, 'room-list', () => this.client.sMembers(this.indexKey));
        const rooms: RoomRecord[] = [];
        for (let i = 0; i < ids.length; i += 200) {
            const batch = ids.slice(i, i + 200);
            const records = await Promise.all(batch.map(id => this.get(id)));
            const gone: string[] = [];
            records.forEach((room, index) => room ? rooms.push(room) : gone.push(batch[index]));
            if (gone.length) {
                // Expired by Redis (no instance swept it in time): drop from the index.
                await timed(this.client, 'room-index', () => this.client.sRem(this.indexKey, gone));
            }
        }
        return rooms;
    }

    async count(): Promise<number> {
        return timed(this.client, 'room-count', () => this.client.sCard(this.indexKey));
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

// KEYS: requests, counts (one room). ARGV: field, value, requester, max per requester, keep ms.
const ADD_REQUEST = new LuaScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 'duplicate' end
local count = tonumber(redis.call('HGET', KEYS[2], ARGV[3]) or '0')
if count >= tonumber(ARGV[4]) then return 'too-many' end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
return 'ok'
`, 'request-add');

// KEYS: requests, counts. ARGV: field, requester, responder ('' = any). Returns the value taken, or false.
const TAKE_REQUEST = new LuaScript(`
local value = redis.call('HGET', KEYS[1], ARGV[1])
if not value then return false end
if ARGV[3] ~= '' and string.sub(value, 1, string.len(ARGV[3]) + 1) ~= ARGV[3] .. '|' then return false end
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HINCRBY', KEYS[2], ARGV[2], -1) <= 0 then redis.call('HDEL', KEYS[2], ARGV[2]) end
return value
`, 'request-take');

// KEYS: requests, counts. ARGV: peer. Returns field, value, taken ('1': someone else's request to the peer,
// answered 'unavailable'; '0': the peer's own, dropped) per removed request.
const PEER_LEFT = new LuaScript(`
local all = redis.call('HGETALL', KEYS[1])
local removed = {}
for i = 1, #all, 2 do
  local field, value = all[i], all[i + 1]
  local requester = string.sub(field, 1, string.find(field, '|', 1, true) - 1)
  local responder = string.sub(value, 1, string.find(value, '|', 1, true) - 1)
  if requester == ARGV[1] or responder == ARGV[1] then
    redis.call('HDEL', KEYS[1], field)
    local taken = '0'
    if requester ~= ARGV[1] then
      if redis.call('HINCRBY', KEYS[2], requester, -1) <= 0 then redis.call('HDEL', KEYS[2], requester) end
      taken = '1'
    end
    table.insert(removed, field)
    table.insert(removed, value)
    table.insert(removed, taken)
  end
end
redis.call('HDEL', KEYS[2], ARGV[1])
return removed
`, 'request-peer-left');

// KEYS: requests, counts. Returns the fields removed.
const ROOM_CLOSED = new LuaScript(`
local fields = redis.call('HKEYS', KEYS[1])
redis.call('DEL', KEYS[1], KEYS[2])
return fields
`, 'request-room-closed');

// KEYS: deadlines. ARGV: now, limit. Pops the due deadlines (each instance gets distinct ones).
const POP_DUE = new LuaScript(`
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #members > 0 then redis.call('ZREM', KEYS[1], unpack(members)) end
return members
`, 'request-pop-due');

export class RedisPendingRequests implements PendingRequestStore {
    constructor(protected readonly client: RedisClient, protected readonly prefix: string, protected readonly keepMs: number) { }

    /** The room's two keys (one slot). */
    protected keys(room: string): string[] {
        const stem = roomKey(this.prefix, room);
        return [`${stem}:req`, `${stem}:reqn`];
    }

    protected get deadlinesKey(): string {
        return `${this.prefix}req-deadlines`;
    }

    protected async dropDeadlines(room: string, fields: string[]): Promise<void> {
        if (fields.length) {
            await timed(this.client, 'request-deadline', () => this.client.zRem(this.deadlinesKey, fields.map(field => `${room}|${field}`)));
        }
    }

    async add(request: PendingRequest, maxPerRequester: number): Promise<AddResult> {
        const field = `${request.requester}|${request.id}`;
        const result = await ADD_REQUEST.run(this.client, this.keys(request.room), [
            field, `${request.responder}|${request.deadline}`, request.requester, maxPerRequester, this.keepMs
        ]) as AddResult;
        if (result === 'ok') {
            await timed(this.client, 'request-deadline', () => this.client.zAdd(this.deadlinesKey, { score: request.deadline, value: `${request.room}|${field}` }));
        }
        return result;
    }

    async take(room: string, requester: string, id: number, responder?: string): Promise<PendingRequest | undefined> {
        const field = `${requester}|${id}`;
        const value = await TAKE_REQUEST.run(this.client, this.keys(room), [field, requester, responder ?? '']);
        if (typeof value !== 'string') {
            return undefined;
        }
        await this.dropDeadlines(room, [field]).catch(() => undefined);
        return parseRequest(room, field, value);
    }

    async peerLeft(room: string, peer: string): Promise<PendingRequest[]> {
        const removed = await PEER_LEFT.run(this.client, this.keys(room), [peer]) as string[];
        const requests: PendingRequest[] = [];
        const fields: string[] = [];
        for (let i = 0; i + 2 < removed.length; i += 3) {
            fields.push(removed[i]);
            if (removed[i + 2] === '1') {
                requests.push(parseRequest(room, removed[i], removed[i + 1]));
            }
        }
        await this.dropDeadlines(room, fields).catch(() => undefined);
        return requests;
    }

    async roomClosed(room: string): Promise<void> {
        const fields = await ROOM_CLOSED.run(this.client, this.keys(room), []) as string[];
        await this.dropDeadlines(room, fields);
    }

    async takeExpired(now: number, limit: number): Promise<PendingRequest[]> {
        const due = await POP_DUE.run(this.client, [this.deadlinesKey], [now, limit]) as string[];
        const requests: PendingRequest[] = [];
        for (const member of due) {
            const split = member.indexOf('|');
            const room = member.slice(0, split);
            const field = member.slice(split + 1);
            const requester = field.slice(0, field.indexOf('|'));
            // Gone already when it was answered meanwhile (whoever takes it from the room's hash owns it).
            const value = await TAKE_REQUEST.run(this.client, this.keys(room), [field, requester, '']);
            if (typeof value === 'string') {
                requests.push(parseRequest(room, field, value));
            }
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
