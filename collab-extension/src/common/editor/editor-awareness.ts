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

export class SessionAwareness implements Disposable {
    readonly awareness: Awareness;
    protected readonly doc = new Y.Doc();
    /** Awareness client id -> peer id. */
    protected readonly owners = new Map<number, string>();
    protected readonly toDispose: Disposable[] = [];
    protected pendingBroadcast: ReturnType<typeof setTimeout> | undefined;
    protected disposed = false;

    protected readonly onDidChangeEmitter = new Emitter<void>();
    /** Someone's state (possibly ours) changed, appeared or disappeared. */
    readonly onDidChange: Event<void> = this.onDidChangeEmitter.event;

    constructor(
        readonly session: CollaborationSession,
        protected readonly options: { throttleMs?: number; logger?: Pick<Console, 'warn'> } = {}
    ) {
        this.awareness = new Awareness(this.doc);
        this.owners.set(this.awareness.clientID, session.self.id);
        const self = session.self;
        this.awareness.setLocalState({ peer: self.id, name: self.name, color: colorOf(self.id) } satisfies AwarenessState);
        const onUpdate = ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }, origin: unknown) => {
            if (origin === 'local' && [...added, ...updated, ...removed].includes(this.awareness.clientID)) {
                this.scheduleBroadcast();
            }
        };
        const onChange = () => {
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
            session.onBroadcast(EditorMessages.Awareness, (params, sender) => this.receive(toUint8Array(params.update), sender)),
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

    /** Merges `state` into this window's state and broadcasts it (throttled). */
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
        this.awareness.setLocalState(next);
    }

    get local(): AwarenessState {
        return this.awareness.getLocalState() as AwarenessState;
    }

    /** Every peer's state (ours included), by peer id. */
    get states(): Map<string, AwarenessState> {
        const result = new Map<string, AwarenessState>();
        for (const [client, state] of this.awareness.getStates()) {
            const peer = this.owners.get(client);
            if (peer && state && (state as AwarenessState).peer === peer) {
                result.set(peer, state as AwarenessState);
            }
        }
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

    /** Keeps colours distinct: on a clash, whoever joined later takes the first colour nobody uses. */
    protected ensureDistinctColor(): void {
        const own = this.local;
        if (!own || this.disposed) {
            return;
        }
        const order = this.session.peers.map(peer => peer.id);
        const rank = (peer: string) => {
            const index = order.indexOf(peer);
            return index < 0 ? Number.MAX_SAFE_INTEGER : index;
        };
        const others = [...this.states.values()].filter(state => state.peer !== own.peer);
        const clash = others.some(state => state.color.toLowerCase() === own.color.toLowerCase() && rank(state.peer) < rank(own.peer));
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

    protected receive(update: Uint8Array, sender: Peer): void {
        let entries: AwarenessEntry[];
        try {
            entries = decodeAwarenessUpdate(update);
        } catch {
            this.warn(`malformed awareness update from ${sender.id}`);
            return;
        }
        const accepted: AwarenessEntry[] = [];
        for (const entry of entries) {
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
            if (entry.state === null) {
                accepted.push(entry);
            } else {
                const parsed = AwarenessState.safeParse(entry.state);
                if (!parsed.success || parsed.data.peer !== sender.id) {
                    this.warn(`invalid awareness state from ${sender.id}`);
                    continue;
                }
                accepted.push({ ...entry, state: { ...parsed.data, name: this.session.getPeer(sender.id)?.name ?? parsed.data.name } });
            }
            this.owners.set(entry.client, sender.id);
        }
        if (accepted.length) {
            applyAwarenessUpdate(this.awareness, encodeAwarenessEntries(accepted), sender.id);
        }
    }

    protected removePeer(peerId: string): void {
        const clients = [...this.owners].filter(([, peer]) => peer === peerId).map(([client]) => client);
        removeAwarenessStates(this.awareness, clients, 'left');
        clients.forEach(client => this.owners.delete(client));
    }

    protected warn(message: string): void {
        (this.options.logger ?? console).warn(`collaboration: ${message}`);
    }
}

// ---- the y-protocols awareness encoding (lib0 var-uints and var-strings), decoded defensively ----

const MAX_ENTRIES = 16;

export function decodeAwarenessUpdate(bytes: Uint8Array): AwarenessEntry[] {
    let pos = 0;
    const readVarUint = (): number => {
        let num = 0;
        let mult = 1;
        for (let i = 0; i < 8; i++) {
            if (pos >= bytes.length) {
                throw new Error('unexpected end of awareness update');
            }
            const byte = bytes[pos++];
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
    };
    const decoder = new TextDecoder('utf-8', { fatal: true });
    const count = readVarUint();
    if (count > MAX_ENTRIES) {
        throw new Error('too many awareness entries');
    }
    const entries: AwarenessEntry[] = [];
    for (let i = 0; i < count; i++) {
        const client = readVarUint();
        const clock = readVarUint();
        const length = readVarUint();
        if (pos + length > bytes.length) {
            throw new Error('unexpected end of awareness update');
        }
        const state = JSON.parse(decoder.decode(bytes.subarray(pos, pos + length)));
        pos += length;
        entries.push({ client, clock, state });
    }
    return entries;
}

export function encodeAwarenessEntries(entries: readonly AwarenessEntry[]): Uint8Array {
    const out: number[] = [];
    const writeVarUint = (num: number) => {
        while (num > 0x7f) {
            out.push(0x80 | (num % 128));
            num = Math.floor(num / 128);
        }
        out.push(num);
    };
    const encoder = new TextEncoder();
    writeVarUint(entries.length);
    for (const entry of entries) {
        writeVarUint(entry.client);
        writeVarUint(entry.clock);
        const bytes = encoder.encode(JSON.stringify(entry.state));
        writeVarUint(bytes.length);
        bytes.forEach(byte => out.push(byte));
    }
    return Uint8Array.from(out);
}
