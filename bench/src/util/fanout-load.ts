/**
 * Load for a room: every member broadcasts 1 KB messages to the others, closed-loop (each sender keeps
 * `window` messages in flight; a message is done when all other members got it) or at a fixed total
 * rate (open loop; latency counted from the intended send time, so queueing shows). Latency is measured
 * per delivery, send -> receipt, in this process.
 */
import type { Socket } from 'socket.io-client';
import { CpuMeter, machineBusyMs, runDelayMs } from './proc';
import { LatencySummary, round, Samples } from './stats';
import { now, sleep } from './time';

export const PAYLOAD_BYTES = 1024;

export type Receipt = (sender: number, msgNo: number, sentAt: number) => void;

/** One room member as the load sees it. */
export interface Member {
    send(msgNo: number, sentAt: number): void;
    onReceive(callback: Receipt): void;
}

/** Header written into the first bytes of each payload: intended send time, sender index, message number. */
export function writeHeader(buffer: Uint8Array, sender: number, msgNo: number, sentAt: number): void {
    const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    view.setFloat64(0, sentAt, true);
    view.setUint16(8, sender, true);
    view.setUint32(10, msgNo, true);
}

export function readHeader(buffer: Uint8Array): { sentAt: number; sender: number; msgNo: number } {
    const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    return { sentAt: view.getFloat64(0, true), sender: view.getUint16(8, true), msgNo: view.getUint32(10, true) };
}

const FILLER = Buffer.alloc(PAYLOAD_BYTES, 0x5a);

/** A raw socket.io member: emits `relay` envelopes (valid for the collab-server; echoed as-is by the bare one). */
export function rawMember(socket: Socket, roomId: string, index: number): Member {
    let seq = 0;
    return {
        send(msgNo, sentAt) {
            const data = Buffer.allocUnsafe(PAYLOAD_BYTES);
            FILLER.copy(data);
            writeHeader(data, index, msgNo, sentAt);
            socket.emit('relay', { room: roomId, kind: 'broadcast', seq: ++seq, key: 0, data });
        },
        onReceive(callback) {
            socket.on('relay', (envelope: { data: Uint8Array }) => {
                const header = readHeader(envelope.data);
                callback(header.sender, header.msgNo, header.sentAt);
            });
        }
    };
}

export interface PhaseResult {
    mode: 'closed-loop' | 'fixed-rate';
    /** Closed loop: messages in flight per sender. */
    window?: number;
    /** Fixed rate: offered messages/s (all senders). */
    offeredRate?: number;
    sentPerSec: number;
    deliveredPerSec: number;
    latency: LatencySummary;
    serverCpuPercent: number[];
    clientCpuPercent: number;
    /** CPU used meanwhile by every other process of the machine (background load), % of one core. */
    otherCpuPercent: number;
    /**
     * How long the event loops (servers' and the clients') waited for a CPU while runnable, in % of the
     * phase, the worst of them: what the machine's contention cost this phase.
     */
    cpuWaitPercent: number;
    /** Deliveries still missing when the phase drained (should be 0); summed over repetitions. */
    lost: number;
    repetitions?: number;
}

export interface LoadOptions {
    warmupMs: number;
    measureMs: number;
    /** Processes whose CPU use is reported (the servers). */
    serverPids: number[];
    drainMs?: number;
}

export class FanoutLoad {
    protected readonly n: number;
    protected readonly nextMsg: number[];
    /** Per sender: message number -> deliveries still missing. */
    protected readonly pending: Map<number, number>[];
    protected running = false;
    protected measuring = false;
    protected measureFrom = 0;
    protected latency = new Samples();
    protected delivered = 0;
    protected sent = 0;
    protected onDone?: (sender: number) => void;

    constructor(readonly members: Member[]) {
        this.n = members.length;
        this.nextMsg = members.map(() => 0);
        this.pending = members.map(() => new Map());
        members.forEach((member, receiver) => member.onReceive((sender, msgNo, sentAt) => this.receive(receiver, sender, msgNo, sentAt)));
    }

    protected receive(_receiver: number, sender: number, msgNo: number, sentAt: number): void {
        const at = now();
        const pending = this.pending[sender];
        const remaining = pending?.get(msgNo);
        if (remaining === undefined) {
            return;
        }
        if (this.measuring && sentAt >= this.measureFrom) {
            this.latency.add(at - sentAt);
            this.delivered++;
        }
        if (remaining <= 1) {
            pending.delete(msgNo);
            this.onDone?.(sender);
        } else {
            pending.set(msgNo, remaining - 1);
        }
    }

    protected send(sender: number, sentAt: number): void {
        const msgNo = this.nextMsg[sender]++;
        this.pending[sender].set(msgNo, this.n - 1);
        if (this.measuring && sentAt >= this.measureFrom) {
            this.sent++;
        }
        this.members[sender].send(msgNo, sentAt);
    }

    protected get inFlight(): number {
        return this.pending.reduce((sum, map) => sum + map.size, 0);
    }

