/**
 * The guest side of shared terminals, free of DOM and Theia: it learns which terminals the host
 * shares, fetches their scrollback, puts live output in order and forwards keystrokes. The browser
 * shows each `GuestTerminal` in an xterm widget.
 */
import { CollaborationError, CollaborationSession, Disposable, Emitter, Event, Peer } from '@theia-collab/protocol';
import { SharedTerminalInfo, splitText, TerminalEndReason, TerminalLimits, TerminalMessages, TerminalOutputParams } from './terminal-protocol';
import { TerminalScrollback } from './terminal-scrollback';

export type GuestTerminalState = 'loading' | 'live' | 'ended';
export type GuestTerminalEndReason = TerminalEndReason | 'session-ended';

/** Chunks that arrived ahead of a gap are held, up to this many, before the terminal resynchronises. */
const MAX_HELD_CHUNKS = 256;

export class GuestTerminal implements Disposable {
    protected _state: GuestTerminalState = 'loading';
    protected _endReason: GuestTerminalEndReason | undefined;
    protected nextOffset = 0;
    protected held = new Map<number, string>();
    /** What this terminal printed, so a reopened widget can show it again. */
    protected readonly history: TerminalScrollback;
    protected inputQueue = '';
    protected sending = false;
    /** The resynchronisation in flight. */
    protected resyncing: Promise<void> | undefined;

    protected readonly onDataEmitter = new Emitter<string>();
    /** Output to write to the terminal, in order; after `loading`, starts with the scrollback. */
    readonly onData: Event<string> = this.onDataEmitter.event;
    protected readonly onDidChangeInfoEmitter = new Emitter<SharedTerminalInfo>();
    readonly onDidChangeInfo: Event<SharedTerminalInfo> = this.onDidChangeInfoEmitter.event;
    protected readonly onDidEndEmitter = new Emitter<GuestTerminalEndReason>();
    readonly onDidEnd: Event<GuestTerminalEndReason> = this.onDidEndEmitter.event;
    protected readonly onInputErrorEmitter = new Emitter<CollaborationError>();
    /** The host refused input (e.g. `permission-denied`) or it could not be delivered. */
    readonly onInputError: Event<CollaborationError> = this.onInputErrorEmitter.event;
    /** The view must be cleared: the output starts over from a fresh snapshot. */
    protected readonly onDidResetEmitter = new Emitter<void>();
    readonly onDidReset: Event<void> = this.onDidResetEmitter.event;

    constructor(protected readonly session: CollaborationSession, protected _info: SharedTerminalInfo, historyBytes: number) {
        this.history = new TerminalScrollback(historyBytes);
    }

    get id(): string { return this._info.id; }
    get info(): SharedTerminalInfo { return this._info; }
    get state(): GuestTerminalState { return this._state; }
    get ended(): boolean { return this._state === 'ended'; }
    get endReason(): GuestTerminalEndReason | undefined { return this._endReason; }
    /** Whether typing can be accepted: the host made the terminal writable and this guest may write. */
    get writable(): boolean {
        return this._state !== 'ended' && this._info.writable && this.session.self.permission === 'readwrite';
    }
    /** What this guest has seen so far (bounded), to fill a new view. */
    get text(): string { return this.history.text; }

    /** Fetches the scrollback and switches to live output. */
    async load(): Promise<void> {
        if (this._state === 'ended') {
            return;
        }
        try {
            const snapshot = await this.session.sendRequest(TerminalMessages.Snapshot, { id: this.id });
            if (this.ended) {
                return;
            }
            const resync = this._state === 'live';
            this.updateInfo(snapshot.info);
            this.nextOffset = snapshot.endOffset;
            this.history.clear();
            if (resync) {
                this.onDidResetEmitter.fire();
            }
            this._state = 'live';
            this.emit(snapshot.data);
            this.drain();
        } catch (error) {
            const collaborationError = CollaborationError.from(error);
            if (collaborationError.code === 'not-found') {
                this.end('stopped');
            } else if (!this.session.closed) {
                throw collaborationError;
            }
        }
    }

