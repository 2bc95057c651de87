/**
 * Session-wide awareness over y-protocols: every peer broadcasts its own state (name, colour, current
 * document, selections, visible range) and keeps everyone else's. Incoming updates are checked: a peer may
 * only publish states for the Yjs awareness clients it owns, naming itself, and the name shown is the one
 * the session knows. States disappear when their peer leaves (and after 30 s without renewal).
 */
import * as Y from 'yjs';
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate, removeAwarenessStates } from 'y-protocols/awareness';
import { z } from 'zod';
import { Disposable, Emitter, Event } from '@theia-collab/protocol/lib/events';
import { Broadcast } from '@theia-collab/protocol/lib/messages';
import { CollaborationSession, Peer } from '@theia-collab/protocol/lib/session';
import { AwarenessStateCheck } from './awareness-state-check';
import { AwarenessState, EditorMessages, toUint8Array } from './editor-protocol';

/** Distinct, readable on light and dark themes. */
export const PEER_COLORS = [
    '#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4',
    '#f032e6', '#9a6324', '#469990', '#808000', '#000075', '#e6a700'
] as const;

export function colorOf(peerId: string): string {
    let hash = 0;
    for (let i = 0; i < peerId.length; i++) {
        hash = (Math.imul(hash, 31) + peerId.charCodeAt(i)) >>> 0;
    }
    return PEER_COLORS[hash % PEER_COLORS.length];
}

export const AwarenessRefreshParams = z.object({}).strict();

export namespace AwarenessMessages {
    /**
     * A peer that lost messages for good (a long outage) asks everyone for their awareness state again; each
     * answers by broadcasting its own state (throttled, so asking often costs no more than moving the caret).
     */
    export const Refresh = Broadcast.define<{}>('editor/awareness/refresh', { params: AwarenessRefreshParams });
    export const all = [Refresh] as const;
}

export type LocalAwareness = Omit<AwarenessState, 'peer' | 'name' | 'color'>;

interface AwarenessEntry { client: number; clock: number; state: unknown }

const MAX_CLIENTS_PER_PEER = 4;
/** Received awareness updates are applied in batches, at most this often. */
export const RECEIVE_INTERVAL_MS = 40;
/** Updates of one peer waiting for a batch; a peer sends at most one per `throttleMs`, so this is never reached in practice. */
const MAX_QUEUED_PER_PEER = 64;

export class SessionAwareness implements Disposable {
    readonly awareness: Awareness;
    protected readonly doc = new Y.Doc();
    /** Awareness client id -> peer id. */
    protected readonly owners = new Map<number, string>();
    protected readonly toDispose: Disposable[] = [];
    protected pendingBroadcast: ReturnType<typeof setTimeout> | undefined;
    protected disposed = false;
    /** `states`, built once per change: the carets, the participants view and the colour check all read it per update. */
    protected cachedStates: Map<string, AwarenessState> | undefined;
    /** Received updates not applied yet, by sending peer, oldest first. */
    protected readonly incoming = new Map<string, Uint8Array[]>();
    protected receiveTimer: ReturnType<typeof setTimeout> | undefined;
    protected lastReceive = -Infinity;
    protected refreshSoon = false;
    protected readonly stateCheck = new AwarenessStateCheck();

    protected readonly onDidChangeEmitter = new Emitter<void>();
    /** Someone's state (possibly ours) changed, appeared or disappeared. */
    readonly onDidChange: Event<void> = this.onDidChangeEmitter.event;

