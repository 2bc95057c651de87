/**
 * The guest side of co-editing. A guest opens a document at the host (`editor/open` with its state
 * vector), applies what it misses, then sends what the host misses; afterwards it sends its own changes
 * to the host and accepts changes from the host only. Documents outlive a session: when the guest joins
 * the same room again (`attach`), every open document re-synchronises and keeps its offline edits.
 * Likewise within a session: while this guest or the host is reconnecting, changes stay in the documents
 * (nothing is sent), and once both are connected again every open document re-synchronises.
 */
import * as Y from 'yjs';
import { forEachIndex } from '@theia-collab/protocol/lib/concurrency';
import { CollaborationError } from '@theia-collab/protocol/lib/errors';
import { Disposable, Emitter, Event } from '@theia-collab/protocol/lib/events';
import { CollaborationSession, Peer } from '@theia-collab/protocol/lib/session';
import { ChunkAssembler, concatBytes, newTransferId, splitBytes } from './editor-chunks';
import { DEFAULT_BATCH_MS, UpdateBatcher } from './update-batcher';
import { RemoteOrigin, SharedDocument, SharedDocumentProvider } from './editor-document';
import {
    EditorLimits, EditorMessages, MovedParams, OpenParams, OpenResult, RejectedParams, RemovedParams, toUint8Array, UpdateParams
} from './editor-protocol';

interface GuestEntry {
    shared: SharedDocument;
    refs: number;
    /** Resolves once the document holds the host state (first synchronisation). */
    ready: Promise<void>;
    /** While an `editor/open` is in flight local changes are not sent: the final diff carries them. */
    syncing: boolean;
    /** The last `editor/open` failed (e.g. timed out, connection dropped): the periodic refresh tries it again. */
    openFailed?: boolean;
    /** Bumped by every (re)synchronisation, so a stale one does not finish. */
    epoch: number;
    listener: (update: Uint8Array, origin: unknown) => void;
    /** Local updates waiting to be sent together. */
    outgoing: Uint8Array[];
    batcher: UpdateBatcher;
}

export interface EditorGuestOptions {
    logger?: Pick<Console, 'warn' | 'error'>;
    /** Request timeout for `editor/open` and `editor/fetch`. */
    timeout?: number;
    /** Local updates within this many milliseconds are merged into one message. */
    batchMs?: number;
    /**
     * Every so often each open document compares state vectors with the host, which repairs anything lost
     * on the way (e.g. messages sealed with a key that was rotated out meanwhile).
     */
    refreshIntervalMs?: number;
}

export interface DocumentProblem {
    path: string;
    code: string;
    message: string;
}

export class EditorGuest implements SharedDocumentProvider, Disposable {
    readonly isHost = false;
    protected readonly entries = new Map<string, GuestEntry>();
    protected readonly assembler = new ChunkAssembler();
    protected session: CollaborationSession | undefined;
    protected roomId: string | undefined;
    protected readonly sessionDisposables: Disposable[] = [];
    protected readonly logger: Pick<Console, 'warn' | 'error'>;

    protected readonly onDidReportProblemEmitter = new Emitter<DocumentProblem>();
    /** A change was refused or a document could not be re-synchronised; for notifications. */
    readonly onDidReportProblem: Event<DocumentProblem> = this.onDidReportProblemEmitter.event;

    protected readonly onDidRemoveDocumentEmitter = new Emitter<{ path: string; shared: SharedDocument }>();
    /**
     * The host's file of an open document was deleted (or replaced by a rename): the document ends right
     * after this event (editors showing it close). A rename is `SharedDocument.onDidRename`.
     */
    readonly onDidRemoveDocument: Event<{ path: string; shared: SharedDocument }> = this.onDidRemoveDocumentEmitter.event;

    constructor(protected readonly options: EditorGuestOptions = {}) {
        this.logger = options.logger ?? console;
    }

    get attached(): boolean {
        return !!this.session && !this.session.closed;
    }

    /** Attached, and both this guest's and the host's connections are up: changes can reach the host. */
    get online(): boolean {
        return this.attached && this.session!.connectionState !== 'reconnecting' && this.session!.hostConnectionState !== 'reconnecting';
    }

    get paths(): string[] {
        return [...this.entries.keys()];
    }

