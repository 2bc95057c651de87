/**
 * Prometheus metrics (prom-client), one registry per server instance. Labels are bounded: event
 * names come from the server's allowlist, reasons are error codes, kinds are the four envelope kinds.
 * Nothing here ever sees envelope data or stored content.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EnvelopeKind } from '@theia-collab/protocol/lib/wire';
import type { RoomRecord } from './rooms';

export interface MetricsSources {
    instance: string;
    version: string;
    shared: boolean;
    /** Sockets connected to this instance. */
    sockets(): number;
    /** Every room (of every instance). */
    rooms(): Promise<RoomRecord[]>;
    /** Bytes of stored content held by this instance (see content-store.ts). */
    contentBytes?(): number;
    /** What the replay windows hold (this instance's memory, or with Redis all rooms' windows there). */
    replay?(): Promise<{ bytes: number; entries: number }>;
    /** Rooms with at least one member connected to this instance, and those members (sockets' memberships). */
    local?(): { rooms: number; members: number };
}

export interface MetricsOptions {
    /** Node.js process metrics (CPU, memory, event loop, GC). */
    defaultMetrics: boolean;
    /** Rooms are listed at most this often for the room gauges (listing may be costly with Redis). */
    roomScanMs?: number;
}

const KINDS: EnvelopeKind[] = ['broadcast', 'request', 'response', 'notification'];

export class ServerMetrics {
    readonly registry = new Registry();
    readonly relayedMessages: Counter<'kind'>;
    readonly relayedBytes: Counter<'kind'>;
    readonly relayDuration: Histogram<'kind'>;
    readonly rejected: Counter<'event' | 'reason'>;
    readonly requestTimeouts: Counter<'reason'>;
    readonly connections: Counter;
    readonly resumed: Counter;
    readonly contentGets: Counter;
    readonly contentGetBytes: Counter;
    readonly replays: Counter<'complete'>;
    readonly replayedEnvelopes: Counter;
    readonly storeFailures: Counter<'operation'>;
    readonly adapterMessages: Counter<'channel'>;
    readonly adapterBytes: Counter<'channel'>;
    readonly redisDuration: Histogram<'operation'>;
    protected scan?: { at: number; rooms: Promise<RoomRecord[] | undefined> };

