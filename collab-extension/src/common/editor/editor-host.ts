/**
 * The host side of co-editing: the authority and the hub. Only the host seeds a document's content
 * (from its open editor or its disk), answers `editor/open` with what a peer misses, checks every guest
 * update (sender has the document open, has write permission, authors only its own Yjs clients), applies
 * it and forwards it to the other peers that have the document open.
 */
import * as Y from 'yjs';
import { CollaborationError } from '@theia-collab/protocol/lib/errors';
import { Disposable } from '@theia-collab/protocol/lib/events';
import { CollaborationSession, Peer } from '@theia-collab/protocol/lib/session';
import type { StoredContentRef } from '@theia-collab/protocol/lib/stored-content';
import type { GuestAccess } from '../fs/host-file-system-protocol';
import { ChunkAssembler, newTransferId, splitBytes } from './editor-chunks';
import { DEFAULT_BATCH_MS, UpdateBatcher } from './update-batcher';
import { normalizeLineEndings, RemoteOrigin, SEED_ORIGIN, SharedDocument, SharedDocumentProvider } from './editor-document';
import {
    EditorLimits, EditorMessages, FetchParams, FetchResult, OpenParams, OpenResult, PathParams, SaveResult, toUint8Array, UpdateParams
} from './editor-protocol';

/** Where the host's documents come from and go to. */
export interface HostDocumentSource {
    /** The current text: the host's open editor if any, else the file on disk. Throws a CollaborationError. */
    read(path: string): Promise<string>;
    /** Writes the converged text (through the host's open editor if any). Returns whether anything was written. */
    save(path: string, text: string): Promise<boolean>;
    /**
     * The host's confinement check of a path a guest names (the app asks its backend's `resolveForGuest`: real
     * path and link targets inside the root, not excluded; for `write` not read-only for guests). Rejects with a
     * CollaborationError when the guest may not. Asked on every guest open (also of documents already shared, e.g.
     * by the host's own editor), before every guest save, and to tell whether guests' changes may be applied.
     */
    checkGuestAccess?(path: string, access: GuestAccess): Promise<void>;
}

interface HostEntry {
    shared: SharedDocument;
    /** Guests that have the document open. */
    peers: Set<string>;
    /** References held by this window (its editors). */
    localRefs: number;
    listener: (update: Uint8Array, origin: unknown) => void;
    /** When nobody had it open any more; kept for a while so quick re-opens keep their state. */
    idleSince?: number;
    /** Updates waiting to be forwarded, by the peer they came from ('' for this window's). */
    outgoing: Map<string, Uint8Array[]>;
    batcher: UpdateBatcher;
    /** The whole state as of the last change, kept for guests that join one after another. */
    fullState?: Uint8Array;
    /** A large document's state as stored on the server: guests that open it fetch it from there. */
    stored?: StoredState;
    storing?: boolean;
    /** No new stored state before this time (after a failure, or a moment after the last one). */
    nextStoreAt?: number;
    /** False when guests may not change the file (read-only for guests, e.g. under `.git/`): their updates are refused. */
    guestWritable?: boolean;
}

interface StoredState {
    ref: StoredContentRef;
    stateVector: Uint8Array;
    /** What changed since, as of the last change (cleared with `fullState`). */
    delta?: Uint8Array;
}

/** Bounds how often a document's state is uploaded again (changes since the last upload travel as a delta). */
const STORE_INTERVAL_MS = 5000;
const STORE_RETRY_MS = 60_000;

interface Transfer {
    peer: string;
    parts: Uint8Array[];
    /** Parts not yet fetched: guests fetch several at once, in any order. */
    unserved: Set<number>;
    expires: number;
    /** Runs once every part was fetched. */
    served?: () => void;
}

export interface EditorHostOptions {
    /** How long a document nobody has open is kept. */
    idleDocumentMs?: number;
    /** Updates within this many milliseconds are forwarded as one message. */
    batchMs?: number;
    now?: () => number;
    logger?: Pick<Console, 'warn' | 'error'>;
}