    get readOnly(): boolean {
        return this.session?.self.permission === 'readonly';
    }

    /**
     * Starts speaking to the host of `session`. Documents already open re-synchronise: with the same room
     * their offline edits are merged; with another room they are replaced by the new host's content.
     */
    attach(session: CollaborationSession): Disposable {
        this.detach();
        const sameRoom = this.roomId === session.roomId;
        this.session = session;
        this.roomId = session.roomId;
        this.sessionDisposables.push(
            session.onNotification(EditorMessages.Update, (params, sender) => this.handleUpdate(params, sender)),
            session.onBroadcast(EditorMessages.BroadcastUpdate, (params, sender) => this.handleUpdate(params, sender)),
            session.onNotification(EditorMessages.Rejected, (params, sender) => this.handleRejected(params, sender)),
            session.onNotification(EditorMessages.Moved, (params, sender) => this.handleMoved(params, sender)),
            session.onNotification(EditorMessages.Removed, (params, sender) => this.handleRemoved(params, sender)),
            session.onPeerChanged(peer => {
                if (peer.id === session.self.id) {
                    this.updateReadOnly();
                }
            }),
            session.onClose(() => this.detach(session)),
            // A leave rotates the room key: messages in flight around it may be lost, compare states soon.
            session.onPeerLeft(() => this.scheduleRefresh(2000)),
            // Back after this guest's or the host's connection dropped: both may have missed changes.
            session.onDidChangeConnection(state => state === 'connected' && this.reconnected(session)),
            session.onDidChangeHostConnection(state => state === 'connected' && this.reconnected(session))
        );
        const interval = setInterval(() => this.refreshAll(), this.options.refreshIntervalMs ?? 10_000);
        this.sessionDisposables.push(Disposable.create(() => clearInterval(interval)));
        this.updateReadOnly();
        for (const entry of this.entries.values()) {
            if (!sameRoom) {
                this.replaceDoc(entry);
                entry.shared.generation = undefined;
            }
            this.synchronize(entry).catch(error => this.report(entry.shared.path, error));
        }
        return Disposable.create(() => this.detach(session));
    }

    /** Stops speaking to the session (it ended); documents stay and collect offline edits. */
    detach(session?: CollaborationSession): void {
        if (session && session !== this.session) {
            return;
        }
        this.sessionDisposables.splice(0).forEach(d => d.dispose());
        this.session = undefined;
        this.assembler.clear();
        clearTimeout(this.refreshTimer);
        this.refreshTimer = undefined;
        for (const entry of this.entries.values()) {
            entry.epoch++;
            entry.syncing = false;
            this.dropOutgoing(entry);
        }
    }

    get(path: string): SharedDocument | undefined {
        return this.entries.get(path)?.shared;
    }

    async acquire(path: string): Promise<SharedDocument> {
        let entry = this.entries.get(path);
        if (entry) {
            entry.refs++;
            try {
                await entry.ready;
            } catch (error) {
                this.release(path);
                throw error;
            }
            return entry.shared;
        }
        if (!this.attached) {
            throw new CollaborationError('disconnected', 'Not connected to a collaboration session.');
        }
        const shared = new SharedDocument(path);
        shared.setReadOnly(this.readOnly);
        entry = {
            shared, refs: 1, syncing: true, epoch: 0, ready: Promise.resolve(), outgoing: [],
            batcher: new UpdateBatcher(() => this.flush(entry!), this.options.batchMs ?? DEFAULT_BATCH_MS),
            listener: (update, origin) => this.onLocalUpdate(entry!, update, origin)
        };
        shared.doc.on('update', entry.listener);
        this.entries.set(path, entry);
        entry.ready = this.synchronize(entry);
        try {
            await entry.ready;
        } catch (error) {
            this.release(path);
            throw error;
        }
        return shared;
    }

    release(path: string): void {
        const entry = this.entries.get(path);
        if (!entry || --entry.refs > 0) {
            return;
        }
        this.entries.delete(path);
        entry.epoch++;
        this.dropOutgoing(entry);
        entry.shared.doc.off('update', entry.listener);
        entry.shared.dispose();
        if (this.attached) {
            this.session!.sendNotification(EditorMessages.Close, { path }).catch(() => { /* the session ended */ });
        }
    }

