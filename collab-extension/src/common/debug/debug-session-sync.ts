import { CollaborationError } from '@theia-collab/protocol/lib/errors';
import { Disposable, Emitter, Event } from '@theia-collab/protocol/lib/events';
import { CollaborationSession } from '@theia-collab/protocol/lib/session';
import { HostPathMapper } from '../fs/host-path-mapper';
import {
    DebugAction, DebugFrame, DebugSessionInfo, DebugSessionLimits, DebugSessionMessages, DebugSessionStateName, DebugStateParams, DebugVariable
} from './debug-session-protocol';

/** A frame as the host's debugger has it: a host URI, not yet a workspace path. */
export interface HostDebugFrame {
    name: string;
    uri?: string;
    line: number;
    column: number;
    endLine?: number;
    endColumn?: number;
}

export interface HostDebugSession {
    id: string;
    name: string;
    state: DebugSessionStateName;
    threadId?: number;
    threadName?: string;
    stoppedReason?: string;
    frame?: HostDebugFrame;
}

/** What a stopped session shows beyond its top frame: the call stack and the top frame's variables. */
export interface HostDebugDetails {
    stack: HostDebugFrame[];
    variables: DebugVariable[];
}

/** The host's debugger (Theia's DebugSessionManager in the app). */
export interface DebugController {
    sessions(): HostDebugSession[];
    current(): string | undefined;
    onDidChange(listener: () => void): Disposable;
    /** Runs `action` on the session's thread (its current one by default); rejects if there is none. */
    control(sessionId: string, action: DebugAction, threadId?: number): Promise<void>;
    /** The call stack and variables of a stopped session's current thread (optional). */
    details?(sessionId: string): Promise<HostDebugDetails | undefined>;
}

export interface DebugSessionSyncOptions {
    debounceMs?: number;
    logger?: { warn(...args: unknown[]): void };
}

const label = (text: string | undefined): string | undefined =>
    text === undefined ? undefined : text.length > DebugSessionLimits.maxLabelLength ? text.substring(0, DebugSessionLimits.maxLabelLength) : text;
const int = (value: number | undefined): number | undefined =>
    typeof value === 'number' && Number.isFinite(value) ? Math.min(10_000_000, Math.max(0, Math.trunc(value))) : undefined;

/**
 * Host: announces its debug sessions' state and top frames (frames in files guests cannot see keep only their
 * name), and lets read-write guests continue, step and pause. Permission comes from the live peer list.
 */
export class DebugSessionHost implements Disposable {

    protected readonly toDispose: Disposable[] = [];
    protected timer: ReturnType<typeof setTimeout> | undefined;
    protected announced = JSON.stringify({ sessions: [] });
    protected flushing: Promise<void> = Promise.resolve();
    protected disposed = false;

    constructor(
        protected readonly session: CollaborationSession,
        protected readonly controller: DebugController,
        protected readonly paths: HostPathMapper,
        protected readonly options: DebugSessionSyncOptions = {}
    ) { }

    start(): void {
        this.toDispose.push(this.controller.onDidChange(() => this.changed()));
        this.toDispose.push(this.session.onRequest(DebugSessionMessages.State, async (_params, sender) => {
            this.checkPeer(sender.id);
            return this.state();
        }));
        this.toDispose.push(this.session.onRequest(DebugSessionMessages.Control, async ({ sessionId, action, threadId }, sender) => {
            const peer = this.checkPeer(sender.id);
            if (peer.permission !== 'readwrite') {
                throw new CollaborationError('permission-denied', 'You have read-only access: only read-write participants can continue or step.');
            }
            const target = this.controller.sessions().find(candidate => candidate.id === sessionId);
            if (!target || target.state === 'inactive') {
                throw new CollaborationError('not-found', 'The host has no such debug session (any more).');
            }
            try {
                await this.controller.control(sessionId, action, threadId);
            } catch (error) {
                throw error instanceof CollaborationError ? error
                    : new CollaborationError('bad-request', `The host's debugger could not ${action}: ${error instanceof Error ? error.message : String(error)}`);
            }
            return {};
        }));
        this.changed();
    }

    protected checkPeer(peerId: string): { permission: string } {
        const peer = this.session.getPeer(peerId);
        if (!peer || peer.id === this.session.self.id || this.disposed || this.session.closed) {
            throw new CollaborationError('forbidden', 'You are not a participant of this session any more.');
        }
        return peer;
    }

    protected changed(): void {
        if (this.disposed || this.timer) {
            return;
        }
        this.timer = setTimeout(() => {
            this.timer = undefined;
            this.flushing = this.flushing.then(() => this.flush());
        }, this.options.debounceMs ?? DebugSessionLimits.debounceMs);
    }

    protected async flush(): Promise<void> {
        if (this.disposed || this.session.closed) {
            return;
        }
        try {
            const state = await this.state();
            const key = JSON.stringify(state);
            if (key !== this.announced && !this.session.closed) {
                this.announced = key;
                await this.session.sendBroadcast(DebugSessionMessages.DidChange, state);
            }
        } catch (error) {
            if (!this.session.closed) {
                this.options.logger?.warn('collaboration: announcing the debug state failed', error);
            }
        }
    }