    constructor(
        readonly session: CollaborationSession,
        protected readonly options: { throttleMs?: number; receiveIntervalMs?: number; logger?: Pick<Console, 'warn'> } = {}
    ) {
        this.awareness = new Awareness(this.doc);
        this.owners.set(this.awareness.clientID, session.self.id);
        const self = session.self;
        this.awareness.setLocalState({ peer: self.id, name: self.name, color: colorOf(self.id) } satisfies AwarenessState);
        const onUpdate = ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }, origin: unknown) => {
            this.cachedStates = undefined;
            if (origin === 'local' && [...added, ...updated, ...removed].includes(this.awareness.clientID)) {
                this.scheduleBroadcast();
            }
        };
        const onChange = () => {
            // y-protocols emits 'change' before 'update': the cache is dropped by both.
            this.cachedStates = undefined;
            this.ensureDistinctColor();
            this.onDidChangeEmitter.fire(undefined);
        };
        this.awareness.on('update', onUpdate);
        this.awareness.on('change', onChange);
        this.toDispose.push(
            Disposable.create(() => {
                this.awareness.off('update', onUpdate);
                this.awareness.off('change', onChange);
            }),
            session.onBroadcast(EditorMessages.Awareness, (params, sender) => this.queue(toUint8Array(params.update), sender)),
            session.onPeerJoined(() => this.broadcastNow()),
            // Back after a dropped connection: others may have expired our state meanwhile.
            session.onDidChangeConnection(state => state === 'connected' && this.broadcastNow()),
            // Others' state changes were lost for good: ask everyone for theirs again.
            session.onMissedMessages(() => this.refresh()),
            session.onBroadcast(AwarenessMessages.Refresh, (_params, sender) => {
                if (sender.id !== session.self.id) {
                    this.scheduleBroadcast();
                }
            }),
            session.onPeerLeft(({ peer }) => this.removePeer(peer.id)),
            session.onPeerChanged(peer => {
                if (peer.id === session.self.id) {
                    this.setLocal({});
                }
            })
        );
        this.broadcastNow();
    }

    get clientID(): number {
        return this.awareness.clientID;
    }

    /**
     * Merges `state` into this window's state and broadcasts it (throttled). Nothing happens when that changes
     * nothing (a caret that moves with the text typed before it keeps its relative position): no listener runs
     * and nothing is sent; the periodic renewal of y-protocols still keeps the state alive.
     */
    setLocal(state: Partial<LocalAwareness>): void {
        if (this.disposed) {
            return;
        }
        const current = (this.awareness.getLocalState() ?? {}) as AwarenessState;
        const next: Record<string, unknown> = { ...current, ...state, peer: this.session.self.id, name: this.session.self.name };
        for (const key of Object.keys(next)) {
            if (next[key] === undefined) {
                delete next[key];
            }
        }
        if (this.awareness.getLocalState() !== null && sameState(current, next)) {
            return;
        }
        this.awareness.setLocalState(next);
    }

    get local(): AwarenessState {
        return this.awareness.getLocalState() as AwarenessState;
    }

    /** Every peer's state (ours included), by peer id. Shared until the next change: do not modify. */
    get states(): Map<string, AwarenessState> {
        if (this.cachedStates) {
            return this.cachedStates;
        }
        const result = new Map<string, AwarenessState>();
        for (const [client, state] of this.awareness.getStates()) {
            const peer = this.owners.get(client);
            if (peer && state && (state as AwarenessState).peer === peer) {
                result.set(peer, state as AwarenessState);
            }
        }
        this.cachedStates = result;
        return result;
    }

    stateOf(peerId: string): AwarenessState | undefined {
        return this.states.get(peerId);
    }

    dispose(): void {
        if (this.disposed) {
            return;
        }
        this.disposed = true;
        clearTimeout(this.pendingBroadcast);
        clearTimeout(this.receiveTimer);
        this.incoming.clear();
        // Tell the others we are gone (a null state), then stop.
        removeAwarenessStates(this.awareness, [this.awareness.clientID], 'local');
        if (!this.session.closed) {
            this.session.sendBroadcast(EditorMessages.Awareness, { update: encodeAwarenessUpdate(this.awareness, [this.awareness.clientID]) })
                .catch(() => { /* leaving */ });
        }
        this.toDispose.forEach(d => d.dispose());
        this.awareness.destroy();
        this.doc.destroy();
        this.onDidChangeEmitter.dispose();
    }

    /**
     * Keeps colours distinct: on a clash the host keeps its colour, and of two guests the one with the greater peer
     * id takes the first colour nobody uses. The order must be the same in every window (each guest's peer list
     * starts with itself, so list positions are not: two guests each waited for the other to yield).
     */
    protected ensureDistinctColor(): void {
        const own = this.local;
        if (!own || this.disposed) {
            return;
        }
        const host = this.session.host.id;
        const yieldsTo = (other: string) => other === host || (own.peer !== host && other < own.peer);
        const others = [...this.states.values()].filter(state => state.peer !== own.peer);
        const clash = others.some(state => state.color.toLowerCase() === own.color.toLowerCase() && yieldsTo(state.peer));
        if (!clash) {
            return;
        }
        const used = new Set(others.map(state => state.color.toLowerCase()));
        const color = PEER_COLORS.find(candidate => !used.has(candidate)) ?? own.color;
        if (color !== own.color) {
            this.awareness.setLocalState({ ...own, color });
        }
    }

    protected scheduleBroadcast(): void {
        if (this.pendingBroadcast === undefined) {
            this.pendingBroadcast = setTimeout(() => this.broadcastNow(), this.options.throttleMs ?? 40);
        }
    }

    /** Asks every peer to broadcast its state again (and broadcasts ours). */
    protected refresh(): void {
        if (this.disposed || this.session.closed) {
            return;
        }
        this.broadcastNow();
        this.session.sendBroadcast(AwarenessMessages.Refresh, {}).catch(error =>
            (this.options.logger ?? console).warn('collaboration: could not ask for awareness states:', error));
    }

    protected broadcastNow(): void {
        clearTimeout(this.pendingBroadcast);
        this.pendingBroadcast = undefined;
        if (this.disposed || this.session.closed || !this.awareness.meta.has(this.awareness.clientID)) {
            return;
        }
        if (this.session.connectionState === 'reconnecting') {
            return; // broadcast again once connected
        }
        const update = encodeAwarenessUpdate(this.awareness, [this.awareness.clientID]);
        this.session.sendBroadcast(EditorMessages.Awareness, { update }).catch(error =>
            (this.options.logger ?? console).warn('collaboration: could not broadcast awareness:', error));
    }

    /**
     * Incoming updates wait here for the next batch (at most one per `receiveIntervalMs`): in a room of 30 every
     * caret moves a few times a second, and a caret that moved twice meanwhile is only decoded, checked and
     * shown once. A page that falls behind thus does less work per message, not more.
     */
    protected queue(update: Uint8Array, sender: Peer): void {
        if (this.disposed) {
            return;
        }
        let pending = this.incoming.get(sender.id);
        if (!pending) {
            pending = [];
            this.incoming.set(sender.id, pending);
        }
        pending.push(update);
        if (pending.length > MAX_QUEUED_PER_PEER) {
            pending.shift();
            // Dropping the oldest is only safe for the clients later updates name again; a peer this far ahead gets asked for its state.
            this.refreshSoon = true;
        }
        if (this.receiveTimer === undefined) {
            const wait = Math.max(0, this.lastReceive + (this.options.receiveIntervalMs ?? RECEIVE_INTERVAL_MS) - Date.now());
            this.receiveTimer = setTimeout(() => this.receivePending(), wait);
        }
    }

    protected receivePending(): void {
        this.receiveTimer = undefined;
        this.lastReceive = Date.now();
        const batches = [...this.incoming];
        this.incoming.clear();
        const accepted: AwarenessEntry[] = [];
        for (const [peerId, updates] of batches) {
            const sender = this.session.getPeer(peerId);
            if (sender) {
                accepted.push(...this.accept(updates, sender));
            }
        }
        if (accepted.length) {
            applyAwarenessUpdate(this.awareness, encodeAwarenessEntries(accepted), 'remote');
        }
        if (this.refreshSoon) {
            this.refreshSoon = false;
            this.refresh();
        }
    }

    /** The entries of one peer's updates that may be applied: the newest per client, owned by the peer, valid. */
    protected accept(updates: Uint8Array[], sender: Peer): AwarenessEntry[] {
        const newest = new Map<number, RawAwarenessEntry>();
        for (const update of updates) {
            let entries: RawAwarenessEntry[];
            try {
                entries = decodeAwarenessEntries(update);
            } catch {
                this.warn(`malformed awareness update from ${sender.id}`);
                continue;
            }
            for (const entry of entries) {
                const seen = newest.get(entry.client);
                // What y-protocols would keep of the two: the higher clock; at the same clock a removal.
                if (!seen || entry.clock > seen.clock || (entry.clock === seen.clock && entry.isNull)) {
                    newest.set(entry.client, entry);
                }
            }
        }
        const accepted: AwarenessEntry[] = [];
        for (const entry of newest.values()) {
            const owner = this.owners.get(entry.client);
            if (owner !== undefined && owner !== sender.id) {
                continue;
            }
            if (owner === undefined) {
                const owned = [...this.owners.values()].filter(peer => peer === sender.id).length;
                if (owned >= MAX_CLIENTS_PER_PEER) {
                    continue;
                }
            }
            let state: unknown;
            try {
                state = JSON.parse(utf8Decoder.decode(entry.json));
            } catch {
                this.warn(`malformed awareness update from ${sender.id}`);
                continue;
            }
            if (state === null) {
                accepted.push({ client: entry.client, clock: entry.clock, state });
            } else {
                const valid = this.stateCheck.check(state);
                if (!valid || valid.peer !== sender.id) {
                    this.warn(`invalid awareness state from ${sender.id}`);
                    continue;
                }
                accepted.push({ client: entry.client, clock: entry.clock, state: { ...valid, name: sender.name } });
            }
            if (this.owners.get(entry.client) !== sender.id) {
                this.owners.set(entry.client, sender.id);
                this.cachedStates = undefined;
            }
        }
        return accepted;
    }

    protected removePeer(peerId: string): void {
        // Its queued updates would bring it back.
        this.incoming.delete(peerId);
        const clients = [...this.owners].filter(([, peer]) => peer === peerId).map(([client]) => client);
        removeAwarenessStates(this.awareness, clients, 'left');
        clients.forEach(client => this.owners.delete(client));
        this.cachedStates = undefined;
    }

    protected warn(message: string): void {
        (this.options.logger ?? console).warn(`collaboration: ${message}`);
    }
}