    async save(path: string): Promise<void> {
        const entry = this.entries.get(path);
        if (!entry) {
            throw new CollaborationError('not-found', `'${path}' is not open.`);
        }
        if (!this.attached) {
            throw new CollaborationError('disconnected', 'Not connected to a collaboration session.');
        }
        // The host saves what it has when the request arrives, and messages leave in call order. So what was
        // typed just before goes first, and a comparison of states sends whatever else the host lacks (changes
        // held back while syncing or reconnecting, or lost on the way): everything typed before is saved.
        entry.batcher.flushNow();
        await this.synchronize(entry, entry.syncing ? 'open' : 'refresh');
        await this.session!.sendRequest(EditorMessages.Save, { path: entry.shared.path });
    }

    /** Discards local state and takes the host's (after a refused change). */
    async resync(path: string): Promise<void> {
        const entry = this.entries.get(path);
        if (entry) {
            this.replaceDoc(entry);
            entry.shared.generation = undefined;
            if (this.attached) {
                await this.synchronize(entry);
            }
        }
    }

    dispose(): void {
        this.detach();
        for (const entry of this.entries.values()) {
            entry.shared.doc.off('update', entry.listener);
            entry.shared.dispose();
        }
        this.entries.clear();
        this.onDidReportProblemEmitter.dispose();
        this.onDidRemoveDocumentEmitter.dispose();
    }

    // ---- synchronisation ----

    /**
     * Exchanges state vectors with the host: applies what this window misses, sends what the host misses.
     * `open` (first time, or after re-attaching) holds local updates back until then; `refresh` (periodic
     * repair of an open document) keeps sending them.
     */
    protected async synchronize(entry: GuestEntry, mode: 'open' | 'refresh' = 'open'): Promise<void> {
        const session = this.session;
        if (!session) {
            throw new CollaborationError('disconnected', 'Not connected to a collaboration session.');
        }
        const epoch = ++entry.epoch;
        const path = entry.shared.path;
        if (mode === 'open') {
            entry.syncing = true;
            this.dropOutgoing(entry);
            if (this.readOnly && entry.shared.generation !== undefined) {
                // A read-only participant's offline edits would be refused: start from the host state.
                this.replaceDoc(entry);
                entry.shared.generation = undefined;
            }
        }
        let result: OpenResult;
        let updates: Uint8Array[];
        try {
            const params: OpenParams = { path, stateVector: Y.encodeStateVector(entry.shared.doc), generation: entry.shared.generation };
            result = await session.sendRequest(EditorMessages.Open, params, { timeout: this.options.timeout });
            try {
                updates = await this.receiveState(session, result);
            } catch (error) {
                if (!result.stored || CollaborationError.from(error).code === 'disconnected') {
                    throw error;
                }
                // The server no longer has the stored state (evicted, or another server instance): the host sends it.
                result = await session.sendRequest(EditorMessages.Open, { ...params, skipStored: true }, { timeout: this.options.timeout });
                updates = await this.receiveState(session, result);
            }
        } catch (error) {
            if (mode === 'open' && epoch === entry.epoch) {
                entry.openFailed = true;
            }
            throw error;
        }
        entry.openFailed = false;
        if (epoch !== entry.epoch || this.entries.get(entry.shared.path) !== entry || session !== this.session) {
            return;
        }
        if (path !== entry.shared.path && entry.shared.generation !== undefined && result.generation !== entry.shared.generation) {
            // Renamed while this was on its way, and the answer is about what the old path holds now: that is
            // not ours (let go of it), ask again under the new path (which registers this guest there again).
            session.sendNotification(EditorMessages.Close, { path }).catch(() => { /* the session ended */ });
            return this.synchronize(entry, mode);
        }
        if (entry.shared.generation !== undefined && entry.shared.generation !== result.generation) {
            // The host dropped the document and started over: our state is from another lineage.
            this.replaceDoc(entry);
            this.report(path, new CollaborationError('conflict', 'The document was reloaded from the host; changes made while disconnected could not be merged.'));
        }
        entry.shared.generation = result.generation;
        for (const update of updates) {
            this.applyRemote(entry, update, session.host.id);
        }
        entry.syncing = false;
        const missing = Y.encodeStateAsUpdate(entry.shared.doc, toUint8Array(result.stateVector));
        if (hasChanges(missing) && !this.readOnly) {
            this.sendUpdate(session, path, missing);
        }
    }