    protected missing(): number {
        let missing = 0;
        this.pending.forEach(map => map.forEach(remaining => missing += remaining));
        return missing;
    }

    protected async measure(options: LoadOptions, mode: PhaseResult['mode'], extra: Partial<PhaseResult>, stop: () => void): Promise<PhaseResult> {
        await sleep(options.warmupMs);
        this.latency = new Samples();
        this.delivered = 0;
        this.sent = 0;
        const meters = options.serverPids.map(pid => new CpuMeter(pid));
        meters.forEach(meter => meter.start());
        const clientCpu = process.cpuUsage();
        const busyBefore = machineBusyMs();
        const delayPids = [process.pid, ...options.serverPids];
        const delayBefore = delayPids.map(runDelayMs);
        this.measureFrom = now();
        this.measuring = true;
        await sleep(options.measureMs);
        const elapsed = now() - this.measureFrom;
        // Deliveries of messages sent in the window that arrive after it still count for latency, not throughput.
        const deliveredInWindow = this.delivered;
        const sentInWindow = this.sent;
        const serverUse = meters.map(meter => meter.stop());
        const serverCpu = serverUse.map(use => use.percent);
        const client = process.cpuUsage(clientCpu);
        const clientMs = (client.user + client.system) / 1000;
        const delays = delayPids.map((pid, i) => runDelayMs(pid) - delayBefore[i]);
        const otherMs = machineBusyMs() - busyBefore - clientMs - serverUse.reduce((sum, use) => sum + use.cpuMs, 0);
        stop();
        this.running = false;
        const drainDeadline = now() + (options.drainMs ?? 10_000);
        while (this.inFlight > 0 && now() < drainDeadline) {
            await sleep(10);
        }
        this.measuring = false;
        const lost = this.missing();
        this.pending.forEach(map => map.clear());
        await sleep(200);
        return {
            mode,
            ...extra,
            sentPerSec: round(sentInWindow / elapsed * 1000, 0),
            deliveredPerSec: round(deliveredInWindow / elapsed * 1000, 0),
            latency: this.latency.summary(),
            serverCpuPercent: serverCpu,
            clientCpuPercent: round(clientMs / elapsed * 100, 1),
            otherCpuPercent: round(Math.max(0, otherMs) / elapsed * 100, 0),
            cpuWaitPercent: round(Math.max(...delays) / elapsed * 100, 1),
            lost
        };
    }

    /** Each sender keeps `window` messages in flight. */
    async closedLoop(window: number, options: LoadOptions): Promise<PhaseResult> {
        this.running = true;
        this.onDone = sender => {
            if (this.running) {
                this.send(sender, now());
            }
        };
        for (let w = 0; w < window; w++) {
            for (let sender = 0; sender < this.n; sender++) {
                this.send(sender, now());
            }
        }
        const result = await this.measure(options, 'closed-loop', { window }, () => undefined);
        this.onDone = undefined;
        return result;
    }

    /** `rate` messages/s in total, round robin over the senders, on a 1 ms tick. */
    async fixedRate(rate: number, options: LoadOptions): Promise<PhaseResult> {
        this.running = true;
        this.onDone = undefined;
        const start = now();
        const interval = 1000 / rate;
        let k = 0;
        const tick = () => {
            const due = Math.floor((now() - start) / interval);
            while (k <= due && this.running) {
                this.send(k % this.n, start + k * interval);
                k++;
            }
        };
        const timer = setInterval(tick, 1);
        const result = await this.measure(options, 'fixed-rate', { offeredRate: rate }, () => clearInterval(timer));
        clearInterval(timer);
        return result;
    }
}

/** Each numeric figure is the median over the repetitions (figures of one run are not mixed otherwise). */
export function medianPhase(results: PhaseResult[]): PhaseResult {
    const med = (values: number[]) => {
        const sorted = values.slice().sort((a, b) => a - b);
        const mid = Math.floor(sorted.length / 2);
        return sorted.length % 2 ? sorted[mid] : round((sorted[mid - 1] + sorted[mid]) / 2, 2);
    };
    const first = results[0];
    const latency = Object.fromEntries(Object.keys(first.latency).map(key =>
        [key, med(results.map(r => r.latency[key as keyof LatencySummary]))])) as unknown as LatencySummary;
    return {
        ...first,
        sentPerSec: med(results.map(r => r.sentPerSec)),
        deliveredPerSec: med(results.map(r => r.deliveredPerSec)),
        latency,
        serverCpuPercent: first.serverCpuPercent.map((_, i) => med(results.map(r => r.serverCpuPercent[i]))),
        clientCpuPercent: med(results.map(r => r.clientCpuPercent)),
        otherCpuPercent: med(results.map(r => r.otherCpuPercent)),
        cpuWaitPercent: med(results.map(r => r.cpuWaitPercent)),
        lost: results.reduce((sum, r) => sum + r.lost, 0),
        repetitions: results.length
    };
}