// ---- the y-protocols awareness encoding (lib0 var-uints and var-strings), decoded defensively ----

const MAX_ENTRIES = 16;

/** One of each for every update: constructing a TextDecoder per message showed in profiles of a room of 30. */
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/** Whether two awareness states (plain JSON values) are equal. */
function sameState(a: unknown, b: unknown): boolean {
    return JSON.stringify(a) === JSON.stringify(b);
}

/** An entry of an update whose state is not parsed yet (`json`: its UTF-8 JSON bytes). */
interface RawAwarenessEntry { client: number; clock: number; json: Uint8Array; isNull: boolean }

const NULL_JSON = [0x6e, 0x75, 0x6c, 0x6c]; // 'null'

/** The entries of an update, their states left unparsed (most of a batch's are superseded by newer ones). */
export function decodeAwarenessEntries(bytes: Uint8Array): RawAwarenessEntry[] {
    const reader = new VarUintReader(bytes);
    const count = reader.read();
    if (count > MAX_ENTRIES) {
        throw new Error('too many awareness entries');
    }
    const entries: RawAwarenessEntry[] = [];
    for (let i = 0; i < count; i++) {
        const client = reader.read();
        const clock = reader.read();
        const json = reader.bytes(reader.read());
        entries.push({ client, clock, json, isNull: json.length === 4 && NULL_JSON.every((byte, j) => json[j] === byte) });
    }
    return entries;
}