    protected refreshTimer: ReturnType<typeof setTimeout> | undefined;

    protected scheduleRefresh(delayMs: number): void {
        if (this.refreshTimer === undefined && this.attached) {
            this.refreshTimer = setTimeout(() => {
                this.refreshTimer = undefined;
                this.refreshAll();
            }, delayMs);
        }
    }

    /** Re-synchronises every open document (as on opening: what was typed meanwhile is carried by the diff). */
    protected reconnected(session: CollaborationSession): void {
        if (session !== this.session || !this.online) {
            return;
        }
        for (const entry of this.entries.values()) {
            this.synchronize(entry).catch(error => {
                if (CollaborationError.from(error).code === 'disconnected') {
                    // Dropped again: the next reconnection synchronises.
                    this.logger.warn(`collaboration: could not re-synchronise '${entry.shared.path}':`, CollaborationError.from(error).message);
                } else {
                    this.report(entry.shared.path, error);
                }
            });
        }
    }

    protected refreshAll(): void {
        if (!this.online) {
            return;
        }
        for (const entry of this.entries.values()) {
            if (entry.syncing && entry.openFailed) {
                entry.openFailed = false;
                this.synchronize(entry).catch(error =>
                    this.logger.warn(`collaboration: could not re-synchronise '${entry.shared.path}':`, CollaborationError.from(error).message));
            } else if (!entry.syncing) {
                this.synchronize(entry, 'refresh').catch(error =>
                    this.logger.warn(`collaboration: could not refresh '${entry.shared.path}':`, CollaborationError.from(error).message));
            }
        }
    }

    /** The updates that bring this window to the host's state, in the order they apply. */
    protected async receiveState(session: CollaborationSession, result: OpenResult): Promise<Uint8Array[]> {
        if (result.stored) {
            if (result.stored.bytes > EditorLimits.maxUpdateBytes) {
                throw new CollaborationError('too-large', 'The document is too large.');
            }
            const stored = await session.fetchContent(result.stored);
            return result.update ? [stored, toUint8Array(result.update)] : [stored];
        }
        if (result.update) {
            return [toUint8Array(result.update)];
        }
        if (!result.transfer) {
            throw new CollaborationError('bad-request', 'The host sent no document state.');
        }
        return [await this.fetchTransfer(session, result.transfer)];
    }

    protected async fetchTransfer(session: CollaborationSession, transfer: NonNullable<OpenResult['transfer']>): Promise<Uint8Array> {
        // Several parts in flight at once: a large document costs a few round trips, not one per part.
        const { id, count } = transfer;
        const parts: Uint8Array[] = new Array(count);
        let bytes = 0;
        await forEachIndex(count, EditorLimits.fetchConcurrency, async index => {
            const { data } = await session.sendRequest(EditorMessages.Fetch, { id, index }, { timeout: this.options.timeout });
            const part = toUint8Array(data);
            bytes += part.byteLength;
            if (bytes > EditorLimits.maxUpdateBytes) {
                throw new CollaborationError('too-large', 'The document is too large.');
            }
            parts[index] = part;
        });
        return concatBytes(parts);
    }

    /**
     * Yjs encodes every applied update once more for its 'update' listeners; ours ignores remote updates, so it
     * is detached meanwhile (re-encoding a 5 MiB document state costs about 10 ms).
     */
    protected applyRemote(entry: GuestEntry, update: Uint8Array, peerId: string): void {
        const doc = entry.shared.doc;
        doc.off('update', entry.listener);
        try {
            Y.applyUpdate(doc, update, new RemoteOrigin(peerId));
        } finally {
            doc.on('update', entry.listener);
        }
    }

    protected replaceDoc(entry: GuestEntry): void {
        this.dropOutgoing(entry);
        entry.shared.doc.off('update', entry.listener);
        const doc = new Y.Doc();
        doc.on('update', entry.listener);
        entry.shared.replaceDoc(doc);
    }

    protected onLocalUpdate(entry: GuestEntry, update: Uint8Array, origin: unknown): void {
        if (origin instanceof RemoteOrigin || entry.syncing || !this.online) {
            // Offline: the change stays in the document; the next synchronisation's diff carries it.
            return;
        }
        entry.outgoing.push(update);
        entry.batcher.schedule();
    }