    /**
     * Starts over from the host's scrollback: the view is reset and refilled with the snapshot, and live output
     * continues after it (nothing is printed twice). Used when output went missing. Resolves once done.
     */
    resync(): Promise<void> {
        if (this.resyncing || this._state === 'ended') {
            return this.resyncing ?? Promise.resolve();
        }
        const done = this.load()
            .catch(error => {
                if (!this.session.closed) {
                    console.warn('collaboration: terminal resync failed', error);
                }
            })
            .finally(() => this.resyncing = undefined);
        this.resyncing = done;
        return done;
    }

    /** Types `data` into the host's terminal, in order; refusals are reported through `onInputError`. */
    sendInput(data: string): void {
        if (this._state === 'ended' || !data) {
            return;
        }
        this.inputQueue += data;
        if (this.inputQueue.length > 64 * TerminalLimits.maxInputChunk) {
            // Typing far ahead of a slow connection: keep the newest keystrokes only.
            this.inputQueue = this.inputQueue.slice(-64 * TerminalLimits.maxInputChunk);
        }
        this.pump();
    }

    /** @internal */
    handleInfo(info: SharedTerminalInfo): void {
        if (this._state !== 'ended') {
            this.updateInfo(info);
        }
    }

    /** @internal */
    handleOutput(params: TerminalOutputParams): void {
        if (this._state === 'ended') {
            return;
        }
        if (this._state === 'live' && params.offset + params.data.length <= this.nextOffset) {
            return;
        }
        if (this.held.size >= MAX_HELD_CHUNKS) {
            if (this._state === 'live' && !this.resyncing) {
                // Lost track (something went missing): start over from the host's scrollback.
                this.held.clear();
                this.resync();
            } else {
                this.held.delete(Math.min(...this.held.keys()));
            }
        }
        this.held.set(params.offset, params.data);
        if (this._state === 'live') {
            this.drain();
        }
    }

    /** @internal */
    end(reason: GuestTerminalEndReason): void {
        if (this._state === 'ended') {
            return;
        }
        this._state = 'ended';
        this._endReason = reason;
        this.held.clear();
        this.inputQueue = '';
        this.onDidEndEmitter.fire(reason);
    }

    dispose(): void {
        this.end('session-ended');
        this.onDataEmitter.dispose();
        this.onDidChangeInfoEmitter.dispose();
        this.onDidEndEmitter.dispose();
        this.onInputErrorEmitter.dispose();
        this.onDidResetEmitter.dispose();
    }

    protected updateInfo(info: SharedTerminalInfo): void {
        const previous = this._info;
        this._info = info;
        if (previous.title !== info.title || previous.writable !== info.writable || previous.cols !== info.cols || previous.rows !== info.rows) {
            this.onDidChangeInfoEmitter.fire(info);
        }
    }

    protected drain(): void {
        for (const [offset, data] of [...this.held]) {
            if (offset + data.length <= this.nextOffset) {
                this.held.delete(offset);
            }
        }
        let next = this.held.get(this.nextOffset);
        while (next !== undefined) {
            this.held.delete(this.nextOffset);
            this.nextOffset += next.length;
            this.emit(next);
            next = this.held.get(this.nextOffset);
        }
    }

    protected emit(data: string): void {
        if (data) {
            this.history.append(data);
            this.onDataEmitter.fire(data);
        }
    }

    /** One input request in flight at a time, so keystrokes reach the host in the order typed. */
    protected async pump(): Promise<void> {
        if (this.sending) {
            return;
        }
        this.sending = true;
        try {
            while (this.inputQueue && this._state !== 'ended' && !this.session.closed) {
                const [data] = splitText(this.inputQueue, TerminalLimits.maxInputChunk);
                this.inputQueue = this.inputQueue.slice(data.length);
                try {
                    await this.session.sendRequest(TerminalMessages.Input, { id: this.id, data });
                } catch (error) {
                    // What was typed after a refusal is refused too: drop it instead of asking again.
                    this.inputQueue = '';
                    const collaborationError = CollaborationError.from(error);
                    if (collaborationError.code === 'not-found') {
                        this.end('stopped');
                    }
                    this.onInputErrorEmitter.fire(collaborationError);
                }
            }
        } finally {
            this.sending = false;
        }
    }
}