class VarUintReader {
    protected pos = 0;
    constructor(protected readonly data: Uint8Array) { }

    read(): number {
        let num = 0;
        let mult = 1;
        for (let i = 0; i < 8; i++) {
            if (this.pos >= this.data.length) {
                throw new Error('unexpected end of awareness update');
            }
            const byte = this.data[this.pos++];
            num += (byte & 0x7f) * mult;
            if (byte < 0x80) {
                if (num > Number.MAX_SAFE_INTEGER) {
                    throw new Error('integer out of range');
                }
                return num;
            }
            mult *= 128;
        }
        throw new Error('integer too long');
    }

    bytes(length: number): Uint8Array {
        if (this.pos + length > this.data.length) {
            throw new Error('unexpected end of awareness update');
        }
        const result = this.data.subarray(this.pos, this.pos + length);
        this.pos += length;
        return result;
    }
}

/** The entries of an update with their states parsed. */
export function decodeAwarenessUpdate(bytes: Uint8Array): AwarenessEntry[] {
    return decodeAwarenessEntries(bytes).map(({ client, clock, json }) => ({ client, clock, state: JSON.parse(utf8Decoder.decode(json)) }));
}

export function encodeAwarenessEntries(entries: readonly AwarenessEntry[]): Uint8Array {
    const head: number[] = [];
    const parts: (number[] | Uint8Array)[] = [];
    const writeVarUint = (out: number[], num: number) => {
        while (num > 0x7f) {
            out.push(0x80 | (num % 128));
            num = Math.floor(num / 128);
        }
        out.push(num);
    };
    writeVarUint(head, entries.length);
    parts.push(head);
    for (const entry of entries) {
        const bytes = utf8Encoder.encode(JSON.stringify(entry.state));
        const fields: number[] = [];
        writeVarUint(fields, entry.client);
        writeVarUint(fields, entry.clock);
        writeVarUint(fields, bytes.length);
        parts.push(fields, bytes);
    }
    const result = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
    let offset = 0;
    for (const part of parts) {
        result.set(part, offset);
        offset += part.length;
    }
    return result;
}