    protected flush(entry: GuestEntry): void {
        const updates = entry.outgoing.splice(0);
        if (updates.length && this.online && this.entries.get(entry.shared.path) === entry) {
            this.sendUpdate(this.session!, entry.shared.path, updates.length === 1 ? updates[0] : Y.mergeUpdates(updates));
        }
    }

    /** What was not sent yet is carried by the next synchronisation's diff. */
    protected dropOutgoing(entry: GuestEntry): void {
        entry.batcher.cancel();
        entry.outgoing.length = 0;
    }

    protected sendUpdate(session: CollaborationSession, path: string, update: Uint8Array): void {
        const send = (params: UpdateParams) => session.sendNotification(EditorMessages.Update, params)
            .catch(error => this.logger.warn(`collaboration: could not send an update of '${path}':`, error));
        if (update.byteLength <= EditorLimits.chunkBytes) {
            send({ path, update });
            return;
        }
        const parts = splitBytes(update);
        const id = newTransferId();
        parts.forEach((part, index) => send({ path, update: part, part: { id, index, count: parts.length } }));
    }

    protected handleUpdate(params: UpdateParams, sender: Peer): void {
        const session = this.session;
        const entry = this.entries.get(params.path);
        if (!session || sender.id !== session.host.id || !entry) {
            return;
        }
        let update = toUint8Array(params.update);
        if (params.part) {
            const whole = this.assembler.accept(sender.id, params.part.id, params.part.index, params.part.count, update);
            if (!(whole instanceof Uint8Array)) {
                if (whole) {
                    this.logger.warn(`collaboration: dropped a split update of '${params.path}': ${whole.error}`);
                }
                return;
            }
            update = whole;
        }
        try {
            this.applyRemote(entry, update, sender.id);
        } catch (error) {
            this.logger.warn(`collaboration: malformed update of '${params.path}' from the host:`, error);
        }
    }

    /** The host renamed the document's file: same document, new path (editors follow `onDidRename`). */
    protected handleMoved(params: MovedParams, sender: Peer): void {
        const entry = this.entries.get(params.from);
        if (!this.session || sender.id !== this.session.host.id || !entry || params.from === params.to) {
            return;
        }
        const overwritten = this.entries.get(params.to);
        if (overwritten) {
            this.remove(params.to, overwritten);
        }
        // What is queued leaves under the new path, which the host already uses.
        this.entries.delete(params.from);
        this.entries.set(params.to, entry);
        entry.shared.rename(params.to);
    }

    /** The host deleted the document's file. */
    protected handleRemoved(params: RemovedParams, sender: Peer): void {
        const entry = this.entries.get(params.path);
        if (this.session && sender.id === this.session.host.id && entry) {
            this.remove(params.path, entry);
        }
    }

    /** Ends a document the host no longer has; nothing is sent (the host forgot it already). */
    protected remove(path: string, entry: GuestEntry): void {
        this.entries.delete(path);
        entry.epoch++;
        entry.syncing = false;
        this.dropOutgoing(entry);
        entry.shared.doc.off('update', entry.listener);
        try {
            this.onDidRemoveDocumentEmitter.fire({ path, shared: entry.shared });
        } finally {
            entry.shared.dispose();
        }
    }

    protected handleRejected(params: RejectedParams, sender: Peer): void {
        if (!this.session || sender.id !== this.session.host.id || !this.entries.has(params.path)) {
            return;
        }
        this.report(params.path, new CollaborationError(params.code, params.message));
        this.resync(params.path).catch(error => this.report(params.path, error));
    }

    protected updateReadOnly(): void {
        const readOnly = this.readOnly;
        for (const entry of this.entries.values()) {
            entry.shared.setReadOnly(readOnly);
        }
    }

    protected report(path: string, error: unknown): void {
        const { code, message } = CollaborationError.from(error);
        this.logger.warn(`collaboration: '${path}': ${message}`);
        this.onDidReportProblemEmitter.fire({ path, code, message });
    }
}

/** Whether an encoded (v1) update carries any struct or deletion; an empty one is `[0, 0]`. */
export function hasChanges(update: Uint8Array): boolean {
    return update.byteLength > 2 || update.some(byte => byte !== 0);
}
