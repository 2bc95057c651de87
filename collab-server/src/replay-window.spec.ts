/**
 * The in-memory replay window against a plain model of its rules (a list of envelopes in relay order; per
 * room and per instance byte bounds, the age bound, oldest first), over long random sequences: the window
 * keeps envelopes in reused slots and their data in a per-room byte ring that wraps, grows and shrinks, and
 * must still answer exactly what the rules say, byte for byte.
 */
import * as assert from 'assert';
import type { EnvelopeKind, RelayedEnvelope } from '@theia-collab/protocol/lib/wire';
import { MemoryReplayWindow, REPLAY_ENTRY_OVERHEAD, ReplayQuery, ReplayWindowLimits } from './replay-window';

interface ModelEntry {
    envelope: RelayedEnvelope;
    at: number;
    bytes: number;
}

/** The rules, as simply as they can be written. */
class ModelWindow {
    entries: ModelEntry[] = [];
    evictedAt = new Map<string, number>();

    constructor(readonly limits: ReplayWindowLimits) { }

    record(envelope: RelayedEnvelope, at: number): void {
        if (this.limits.windowMs <= 0) {
            return;
        }
        const bytes = envelope.data.byteLength + REPLAY_ENTRY_OVERHEAD;
        if (bytes > this.limits.bytesPerRoom || bytes > this.limits.bytes) {
            this.lost(envelope.room, at);
            return;
        }
        this.entries.push({ envelope: { ...envelope, data: Uint8Array.from(envelope.data as Uint8Array) }, at, bytes });
        const ofRoom = () => this.entries.filter(entry => entry.envelope.room === envelope.room);
        while (ofRoom().length && (ofRoom().reduce((sum, entry) => sum + entry.bytes, 0) > this.limits.bytesPerRoom || ofRoom()[0].at < at - this.limits.windowMs)) {
            this.evict(ofRoom()[0]);
        }
        while (this.entries.reduce((sum, entry) => sum + entry.bytes, 0) > this.limits.bytes) {
            this.evict(this.entries[0]);
        }
    }

    sweep(now: number): void {
        this.entries.filter(entry => entry.at < now - this.limits.windowMs).forEach(entry => this.evict(entry));
    }

    drop(roomId: string): void {
        this.entries = this.entries.filter(entry => entry.envelope.room !== roomId);
        this.evictedAt.delete(roomId);
    }

    read(query: ReplayQuery): { envelopes: RelayedEnvelope[]; complete: boolean } {
        this.sweep(query.now!);
        const ofRoom = this.entries.filter(entry => entry.envelope.room === query.roomId);
        if (!ofRoom.length && !this.evictedAt.has(query.roomId)) {
            return { envelopes: [], complete: true };
        }
        const envelopes: RelayedEnvelope[] = [];
        let bytes = 0;
        let truncated = false;
        for (const { envelope, at, bytes: size } of ofRoom) {
            const had = query.after.get(envelope.sender);
            const meant = envelope.sender !== query.requester && (envelope.kind === 'broadcast' || envelope.target === query.requester)
                && (had === undefined || envelope.seq > had);
            if (at < query.joinedAt || !meant) {
                continue;
            }
            if (bytes + size > query.maxBytes || envelopes.length >= (query.maxEnvelopes ?? Infinity)) {
                truncated = true;
                break;
            }
            bytes += size;
            envelopes.push(envelope);
        }
        const evictedAt = this.evictedAt.get(query.roomId);
        return { envelopes, complete: !truncated && (evictedAt === undefined || evictedAt < (query.since ?? query.joinedAt)) };
    }

    stats(): { bytes: number; entries: number } {
        return { bytes: this.entries.reduce((sum, entry) => sum + entry.bytes, 0), entries: this.entries.length };
    }

    protected evict(entry: ModelEntry): void {
        this.entries.splice(this.entries.indexOf(entry), 1);
        this.lost(entry.envelope.room, entry.at);
    }

    protected lost(roomId: string, at: number): void {
        this.evictedAt.set(roomId, Math.max(this.evictedAt.get(roomId) ?? -Infinity, at));
    }
}