export interface TerminalGuestOptions {
    /** How much output each guest terminal keeps to refill a reopened view. */
    historyBytes: number;
}

export class TerminalGuest implements Disposable {
    protected readonly terminals = new Map<string, GuestTerminal>();
    protected readonly toDispose: Disposable[] = [];
    protected disposed = false;

    protected readonly onDidShareEmitter = new Emitter<GuestTerminal>();
    /** The host shares a terminal (also fired for those already shared when this guest joined). */
    readonly onDidShare: Event<GuestTerminal> = this.onDidShareEmitter.event;

    constructor(protected readonly session: CollaborationSession, protected readonly options: TerminalGuestOptions) {
        const fromHost = (sender: Peer) => sender.id === session.host.id;
        this.toDispose.push(
            session.onBroadcast(TerminalMessages.Shared, (info, sender) => {
                if (fromHost(sender)) {
                    this.open(info);
                }
            }),
            session.onBroadcast(TerminalMessages.Output, (params, sender) => {
                if (fromHost(sender)) {
                    this.terminals.get(params.id)?.handleOutput(params);
                }
            }),
            session.onBroadcast(TerminalMessages.Ended, (params, sender) => {
                if (fromHost(sender)) {
                    const terminal = this.terminals.get(params.id);
                    if (terminal) {
                        this.terminals.delete(params.id);
                        terminal.end(params.reason);
                    }
                }
            }),
            session.onClose(() => this.dispose()),
            session.onMissedMessages(() => this.resync().catch(error => {
                if (!session.closed) {
                    console.warn('collaboration: could not re-synchronise the shared terminals', CollaborationError.from(error).message);
                }
            }))
        );
    }

    get all(): readonly GuestTerminal[] {
        return [...this.terminals.values()];
    }

    get(id: string): GuestTerminal | undefined {
        return this.terminals.get(id);
    }

    /** Asks the host what it shares already; call once after construction. */
    async start(): Promise<void> {
        const { terminals } = await this.session.sendRequest(TerminalMessages.List, {});
        for (const info of terminals) {
            this.open(info);
        }
    }

    /**
     * After messages were lost for good: asks the host which terminals it shares now; those it stopped sharing end,
     * new ones open, and every one still shared is refilled from the host's scrollback (replacing its output).
     */
    async resync(): Promise<void> {
        if (this.disposed) {
            return;
        }
        const { terminals } = await this.session.sendRequest(TerminalMessages.List, {});
        if (this.disposed) {
            return;
        }
        const shared = new Set(terminals.map(info => info.id));
        for (const [id, terminal] of [...this.terminals]) {
            if (!shared.has(id)) {
                this.terminals.delete(id);
                terminal.end('stopped');
            }
        }
        const loads: Promise<void>[] = [];
        for (const info of terminals) {
            const known = this.terminals.get(info.id);
            if (known) {
                known.handleInfo(info);
                loads.push(known.resync());
            } else {
                this.open(info);
            }
        }
        await Promise.all(loads);
    }

    dispose(): void {
        if (this.disposed) {
            return;
        }
        this.disposed = true;
        this.toDispose.forEach(disposable => disposable.dispose());
        for (const terminal of this.terminals.values()) {
            terminal.end('session-ended');
        }
        this.terminals.clear();
        this.onDidShareEmitter.dispose();
    }

    protected open(info: SharedTerminalInfo): void {
        if (this.disposed) {
            return;
        }
        const known = this.terminals.get(info.id);
        if (known) {
            known.handleInfo(info);
            return;
        }
        if (this.terminals.size >= TerminalLimits.maxSharedTerminals) {
            return;
        }
        const terminal = new GuestTerminal(this.session, info, this.options.historyBytes);
        this.terminals.set(info.id, terminal);
        this.onDidShareEmitter.fire(terminal);
        terminal.load().catch(error => console.warn('collaboration: could not load a shared terminal', error));
    }
}