    constructor(protected readonly sources: MetricsSources, protected readonly options: MetricsOptions) {
        const registers = [this.registry];
        if (options.defaultMetrics) {
            collectDefaultMetrics({ register: this.registry });
        }
        new Gauge({
            name: 'collab_instance_info', help: 'This server instance (value 1)', registers,
            labelNames: ['instance', 'version', 'shared'] as const
        }).set({ instance: sources.instance, version: sources.version, shared: String(sources.shared) }, 1);
        new Gauge({
            name: 'collab_connected_sockets', help: 'Sockets connected to this instance', registers,
            collect() { this.set(sources.sockets()); }
        });
        const self = this;
        new Gauge({
            name: 'collab_rooms', help: 'Open rooms (all instances)', registers,
            async collect() {
                const rooms = await self.rooms();
                if (rooms) {
                    this.set(rooms.length);
                }
            }
        });
        new Histogram({
            name: 'collab_room_members', help: 'Members (host included) per open room (all instances)', registers,
            buckets: [1, 2, 3, 5, 10, 20, 50, 100, 256],
            async collect() {
                const rooms = await self.rooms();
                if (rooms) {
                    this.reset();
                    rooms.forEach(room => this.observe(Object.keys(room.members).length));
                }
            }
        });
        new Gauge({
            name: 'collab_pending_joins', help: 'Join requests waiting for the host (all instances)', registers,
            async collect() {
                const rooms = await self.rooms();
                if (rooms) {
                    this.set(rooms.reduce((sum, room) => sum + Object.keys(room.pending).length, 0));
                }
            }
        });
        this.relayedMessages = new Counter({
            name: 'collab_relayed_messages_total', help: 'Envelopes relayed by this instance', labelNames: ['kind'] as const, registers
        });
        this.relayedBytes = new Counter({
            name: 'collab_relayed_bytes_total', help: 'Envelope data bytes relayed by this instance', labelNames: ['kind'] as const, registers
        });
        this.relayDuration = new Histogram({
            name: 'collab_relay_duration_seconds', help: 'Time from receiving an envelope to handing it to socket.io',
            labelNames: ['kind'] as const, registers,
            buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]
        });
        KINDS.forEach(kind => {
            this.relayedMessages.inc({ kind }, 0);
            this.relayedBytes.inc({ kind }, 0);
        });
        this.rejected = new Counter({
            name: 'collab_rejected_events_total', help: 'Refused socket events and connections, by event and error code',
            labelNames: ['event', 'reason'] as const, registers
        });
        this.requestTimeouts = new Counter({
            name: 'collab_request_failures_total', help: 'Relayed requests answered by the server (timeout, disconnected)',
            labelNames: ['reason'] as const, registers
        });
        this.connections = new Counter({ name: 'collab_connections_total', help: 'Accepted socket connections', registers });
        this.resumed = new Counter({ name: 'collab_resumed_total', help: 'Members that resumed their membership with a room token', registers });
        new Gauge({
            name: 'collab_content_stored_bytes', help: 'Stored content held by this instance, in bytes counted against its limits (data plus bookkeeping)', registers,
            collect() { this.set(sources.contentBytes?.() ?? 0); }
        });
        this.contentGets = new Counter({ name: 'collab_content_gets_total', help: 'Stored content parts served by this instance', registers });
        this.contentGetBytes = new Counter({ name: 'collab_content_get_bytes_total', help: 'Stored content bytes served by this instance', registers });
        let replayStats: Promise<{ bytes: number; entries: number } | undefined> | undefined;
        let replayStatsAt = 0;
        const replayNow = () => {
            // One reading for both gauges of a scrape.
            if (!replayStats || Date.now() - replayStatsAt >= 100) {
                replayStatsAt = Date.now();
                replayStats = sources.replay ? sources.replay().catch(() => undefined) : Promise.resolve({ bytes: 0, entries: 0 });
            }
            return replayStats;
        };
        new Gauge({
            name: 'collab_replay_window_bytes', help: 'Bytes held by the replay windows (data plus 256 per envelope): this instance, or with Redis every room in Redis', registers,
            async collect() {
                const stats = await replayNow();
                if (stats) {
                    this.set(stats.bytes);
                }
            }
        });
        new Gauge({
            name: 'collab_replay_window_entries', help: 'Envelopes held by the replay windows: this instance, or with Redis every room in Redis', registers,
            async collect() {
                const stats = await replayNow();
                if (stats) {
                    this.set(stats.entries);
                }
            }
        });
        this.replays = new Counter({
            name: 'collab_replays_total', help: 'room:replay answered by this instance, by whether the answer was complete', labelNames: ['complete'] as const, registers
        });
        this.replays.inc({ complete: 'true' }, 0);
        this.replays.inc({ complete: 'false' }, 0);
        this.replayedEnvelopes = new Counter({ name: 'collab_replayed_envelopes_total', help: 'Envelopes sent again by room:replay', registers });
        this.storeFailures = new Counter({
            name: 'collab_store_failures_total', help: 'Failures of the shared store (Redis) this instance went on without: adapter publishes, replay window appends',
            labelNames: ['operation'] as const, registers
        });
        new Gauge({
            name: 'collab_instance_rooms', help: 'Rooms with at least one member connected to this instance', registers,
            collect() { this.set(sources.local?.().rooms ?? 0); }
        });
        new Gauge({
            name: 'collab_instance_members', help: 'Room members connected to this instance', registers,
            collect() { this.set(sources.local?.().members ?? 0); }
        });
        this.adapterMessages = new Counter({
            name: 'collab_adapter_received_messages_total',
            help: 'Messages Redis delivered to this instance\'s socket.io adapter: channel="room" a broadcast to one room, "server" the rest (server-side events, requests)',
            labelNames: ['channel'] as const, registers
        });
        this.adapterBytes = new Counter({
            name: 'collab_adapter_received_bytes_total', help: 'Bytes of the messages Redis delivered to this instance\'s socket.io adapter (encoded packets)',
            labelNames: ['channel'] as const, registers
        });
        for (const channel of ['room', 'server']) {
            this.adapterMessages.inc({ channel }, 0);
            this.adapterBytes.inc({ channel }, 0);
        }
        this.redisDuration = new Histogram({
            name: 'collab_redis_command_duration_seconds', help: 'Round trips of this instance\'s store operations to Redis (commands and scripts), by operation',
            labelNames: ['operation'] as const, registers,
            buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5]
        });
    }

    adapterReceived(channel: 'room' | 'server', bytes: number): void {
        this.adapterMessages.inc({ channel });
        this.adapterBytes.inc({ channel }, bytes);
    }

    get contentType(): string {
        return this.registry.contentType;
    }

    text(): Promise<string> {
        return this.registry.metrics();
    }

    relayed(kind: EnvelopeKind, bytes: number, seconds: number): void {
        this.relayedMessages.inc({ kind });
        this.relayedBytes.inc({ kind }, bytes);
        this.relayDuration.observe({ kind }, seconds);
    }

    contentServed(bytes: number): void {
        this.contentGets.inc();
        this.contentGetBytes.inc(bytes);
    }

    replayed(envelopes: number, complete: boolean): void {
        this.replays.inc({ complete: String(complete) });
        this.replayedEnvelopes.inc(envelopes);
    }

    reject(event: string, reason: string): void {
        this.rejected.inc({ event, reason });
    }

    dispose(): void {
        this.registry.clear();
    }

    /**
     * One listing of the rooms shared by the room metrics of a scrape (and scrapes close together);
     * `undefined` when the store does not answer (the room metrics then keep their last values).
     */
    protected rooms(): Promise<RoomRecord[] | undefined> {
        const now = Date.now();
        if (!this.scan || now - this.scan.at >= (this.options.roomScanMs ?? 1000)) {
            this.scan = { at: now, rooms: this.sources.rooms().catch(() => undefined) };
        }
        return this.scan.rooms;
    }
}