/** Deterministic pseudo-random numbers (mulberry32), so that a failure can be replayed. */
function random(seed: number): () => number {
    return () => {
        seed = (seed + 0x6D2B79F5) | 0;
        let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

function comparable(result: { envelopes: RelayedEnvelope[]; complete: boolean }): unknown {
    return {
        complete: result.complete,
        envelopes: result.envelopes.map(envelope => ({ ...envelope, data: Buffer.from(envelope.data as Uint8Array).toString('hex') }))
    };
}

const KINDS: EnvelopeKind[] = ['broadcast', 'broadcast', 'notification', 'request', 'response'];
const PEERS = ['host', 'guest1', 'guest2'];

describe('MemoryReplayWindow', () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
        it(`answers as the rules say over a long random sequence (seed ${seed})`, async () => {
            const next = random(seed);
            const limits: ReplayWindowLimits = { windowMs: 1000, bytesPerRoom: 20_000 + Math.floor(next() * 20_000), bytes: 50_000 };
            let now = 1_000_000;
            const window = new MemoryReplayWindow(limits, () => now);
            const model = new ModelWindow(limits);
            const rooms = ['room-a', 'room-b', 'room-c'];
            const seqs = new Map<string, number>();
            for (let step = 0; step < 3000; step++) {
                now += Math.floor(next() * next() * 40);
                const roll = next();
                const roomId = rooms[Math.floor(next() * rooms.length)];
                if (roll < 0.85) {
                    const sender = PEERS[Math.floor(next() * PEERS.length)];
                    const kind = KINDS[Math.floor(next() * KINDS.length)];
                    const size = next() < 0.05 ? Math.floor(next() * 15_000) : next() < 0.1 ? 0 : Math.floor(next() * 3000);
                    const seq = (seqs.get(sender) ?? 0) + 1;
                    seqs.set(sender, seq);
                    const data = new Uint8Array(size).map(() => Math.floor(next() * 256));
                    // Received bytes are often a view into a larger buffer.
                    const view = next() < 0.5 ? data : new Uint8Array(Buffer.concat([Buffer.alloc(7), data, Buffer.alloc(5)]).buffer, 7, size);
                    const envelope: RelayedEnvelope = { room: roomId, kind, seq, key: 1, sender, data: view };
                    if (kind !== 'broadcast') {
                        envelope.target = PEERS.find(peer => peer !== sender);
                    }
                    if (kind === 'request' || kind === 'response') {
                        envelope.id = step;
                    }
                    window.record(envelope, now);
                    model.record(envelope, now);
                    assert.strictEqual(envelope.data, view, 'the delivered envelope keeps its own data');
                    // What was delivered may be reused by the transport afterwards: the window has its own copy.
                    view.fill(0xee);
                } else if (roll < 0.88) {
                    await window.sweep(now);
                    model.sweep(now);
                } else if (roll < 0.885) {
                    window.dropRoom(roomId);
                    model.drop(roomId);
                } else {
                    const query: ReplayQuery = {
                        roomId,
                        requester: PEERS[Math.floor(next() * PEERS.length)],
                        after: new Map(next() < 0.5 ? [] : [[PEERS[Math.floor(next() * PEERS.length)], Math.floor(next() * 200)]]),
                        joinedAt: now - Math.floor(next() * 1500),
                        since: next() < 0.5 ? undefined : now - Math.floor(next() * 1500),
                        maxBytes: next() < 0.2 ? 5000 : 1e9,
                        maxEnvelopes: next() < 0.2 ? 3 : undefined,
                        now
                    };
                    assert.deepStrictEqual(comparable(await window.read(query)), comparable(model.read(query)), `step ${step}`);
                }
                assert.deepStrictEqual(await window.stats(), model.stats(), `step ${step}`);
            }
        });
    }

    it('keeps a busy room in the same ring: once warm, recording reallocates nothing', () => {
        const window = new MemoryReplayWindow({ windowMs: 60_000, bytesPerRoom: 64 * 1024, bytes: 1024 * 1024 }, () => 0);
        const room = () => (window as any).rooms.get('room');
        const record = (seq: number) => window.record({ room: 'room', kind: 'broadcast', seq, key: 1, sender: 'host', data: new Uint8Array(900 + (seq % 7) * 50) }, 0);
        for (let seq = 1; seq <= 1000; seq++) {
            record(seq);
        }
        const [ring, slots] = [room().ring, room().slots];
        for (let seq = 1001; seq <= 20_000; seq++) {
            record(seq);
        }
        assert.strictEqual(room().ring, ring, 'the same byte ring');
        assert.strictEqual(room().slots, slots, 'the same slots');
        assert.ok(ring.byteLength <= 1.5 * 64 * 1024, `${ring.byteLength}`);
    });

    it('gives memory back: the ring of a room that went quiet shrinks, and goes once the room is empty', async () => {
        let now = 0;
        const window = new MemoryReplayWindow({ windowMs: 1000, bytesPerRoom: 8 * 1024 * 1024, bytes: 64 * 1024 * 1024 }, () => now);
        const ringBytes = () => ((window as any).rooms.get('room') as any)?.ring?.byteLength ?? 0;
        for (let seq = 1; seq <= 1000; seq++) {
            window.record({ room: 'room', kind: 'broadcast', seq, key: 1, sender: 'host', data: new Uint8Array(1024).fill(seq % 256) }, now);
        }
        const busy = ringBytes();
        assert.ok(busy >= 1000 * 1024 && busy <= 2 * 1000 * 1024, `${busy}`);
        now = 600;
        window.record({ room: 'room', kind: 'broadcast', seq: 1001, key: 1, sender: 'host', data: new Uint8Array(1024).fill(7) }, now);
        now = 1200;
        await window.sweep(now);
        assert.ok(ringBytes() > 0 && ringBytes() <= 64 * 1024, `${ringBytes()}`);
        const { envelopes } = await window.read({ roomId: 'room', requester: 'guest', after: new Map(), joinedAt: 0, maxBytes: 1e9, now });
        assert.deepStrictEqual(envelopes.map(envelope => [envelope.seq, (envelope.data as Uint8Array)[0], envelope.data.byteLength]), [[1001, 7, 1024]]);
        now = 2000;
        await window.sweep(now);
        assert.strictEqual(ringBytes(), 0);
        assert.deepStrictEqual(await window.stats(), { bytes: 0, entries: 0 });
    });
});
