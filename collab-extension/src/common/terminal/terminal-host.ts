/**
 * The host side of shared terminals, free of DOM and Theia: it broadcasts what a terminal prints,
 * keeps its bounded scrollback for late joiners and writes guests' keystrokes to it when allowed.
 * The browser wraps Theia's TerminalWidget as a `TerminalSource`; tests use a plain object.
 */
import { CollaborationError, CollaborationSession, Disposable, Emitter, Event, Peer } from '@theia-collab/protocol';
import { checkTerminalInput } from './terminal-permission';
import { SharedTerminalInfo, splitText, TerminalEndReason, TerminalLimits, TerminalMessages, TerminalSnapshotResult } from './terminal-protocol';
import { TerminalScrollback } from './terminal-scrollback';
import { ResendQueue } from '../resend-queue';

export interface TerminalDimensions { cols: number; rows: number }

/** What the host shares: a terminal it can read from and type into. */
export interface TerminalSource {
    readonly title: string;
    readonly dimensions: TerminalDimensions;
    /** Raw data written to the terminal by its process, escape sequences included. */
    readonly onOutput: Event<string>;
    readonly onDimensionsChanged?: Event<TerminalDimensions>;
    readonly onTitleChanged?: Event<string>;
    /** The terminal or its process went away. */
    readonly onClosed: Event<void>;
    /** What the terminal shows already when sharing starts; seeds the scrollback. */
    initialContent?(): string;
    /** Types into the terminal's process. */
    sendText(text: string): void;
}

export interface SharedTerminal {
    readonly id: string;
    readonly source: TerminalSource;
    readonly title: string;
    readonly writable: boolean;
}

export interface TerminalInputEvent { terminal: SharedTerminal; peer: Peer; data: string }
export interface TerminalInputRefusal { terminalId: string; peer: Peer | undefined; error: CollaborationError }

export interface TerminalHostOptions {
    scrollbackBytes: number;
    /** Milliseconds output is gathered before it is broadcast. */
    flushDelay?: number;
    /** Share ids; random by default. */
    createId?: () => string;
}

interface ShareState extends SharedTerminal {
    title: string;
    writable: boolean;
    dimensions: TerminalDimensions;
    scrollback: TerminalScrollback;
    /** Code units of output since sharing began (the seed included). */
    offset: number;
    pending: string[];
    timer: ReturnType<typeof setTimeout> | undefined;
    listeners: Disposable[];
}

function randomId(): string {
    const bytes = new Uint8Array(12);
    globalThis.crypto.getRandomValues(bytes);
    return Array.from(bytes, byte => byte.toString(16).padStart(2, '0')).join('');
}

function clampDimension(value: number): number {
    return Math.min(TerminalLimits.maxDimension, Math.max(1, Math.floor(Number.isFinite(value) ? value : 1)));
}

export class TerminalHost implements Disposable {
    protected readonly terminals = new Map<string, ShareState>();
    protected readonly toDispose: Disposable[] = [];
    protected disposed = false;

    protected readonly onDidInputEmitter = new Emitter<TerminalInputEvent>();
    readonly onDidInput: Event<TerminalInputEvent> = this.onDidInputEmitter.event;
    protected readonly onDidRefuseInputEmitter = new Emitter<TerminalInputRefusal>();
    readonly onDidRefuseInput: Event<TerminalInputRefusal> = this.onDidRefuseInputEmitter.event;
    protected readonly onDidChangeEmitter = new Emitter<void>();
    /** A terminal was shared, changed writability or stopped being shared. */
    readonly onDidChange: Event<void> = this.onDidChangeEmitter.event;
    protected readonly broadcasts: ResendQueue;

    constructor(protected readonly session: CollaborationSession, protected readonly options: TerminalHostOptions) {
        if (!session.isHost) {
            throw new CollaborationError('forbidden', 'Only the host shares terminals.');
        }
        // Output, shares and ends sent while this host's connection was down go again once it is back (guests
        // skip output they have by its offset).
        this.broadcasts = new ResendQueue(session, 'terminal broadcast');
        this.toDispose.push(
            this.broadcasts,
            session.onRequest(TerminalMessages.List, () => ({ terminals: [...this.terminals.values()].map(state => this.info(state)) })),
            session.onRequest(TerminalMessages.Snapshot, params => this.snapshot(params.id)),
            session.onRequest(TerminalMessages.Input, (params, sender) => {
                this.input(params.id, params.data, sender);
                return {};
            })
        );
    }

    get shared(): readonly SharedTerminal[] {
        return [...this.terminals.values()];
    }

    find(source: TerminalSource): SharedTerminal | undefined {
        return [...this.terminals.values()].find(state => state.source === source);
    }

    get(id: string): SharedTerminal | undefined {
        return this.terminals.get(id);
    }