    /** The state guests may see. */
    async state(): Promise<DebugStateParams> {
        const sessions = this.controller.sessions().slice(0, DebugSessionLimits.maxSessions);
        const details = new Map<string, HostDebugDetails>();
        if (this.controller.details) {
            for (const host of sessions) {
                if (host.state === 'stopped') {
                    const found = await this.controller.details(host.id).catch(() => undefined);
                    if (found) {
                        details.set(host.id, found);
                    }
                }
            }
        }
        const paths = new Map<string, string>();
        const frames = [...sessions.map(host => host.frame), ...[...details.values()].flatMap(found => found.stack.slice(0, DebugSessionLimits.maxFrames))];
        for (const frame of frames) {
            const path = frame?.uri !== undefined ? this.paths.toWorkspacePath(frame.uri) : undefined;
            if (path !== undefined) {
                paths.set(frame!.uri!, path);
            }
        }
        const visible = new Set(await this.paths.filterVisible([...new Set(paths.values())]));
        const result: DebugSessionInfo[] = sessions.map(host => {
            const info: DebugSessionInfo = { id: host.id.substring(0, 128), name: label(host.name) ?? '', state: host.state };
            if (int(host.threadId) !== undefined) {
                info.threadId = int(host.threadId);
            }
            if (host.threadName !== undefined) {
                info.threadName = label(host.threadName);
            }
            if (host.stoppedReason !== undefined) {
                info.stoppedReason = label(host.stoppedReason);
            }
            const toFrame = (frame: HostDebugFrame): DebugFrame => {
                const path = frame.uri !== undefined ? paths.get(frame.uri) : undefined;
                return {
                    name: label(frame.name) ?? '',
                    ...(path !== undefined && visible.has(path) ? { path } : {}),
                    line: int(frame.line) ?? 0,
                    column: int(frame.column) ?? 0,
                    ...(int(frame.endLine) !== undefined ? { endLine: int(frame.endLine) } : {}),
                    ...(int(frame.endColumn) !== undefined ? { endColumn: int(frame.endColumn) } : {})
                };
            };
            if (host.frame && host.state === 'stopped') {
                info.frame = toFrame(host.frame);
                const found = details.get(host.id);
                if (found) {
                    info.stack = found.stack.slice(0, DebugSessionLimits.maxFrames).map(toFrame);
                    // Variables of code guests cannot see stay on the host.
                    info.variables = info.frame.path === undefined ? [] : found.variables.slice(0, DebugSessionLimits.maxVariables).map(variable => ({
                        scope: label(variable.scope) ?? '',
                        name: label(variable.name) ?? '',
                        value: variable.value.substring(0, DebugSessionLimits.maxValueLength),
                        ...(variable.type !== undefined ? { type: label(variable.type) } : {})
                    }));
                }
            }
            return info;
        }).filter(info => info.id.length > 0);
        const current = this.controller.current();
        return current && result.some(info => info.id === current) ? { sessions: result, current } : { sessions: result };
    }

    dispose(): void {
        this.disposed = true;
        clearTimeout(this.timer);
        this.toDispose.splice(0).forEach(disposable => disposable.dispose());
    }
}

/** Guest: the host's debug state, kept current; continue/step/pause requests to the host. */
export class DebugSessionGuest implements Disposable {

    protected readonly toDispose: Disposable[] = [];
    protected readonly onDidChangeEmitter = new Emitter<DebugStateParams>();
    readonly onDidChange: Event<DebugStateParams> = this.onDidChangeEmitter.event;
    protected _state: DebugStateParams = { sessions: [] };
    /** Announcements received from the host so far. */
    protected received = 0;
    protected disposed = false;

    constructor(protected readonly session: CollaborationSession, protected readonly options: DebugSessionSyncOptions = {}) { }

    get state(): DebugStateParams {
        return this._state;
    }

    /** The session to show and control: the host's current one, else the first stopped, else the first. */
    get focused(): DebugSessionInfo | undefined {
        const { sessions, current } = this._state;
        return sessions.find(info => info.id === current) ?? sessions.find(info => info.state === 'stopped') ?? sessions[0];
    }

    async start(): Promise<void> {
        this.toDispose.push(this.session.onBroadcast(DebugSessionMessages.DidChange, (state, sender) => {
            if (sender.id === this.session.host.id && !this.disposed) {
                this.received++;
                this.update(state);
            }
        }));
        // The host's changes were lost for good (a long outage): ask for its state again.
        this.toDispose.push(this.session.onMissedMessages(() => this.fetchState()));
        await this.fetchState();
    }

    /** Asks the host for its debug state; an announcement that arrives meanwhile is newer and stands. */
    protected async fetchState(): Promise<void> {
        if (this.disposed) {
            return;
        }
        const received = this.received;
        try {
            const state = await this.session.sendRequest(DebugSessionMessages.State, {});
            if (this.received === received && !this.disposed) {
                this.update(state);
            }
        } catch (error) {
            if (!this.session.closed && !this.disposed) {
                this.options.logger?.warn('collaboration: could not get the host\'s debug state', error);
            }
        }
    }

    protected update(state: DebugStateParams): void {
        this._state = state;
        this.onDidChangeEmitter.fire(state);
    }

    /** Asks the host to run `action` on the focused (or given) session; rejects with the host's refusal. */
    async control(action: DebugAction, sessionId: string | undefined = this.focused?.id): Promise<void> {
        if (!sessionId) {
            throw new CollaborationError('not-found', 'The host is not debugging.');
        }
        await this.session.sendRequest(DebugSessionMessages.Control, { sessionId, action }, { timeout: DebugSessionLimits.controlTimeoutMs });
    }

    dispose(): void {
        if (this.disposed) {
            return;
        }
        this.disposed = true;
        this.toDispose.splice(0).forEach(disposable => disposable.dispose());
        this._state = { sessions: [] };
        this.onDidChangeEmitter.fire(this._state);
        this.onDidChangeEmitter.dispose();
    }
}