function newGeneration(): string {
    return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 12)}`;
}

export class EditorHost implements SharedDocumentProvider, Disposable {
    readonly isHost = true;
    protected readonly entries = new Map<string, HostEntry>();
    protected readonly loading = new Map<string, Promise<HostEntry>>();
    /** Old paths of documents renamed a moment ago -> new path, for guests' messages still on their way. */
    protected readonly movedFrom = new Map<string, { to: string; until: number }>();
    protected readonly transfers = new Map<string, Transfer>();
    protected readonly assembler: ChunkAssembler;
    /** Yjs client id -> peer that authors it (the host's own docs are claimed by the host). */
    protected readonly owners = new Map<number, string>();
    protected readonly toDispose: Disposable[] = [];
    protected readonly now: () => number;
    protected readonly logger: Pick<Console, 'warn' | 'error'>;
    protected disposed = false;

    constructor(readonly session: CollaborationSession, protected readonly source: HostDocumentSource, protected readonly options: EditorHostOptions = {}) {
        this.now = options.now ?? Date.now;
        this.logger = options.logger ?? console;
        this.assembler = new ChunkAssembler(this.now);
        this.toDispose.push(
            session.onRequest(EditorMessages.Open, (params, sender) => this.handleOpen(params, sender)),
            session.onRequest(EditorMessages.Fetch, (params, sender) => this.handleFetch(params, sender)),
            session.onNotification(EditorMessages.Update, (params, sender) => this.handleUpdate(params, sender)),
            session.onNotification(EditorMessages.Close, (params, sender) => this.handleClose(params, sender)),
            session.onRequest(EditorMessages.Save, (params, sender) => this.handleSave(params, sender)),
            session.onPeerLeft(({ peer }) => this.forgetPeer(peer.id))
        );
    }

    get paths(): string[] {
        return [...this.entries.keys()];
    }

    get(path: string): SharedDocument | undefined {
        return this.entries.get(path)?.shared;
    }

    /** Peers (guests) that have the document open. */
    peersOf(path: string): string[] {
        return [...this.entries.get(path)?.peers ?? []];
    }

    /**
     * A reference for this window's editor showing the document. If the document is not shared yet it is
     * seeded with `seedText` (the editor's content) right away, so it never waits for the disk.
     */
    acquireWithText(path: string, seedText: string): SharedDocument {
        let entry = this.entries.get(path);
        if (!entry) {
            entry = this.createEntry(path, seedText);
        }
        entry.localRefs++;
        entry.idleSince = undefined;
        return entry.shared;
    }

    async acquire(path: string): Promise<SharedDocument> {
        const entry = await this.load(path);
        entry.localRefs++;
        entry.idleSince = undefined;
        return entry.shared;
    }

    release(path: string): void {
        const entry = this.entries.get(path);
        if (entry && entry.localRefs > 0) {
            entry.localRefs--;
            this.markIdle(path, entry);
        }
    }

    async save(path: string): Promise<void> {
        const entry = this.entries.get(path);
        if (entry) {
            await this.source.save(path, entry.shared.text.toString());
        }
    }

    /**
     * The host's file or folder `from` was renamed to `to`: the documents at or below it follow with all
     * their state (same Y.Doc, same generation), and guests that have one open are told its new path.
     * A document open at a target that was overwritten ends. Returns what moved.
     */
    move(from: string, to: string): { from: string; to: string }[] {
        const moved: { from: string; to: string }[] = [];
        if (this.disposed || from === to) {
            return moved;
        }
        const now = this.now();
        for (const [path, alias] of this.movedFrom) {
            if (alias.until < now) {
                this.movedFrom.delete(path);
            }
        }
        for (const [path, entry] of [...this.entries]) {
            const target = rebasePath(path, from, to);
            if (target === undefined || this.entries.get(path) !== entry) {
                continue;
            }
            // What is queued under the old path leaves first.
            entry.batcher.flushNow();
            const overwritten = this.entries.get(target);
            if (overwritten && overwritten !== entry) {
                this.drop(target, overwritten);
            }
            this.entries.delete(path);
            this.entries.set(target, entry);
            entry.shared.rename(target);
            this.refreshGuestWritable(entry);
            if (this.movedFrom.size < EditorLimits.maxOpenDocumentsPerPeer * 4) {
                this.movedFrom.set(path, { to: target, until: now + EditorLimits.transferTtlMs });
            }
            for (const peer of entry.peers) {
                this.session.sendNotification(EditorMessages.Moved, { from: path, to: target }, peer)
                    .catch(error => this.logger.warn(`collaboration: could not tell a guest that '${path}' moved:`, error));
            }
            moved.push({ from: path, to: target });
        }
        return moved;
    }

    /**
     * The host's file or folder `path` was deleted: the documents at or below it end (bindings let go of
     * them), and guests that have one open are told. Returns the paths of the documents that ended.
     */
    remove(path: string): string[] {
        const removed: string[] = [];
        for (const [candidate, entry] of [...this.entries]) {
            if (rebasePath(candidate, path, path) !== undefined && this.entries.get(candidate) === entry) {
                this.drop(candidate, entry);
                removed.push(candidate);
            }
        }
        return removed;
    }

    dispose(): void {
        if (this.disposed) {
            return;
        }
        this.disposed = true;
        this.toDispose.forEach(d => d.dispose());
        for (const entry of this.entries.values()) {
            this.endEntry(entry);
        }
        this.entries.clear();
        this.transfers.clear();
        this.assembler.clear();
    }

    // ---- documents ----

    /** The document at `path`, also under a path it had until a moment ago (messages sent before a rename). */
    protected entryOf(path: string): HostEntry | undefined {
        let current = path;
        for (let hops = 0; hops < 8; hops++) {
            const entry = this.entries.get(current);
            if (entry) {
                return entry;
            }
            const alias = this.movedFrom.get(current);
            if (!alias || alias.until < this.now()) {
                return undefined;
            }
            current = alias.to;
        }
        return undefined;
    }

    /** Ends a document whose file is gone; the guests that have it open are told. */
    protected drop(path: string, entry: HostEntry): void {
        this.entries.delete(path);
        for (const peer of entry.peers) {
            this.session.sendNotification(EditorMessages.Removed, { path }, peer)
                .catch(error => this.logger.warn(`collaboration: could not tell a guest that '${path}' was deleted:`, error));
        }
        entry.peers.clear();
        this.endEntry(entry);
    }

    protected endEntry(entry: HostEntry): void {
        entry.batcher.cancel();
        entry.shared.doc.off('update', entry.listener);
        entry.shared.dispose();
        if (entry.stored) {
            this.deleteStored(entry.stored.ref);
            entry.stored = undefined;
        }
    }

    protected load(path: string): Promise<HostEntry> {
        const existing = this.entries.get(path);
        if (existing) {
            return Promise.resolve(existing);
        }
        let pending = this.loading.get(path);
        if (!pending) {
            pending = (async () => {
                try {
                    const text = await this.source.read(path);
                    if (this.disposed) {
                        throw new CollaborationError('room-closed', 'The session has ended.');
                    }
                    if (text.length > EditorLimits.maxTextLength) {
                        throw new CollaborationError('too-large', `'${path}' is too large to be edited together.`);
                    }
                    // An editor of this window may have shared it meanwhile: its content wins.
                    return this.entries.get(path) ?? this.createEntry(path, text);
                } finally {
                    this.loading.delete(path);
                }
            })();
            this.loading.set(path, pending);
        }
        return pending;
    }

    protected createEntry(path: string, seedText: string): HostEntry {
        this.collectIdle();
        const shared = new SharedDocument(path);
        shared.generation = newGeneration();
        const text = normalizeLineEndings(seedText);
        if (text) {
            shared.doc.transact(() => shared.text.insert(0, text), SEED_ORIGIN);
        }
        this.owners.set(shared.doc.clientID, this.session.self.id);
        const entry: HostEntry = {
            shared,
            peers: new Set(),
            localRefs: 0,
            outgoing: new Map(),
            batcher: new UpdateBatcher(() => this.flush(entry), this.options.batchMs ?? DEFAULT_BATCH_MS),
            listener: (update, origin) => {
                entry.fullState = undefined;
                if (entry.stored) {
                    entry.stored.delta = undefined;
                }
                this.forward(entry, update, origin);
            }
        };
        shared.doc.on('update', entry.listener);
        this.entries.set(path, entry);
        return entry;
    }

    protected markIdle(path: string, entry: HostEntry): void {
        if (entry.localRefs === 0 && entry.peers.size === 0) {
            entry.idleSince = this.now();
        }
    }

    /** Drops documents nobody had open for a while (a re-open then starts a new generation). */
    protected collectIdle(): void {
        const limit = this.now() - (this.options.idleDocumentMs ?? 10 * 60 * 1000);
        for (const [path, entry] of this.entries) {
            if (entry.idleSince !== undefined && entry.idleSince < limit) {
                this.endEntry(entry);
                this.entries.delete(path);
            }
        }
    }

    /** Queues a change for every peer that has the document open, except the one it came from. */
    protected forward(entry: HostEntry, update: Uint8Array, origin: unknown): void {
        if (entry.peers.size === 0) {
            return;
        }
        const from = origin instanceof RemoteOrigin ? origin.peerId : '';
        let updates = entry.outgoing.get(from);
        if (!updates) {
            updates = [];
            entry.outgoing.set(from, updates);
        }
        updates.push(update);
        entry.batcher.schedule();
    }

    protected flush(entry: HostEntry): void {
        if (this.disposed || this.entries.get(entry.shared.path) !== entry) {
            return;
        }
        const batches = [...entry.outgoing];
        entry.outgoing.clear();
        for (const [from, updates] of batches) {
            const targets = [...entry.peers].filter(peer => peer !== from);
            if (targets.length) {
                this.send(entry.shared.path, updates.length === 1 ? updates[0] : Y.mergeUpdates(updates), targets);
            }
        }
    }

    protected send(path: string, update: Uint8Array, targets: string[]): void {
        // One broadcast instead of one message per peer; peers without the document open ignore it.
        const target = targets.length === 1 ? targets[0] : undefined;
        const send = (params: UpdateParams) => (target
            ? this.session.sendNotification(EditorMessages.Update, params, target)
            : this.session.sendBroadcast(EditorMessages.BroadcastUpdate, params)
        ).catch(error => {
            // A guest that is reconnecting re-synchronises once back: nothing to report.
            if (CollaborationError.from(error).code !== 'disconnected') {
                this.logger.warn(`collaboration: could not send an update of '${path}':`, error);
            }
        });
        if (update.byteLength <= EditorLimits.chunkBytes) {
            send({ path, update });
            return;
        }
        const parts = splitBytes(update);
        const id = newTransferId();
        parts.forEach((part, index) => send({ path, update: part, part: { id, index, count: parts.length } }));
    }

    // ---- guests' access ----

    /** Rejects unless the guest may `access` the file at `path` now (see `HostDocumentSource.checkGuestAccess`). */
    protected async checkGuestAccess(path: string, access: GuestAccess): Promise<void> {
        if (this.source.checkGuestAccess) {
            await this.source.checkGuestAccess(path, access);
        }
    }

    /** Whether guests may change the file at `path`; undefined when the source has no say. */
    protected async guestMayWrite(path: string): Promise<boolean | undefined> {
        if (!this.source.checkGuestAccess) {
            return undefined;
        }
        try {
            await this.source.checkGuestAccess(path, 'write');
            return true;
        } catch {
            return false;
        }
    }

    /** After a rename: whether guests may change the document is decided again for its new path. */
    protected refreshGuestWritable(entry: HostEntry): void {
        const path = entry.shared.path;
        this.guestMayWrite(path).then(writable => {
            if (writable !== undefined && entry.shared.path === path) {
                entry.guestWritable = writable;
            }
        }, () => undefined);
    }

    // ---- handlers ----

    protected async handleOpen(params: OpenParams, sender: Peer): Promise<OpenResult> {
        const open = [...this.entries.values()].filter(entry => entry.peers.has(sender.id)).length;
        if (open >= EditorLimits.maxOpenDocumentsPerPeer && !this.entries.get(params.path)?.peers.has(sender.id)) {
            throw new CollaborationError('rate-limited', 'Too many open documents.');
        }
        // A synchronisation of a document renamed while it was on its way: answered by that document (same
        // lineage), not by whatever the old path holds now.
        const moved = !this.entries.has(params.path) && params.generation !== undefined ? this.entryOf(params.path) : undefined;
        const renamed = moved && moved.shared.generation === params.generation ? moved : undefined;
        // Every open is checked where the path leads now, also of a document already shared (e.g. by the host's
        // own editor, which may show a file through a link).
        const path = renamed ? renamed.shared.path : params.path;
        await this.checkGuestAccess(path, 'read');
        // Decided for every guest's open: a read-only guest may be given write access later, without opening again.
        const writable = await this.guestMayWrite(path);
        const entry = renamed ?? await this.load(params.path);
        if (!this.session.getPeer(sender.id)) {
            throw new CollaborationError('not-member', 'The peer has left.');
        }
        if (writable !== undefined && entry.shared.path === path) {
            entry.guestWritable = writable;
        }
        const sameGeneration = params.generation !== undefined && params.generation === entry.shared.generation;
        let stateVector: Uint8Array | undefined;
        if (sameGeneration) {
            try {
                stateVector = toUint8Array(params.stateVector);
                Y.decodeStateVector(stateVector);
            } catch {
                throw new CollaborationError('bad-request', 'Malformed state vector.');
            }
        }
        // Registration and the state snapshot happen in the same tick: every later change is forwarded.
        entry.peers.add(sender.id);
        entry.idleSince = undefined;
        const update = stateVector ? Y.encodeStateAsUpdate(entry.shared.doc, stateVector)
            : entry.fullState ??= Y.encodeStateAsUpdate(entry.shared.doc);
        const result: OpenResult = {
            generation: entry.shared.generation!,
            stateVector: Y.encodeStateVector(entry.shared.doc)
        };
        if (!stateVector && update.byteLength > EditorLimits.chunkBytes) {
            if (params.skipStored && entry.stored) {
                // The server lost it (evicted, or this guest is on another instance): store it again now, not after the interval.
                this.deleteStored(entry.stored.ref);
                entry.stored = undefined;
                entry.nextStoreAt = undefined;
            }
            const stored = entry.stored;
            if (stored) {
                stored.delta ??= Y.encodeStateAsUpdate(entry.shared.doc, stored.stateVector);
                if (stored.delta.byteLength <= EditorLimits.chunkBytes) {
                    result.stored = stored.ref;
                    result.update = stored.delta;
                    return result;
                }
            }
        }
        if (update.byteLength <= EditorLimits.chunkBytes) {
            result.update = update;
        } else {
            this.expireTransfers();
            const id = newTransferId();
            const parts = splitBytes(update);
            // This guest gets it from here (first: the upload would compete with it); the next ones from the server.
            const served = stateVector ? undefined : () => this.storeState(entry);
            this.transfers.set(id, { peer: sender.id, parts, unserved: new Set(parts.keys()), expires: this.now() + EditorLimits.transferTtlMs, served });
            result.transfer = { id, count: parts.length };
        }
        return result;
    }

    /** Uploads the document's whole state to the server (in the background), for guests to fetch from there. */
    protected storeState(entry: HostEntry): void {
        if (entry.storing || this.now() < (entry.nextStoreAt ?? 0) || this.disposed || this.entries.get(entry.shared.path) !== entry) {
            return;
        }
        const state = entry.fullState ??= Y.encodeStateAsUpdate(entry.shared.doc);
        const stateVector = Y.encodeStateVector(entry.shared.doc);
        entry.storing = true;
        this.session.storeContent(state).then(ref => {
            entry.storing = false;
            entry.nextStoreAt = this.now() + STORE_INTERVAL_MS;
            if (this.disposed || this.entries.get(entry.shared.path) !== entry) {
                this.deleteStored(ref);
                return;
            }
            if (entry.stored) {
                this.deleteStored(entry.stored.ref);
            }
            entry.stored = { ref, stateVector };
        }, error => {
            entry.storing = false;
            entry.nextStoreAt = this.now() + STORE_RETRY_MS;
            // Guests then get the state from this window, as without a server store. 'too-large': the server's
            // store is off or full, as its admin set it: nothing to report.
            if (CollaborationError.from(error).code !== 'too-large') {
                this.logger.warn(`collaboration: could not store '${entry.shared.path}' on the server:`, CollaborationError.from(error).message);
            }
        });
    }

    protected deleteStored(ref: StoredContentRef): void {
        if (!this.session.closed) {
            this.session.deleteContent(ref).catch(() => { /* gone with the session, or evicted: nothing to free */ });
        }
    }

    protected handleFetch(params: FetchParams, sender: Peer): FetchResult {
        this.expireTransfers();
        const transfer = this.transfers.get(params.id);
        if (!transfer || transfer.peer !== sender.id || params.index >= transfer.parts.length) {
            throw new CollaborationError('not-found', 'Unknown transfer.');
        }
        const data = transfer.parts[params.index];
        transfer.unserved.delete(params.index);
        if (!transfer.unserved.size) {
            this.transfers.delete(params.id);
            transfer.served?.();
        }
        return { data };
    }

    protected expireTransfers(): void {
        const now = this.now();
        for (const [id, transfer] of this.transfers) {
            if (transfer.expires < now) {
                this.transfers.delete(id);
            }
        }
    }

    protected handleUpdate(params: UpdateParams, sender: Peer): void {
        let update = toUint8Array(params.update);
        if (params.part) {
            const whole = this.assembler.accept(sender.id, params.part.id, params.part.index, params.part.count, update);
            if (whole === undefined) {
                return;
            }
            if (!(whole instanceof Uint8Array)) {
                this.reject(sender.id, params.path, 'bad-request', whole.error);
                return;
            }
            update = whole;
        }
        const entry = this.entryOf(params.path);
        if (!entry || !entry.peers.has(sender.id)) {
            this.reject(sender.id, params.path, 'not-found', 'The document is not open.');
            return;
        }
        const peer = this.session.getPeer(sender.id);
        if (!peer || peer.permission !== 'readwrite') {
            this.reject(sender.id, params.path, 'permission-denied', 'You have read-only access: your change was not applied.');
            return;
        }
        if (entry.guestWritable === false) {
            this.reject(sender.id, params.path, 'forbidden', `'${entry.shared.path}' is read-only for guests: your change was not applied.`);
            return;
        }
        const authorError = this.checkAuthors(update, sender.id);
        if (authorError) {
            this.reject(sender.id, params.path, 'forbidden', authorError);
            return;
        }
        try {
            Y.applyUpdate(entry.shared.doc, update, new RemoteOrigin(sender.id));
        } catch (error) {
            this.logger.warn(`collaboration: malformed update of '${params.path}' from ${sender.id}:`, error);
            this.reject(sender.id, params.path, 'bad-request', 'Malformed update.');
            return;
        }
        if (entry.shared.text.length > EditorLimits.maxTextLength) {
            this.logger.warn(`collaboration: '${params.path}' exceeds the shared text limit.`);
        }
    }

    /** A guest may only author content under Yjs client ids nobody else authors. */
    protected checkAuthors(update: Uint8Array, peerId: string): string | undefined {
        let clients: Iterable<number>;
        try {
            clients = Y.parseUpdateMeta(update).to.keys();
        } catch {
            return 'Malformed update.';
        }
        const claims: number[] = [];
        for (const client of clients) {
            const owner = this.owners.get(client);
            if (owner === undefined) {
                claims.push(client);
            } else if (owner !== peerId) {
                return 'The update contains changes authored by another participant.';
            }
        }
        if (claims.length) {
            let owned = 0;
            for (const owner of this.owners.values()) {
                if (owner === peerId) {
                    owned++;
                }
            }
            if (owned + claims.length > EditorLimits.maxClientIdsPerPeer) {
                return 'Too many Yjs clients.';
            }
            claims.forEach(client => this.owners.set(client, peerId));
        }
        return undefined;
    }

    protected reject(peer: string, path: string, code: string, message: string): void {
        this.session.sendNotification(EditorMessages.Rejected, { path, code, message }, peer)
            .catch(error => this.logger.warn('collaboration: could not send a rejection:', error));
    }

    protected handleClose(params: PathParams, sender: Peer): void {
        const entry = this.entryOf(params.path);
        if (entry && entry.peers.delete(sender.id)) {
            this.markIdle(entry.shared.path, entry);
        }
    }

    protected async handleSave(params: PathParams, sender: Peer): Promise<SaveResult> {
        const entry = this.entryOf(params.path);
        if (!entry || !entry.peers.has(sender.id)) {
            throw new CollaborationError('not-found', 'The document is not open.');
        }
        const peer = this.session.getPeer(sender.id);
        if (!peer || peer.permission !== 'readwrite') {
            throw new CollaborationError('permission-denied', 'You have read-only access.');
        }
        // Where the path leads now: a link swapped in, or a file read-only for guests, is refused.
        await this.checkGuestAccess(entry.shared.path, 'write');
        return { saved: await this.source.save(entry.shared.path, entry.shared.text.toString()) };
    }

    protected forgetPeer(peerId: string): void {
        for (const [path, entry] of this.entries) {
            if (entry.peers.delete(peerId)) {
                this.markIdle(path, entry);
            }
        }
        for (const [client, owner] of this.owners) {
            if (owner === peerId) {
                this.owners.delete(client);
            }
        }
        for (const [id, transfer] of this.transfers) {
            if (transfer.peer === peerId) {
                this.transfers.delete(id);
            }
        }
        this.assembler.forget(peerId);
    }
}

/** `path` with its prefix `from` (the path itself or a folder above it) replaced by `to`; undefined if not below `from`. */
export function rebasePath(path: string, from: string, to: string): string | undefined {
    if (path === from) {
        return to;
    }
    return path.startsWith(from + '/') ? to + path.slice(from.length) : undefined;
}