    share(source: TerminalSource, options: { writable?: boolean } = {}): SharedTerminal {
        if (this.disposed) {
            throw new CollaborationError('room-closed', 'The session has ended.');
        }
        const existing = this.find(source);
        if (existing) {
            return existing;
        }
        if (this.terminals.size >= TerminalLimits.maxSharedTerminals) {
            throw new CollaborationError('too-large', `At most ${TerminalLimits.maxSharedTerminals} terminals can be shared at once.`);
        }
        const id = (this.options.createId ?? randomId)();
        const state: ShareState = {
            id,
            source,
            title: source.title.slice(0, TerminalLimits.maxTitleLength),
            writable: !!options.writable,
            dimensions: { cols: clampDimension(source.dimensions.cols), rows: clampDimension(source.dimensions.rows) },
            scrollback: new TerminalScrollback(this.options.scrollbackBytes),
            offset: 0,
            pending: [],
            timer: undefined,
            listeners: []
        };
        const seed = source.initialContent?.() ?? '';
        if (seed) {
            state.scrollback.append(seed);
            state.offset += seed.length;
        }
        state.listeners.push(
            source.onOutput(data => this.output(state, data)),
            source.onClosed(() => this.stop(id, 'closed'))
        );
        if (source.onDimensionsChanged) {
            state.listeners.push(source.onDimensionsChanged(dimensions => {
                const next = { cols: clampDimension(dimensions.cols), rows: clampDimension(dimensions.rows) };
                if (next.cols !== state.dimensions.cols || next.rows !== state.dimensions.rows) {
                    this.flush(state);
                    state.dimensions = next;
                    this.announce(state);
                }
            }));
        }
        if (source.onTitleChanged) {
            state.listeners.push(source.onTitleChanged(title => {
                state.title = title.slice(0, TerminalLimits.maxTitleLength);
                this.announce(state);
            }));
        }
        this.terminals.set(id, state);
        this.announce(state);
        this.onDidChangeEmitter.fire();
        return state;
    }

    setWritable(id: string, writable: boolean): void {
        const state = this.terminals.get(id);
        if (state && state.writable !== writable) {
            state.writable = writable;
            this.announce(state);
            this.onDidChangeEmitter.fire();
        }
    }

    stop(id: string, reason: TerminalEndReason = 'stopped'): void {
        const state = this.terminals.get(id);
        if (!state) {
            return;
        }
        this.flush(state);
        this.release(state);
        this.terminals.delete(id);
        this.send(() => this.session.sendBroadcast(TerminalMessages.Ended, { id, reason }));
        this.onDidChangeEmitter.fire();
    }

    setScrollbackBytes(bytes: number): void {
        this.options.scrollbackBytes = bytes;
        for (const state of this.terminals.values()) {
            state.scrollback.setLimit(bytes);
        }
    }

    dispose(): void {
        if (this.disposed) {
            return;
        }
        this.disposed = true;
        for (const state of this.terminals.values()) {
            this.release(state);
        }
        this.terminals.clear();
        this.toDispose.forEach(disposable => disposable.dispose());
        this.onDidChangeEmitter.fire();
        this.onDidInputEmitter.dispose();
        this.onDidRefuseInputEmitter.dispose();
        this.onDidChangeEmitter.dispose();
    }

    protected info(state: ShareState): SharedTerminalInfo {
        return { id: state.id, title: state.title, writable: state.writable, cols: state.dimensions.cols, rows: state.dimensions.rows };
    }

    protected announce(state: ShareState): void {
        const info = this.info(state);
        this.send(() => this.session.sendBroadcast(TerminalMessages.Shared, info));
    }

    protected output(state: ShareState, data: string): void {
        if (!data || !this.terminals.has(state.id)) {
            return;
        }
        state.pending.push(data);
        if (state.timer === undefined) {
            state.timer = setTimeout(() => this.flush(state), this.options.flushDelay ?? 10);
        }
    }

    /** Broadcasts gathered output now; called before anything that must come after it. */
    protected flush(state: ShareState): void {
        if (state.timer !== undefined) {
            clearTimeout(state.timer);
            state.timer = undefined;
        }
        if (!state.pending.length) {
            return;
        }
        const data = state.pending.join('');
        state.pending = [];
        for (const chunk of splitText(data, TerminalLimits.maxOutputChunk)) {
            const offset = state.offset;
            state.scrollback.append(chunk);
            state.offset += chunk.length;
            this.send(() => this.session.sendBroadcast(TerminalMessages.Output, { id: state.id, offset, data: chunk }));
        }
    }

    protected snapshot(id: string): TerminalSnapshotResult {
        const state = this.terminals.get(id);
        if (!state) {
            throw new CollaborationError('not-found', 'This terminal is no longer shared.');
        }
        this.flush(state);
        return { info: this.info(state), endOffset: state.offset, data: state.scrollback.text };
    }

    protected input(id: string, data: string, sender: Peer): void {
        const state = this.terminals.get(id);
        // The live permission, from the session, not whatever the sender's envelope might suggest.
        const peer = this.session.getPeer(sender.id);
        const error = checkTerminalInput(state, peer);
        if (error) {
            this.onDidRefuseInputEmitter.fire({ terminalId: id, peer: peer ?? sender, error });
            throw error;
        }
        state!.source.sendText(data);
        this.onDidInputEmitter.fire({ terminal: state!, peer: peer!, data });
    }

    protected release(state: ShareState): void {
        if (state.timer !== undefined) {
            clearTimeout(state.timer);
            state.timer = undefined;
        }
        state.listeners.forEach(listener => listener.dispose());
        state.listeners = [];
    }

    protected send(action: () => Promise<void>): void {
        this.broadcasts.send(action);
    }
}
