import { CollaborationError } from '@theia-collab/protocol/lib/errors';
import { Disposable } from '@theia-collab/protocol/lib/events';
import { Request } from '@theia-collab/protocol/lib/messages';
import { CollaborationSession, Peer } from '@theia-collab/protocol/lib/session';
import { GuestPathMapper } from '../fs/host-path-mapper';
import {
    CompletionItem, CompletionParams, CompletionResult, DocumentParams, DocumentSymbol, DocumentSymbolsResult, HoverItem, HoverResult,
    LanguageLimits, LanguageMessages, Location, LocationsResult, PositionParams, Range, ReferencesParams, ResolveCompletionParams,
    RenameParams, RenameResult, ResolveCompletionResult, SignatureHelp, SignatureHelpParams, SignatureHelpResult, TextEdit
} from './language-protocol';

/** A location as the host's providers give it: a host URI, not yet a workspace path. */
export interface HostLocation {
    uri: string;
    range: Range;
    targetSelectionRange?: Range;
    originSelectionRange?: Range;
}

/** A completion list the host computed; kept (a few per guest) so the guest can resolve its items. */
export interface HostCompletionList {
    incomplete: boolean;
    items: CompletionItem[];
    /** Resolves item `index` (details, documentation, edits); undefined when it has nothing more. */
    resolve?(index: number, signal: AbortSignal): Promise<CompletionItem | undefined>;
    dispose?(): void;
}

/** The text edits of a rename in one host file. */
export interface HostFileEdits {
    uri: string;
    edits: TextEdit[];
}

/** Most files one guest's rename may change. */
export const MAX_RENAME_FILES = 500;

/**
 * Runs the host's own language providers on its copy of a shared document. Paths it gets have been resolved by
 * the host's backend (inside a shared root, links included, visible): `uri` is the host file to use, never one
 * derived from the path again. Results are already wire shapes except locations, which are mapped here.
 */
export interface LanguageHostBackend {
    hover(params: PositionParams, signal: AbortSignal, uri: string): Promise<HoverItem[]>;
    completion(params: CompletionParams, signal: AbortSignal, uri: string): Promise<HostCompletionList | undefined>;
    definition(params: PositionParams, signal: AbortSignal, uri: string): Promise<HostLocation[]>;
    references(params: ReferencesParams, signal: AbortSignal, uri: string): Promise<HostLocation[]>;
    signatureHelp(params: SignatureHelpParams, signal: AbortSignal, uri: string): Promise<SignatureHelp | undefined>;
    documentSymbols(params: DocumentParams, signal: AbortSignal, uri: string): Promise<DocumentSymbol[]>;
    /** The edits of renaming the symbol at the position (nothing applied yet). */
    renameEdits?(params: RenameParams, signal: AbortSignal, uri: string): Promise<{ files: HostFileEdits[]; rejectReason?: string }>;
    /** Applies the edits to the host's documents (its editors show them) and saves them. */
    applyEdits?(files: HostFileEdits[]): Promise<void>;
    /**
     * Whether the host holds the document `uri` in memory now (an open model): working on it reads nothing from
     * the host's disk. Then a question without side effects may start on it while the backend resolves the path.
     */
    isLoaded?(uri: string): boolean;
}

export interface LanguageHostOptions {
    logger?: { warn(...args: unknown[]): void };
    /**
     * Awaited before a request's work starts. Guests' editors ask for completions and highlights on every
     * keystroke, right behind the keystroke's own update: in a window, waiting for the next paint lets the
     * typed character show before the language work it triggered.
     */
    yieldToEditing?: () => Promise<void>;
}

/**
 * Host: answers guests' `language/...` requests. Every request is checked against the live peer list, the
 * asked file must be shared and visible, results are bounded, and locations outside the shared roots or in
 * excluded files are dropped. A guest can cancel what it asked (`language/cancel`).
 */
export class LanguageHost implements Disposable {

    protected readonly toDispose: Disposable[] = [];
    /** `peerId/requestId` → its abort controller; also counts what each peer has running. */
    protected readonly running = new Map<string, Map<string, AbortController>>();
    protected readonly completionLists = new Map<string, { id: string; list: HostCompletionList }[]>();
    protected nextId = 1;
    protected disposed = false;

    constructor(
        protected readonly session: CollaborationSession,
        protected readonly backend: LanguageHostBackend,
        protected readonly paths: GuestPathMapper,
        protected readonly options: LanguageHostOptions = {}
    ) { }

    start(): void {
        // Asked by a mouse or an explicit command, not by typing: nothing to paint first (see `yieldToEditing`).
        const notTyping = () => false;
        this.handle(LanguageMessages.Hover, async (params, signal, _peer, uri) => {
            const hovers = await this.backend.hover(params, signal, uri!);
            return { hovers: fit(hovers.slice(0, LanguageLimits.maxHovers)) } satisfies HoverResult;
        }, true, notTyping, true);
        // Ctrl+Space (Invoke) is not a keystroke in the document; trigger characters and incomplete lists are.
        this.handle(LanguageMessages.Completion, (params, signal, peer, uri) => this.completion(params, signal, peer, uri!), true,
            params => params.context.triggerKind !== 0);
        this.handle(LanguageMessages.ResolveCompletion, (params, signal, peer) => this.resolveCompletion(params, signal, peer), false);
        this.handle(LanguageMessages.Definition, async (params, signal, _peer, uri) => this.locations(await this.backend.definition(params, signal, uri!)),
            true, notTyping, true);
        this.handle(LanguageMessages.References, async (params, signal, _peer, uri) => this.locations(await this.backend.references(params, signal, uri!)),
            true, notTyping, true);
        this.handle(LanguageMessages.SignatureHelp, async (params, signal, _peer, uri) => {
            const signatureHelp = await this.backend.signatureHelp(params, signal, uri!);
            return (signatureHelp ? { signatureHelp } : {}) satisfies SignatureHelpResult;
        }, true, undefined, true);
        this.handle(LanguageMessages.DocumentSymbols, async (params, signal, _peer, uri) =>
            ({ symbols: boundSymbols(await this.backend.documentSymbols(params, signal, uri!)) }) satisfies DocumentSymbolsResult,
        true, undefined, true);
        this.handle(LanguageMessages.Rename, (params, signal, peer, uri) => this.rename(params, signal, peer, uri!), true, notTyping);
        this.toDispose.push(this.session.onNotification(LanguageMessages.Cancel, ({ requestId }, sender) => {
            this.running.get(sender.id)?.get(requestId)?.abort();
        }));
        this.toDispose.push(this.session.onPeerLeft(({ peer }) => this.dropPeer(peer.id)));
    }

    protected handle<P extends { path?: string; requestId?: string }, R>(
        definition: Request<P, R>,
        /** `uri`: the host file the request's path resolved to (checked requests with a path). */
        run: (params: P, signal: AbortSignal, peer: Peer, uri: string | undefined) => Promise<R>,
        checkPath = true,
        /** Whether the request may come right behind a keystroke (then `yieldToEditing` is awaited first). */
        afterTyping: (params: P) => boolean = () => true,
        /**
         * `run` only reads (no state kept, nothing changed, its result is the whole answer): it may start on an
         * open document while the backend resolves the path (see `runOnResolvedPath`).
         */
        readOnly = false
    ): void {
        this.toDispose.push(this.session.onRequest(definition, async (params, sender) => {
            const peer = this.session.getPeer(sender.id);
            if (this.disposed || this.session.closed || !peer || peer.id === this.session.self.id) {
                throw new CollaborationError('forbidden', 'You are not a participant of this session any more.');
            }
            let running = this.running.get(peer.id);
            if (!running) {
                running = new Map();
                this.running.set(peer.id, running);
            }
            if (running.size >= LanguageLimits.maxPendingPerPeer) {
                throw new CollaborationError('rate-limited', 'Too many language requests at once.');
            }
            const key = params.requestId ?? `internal-${this.nextId++}`;
            if (running.has(key)) {
                throw new CollaborationError('bad-request', `Request '${key}' is already running.`);
            }
            const controller = new AbortController();
            running.set(key, controller);
            try {
                if (afterTyping(params)) {
                    await this.options.yieldToEditing?.();
                }
                let result: R;
                if (checkPath) {
                    if (typeof params.path !== 'string') {
                        throw new CollaborationError('bad-request', 'The request names no file.');
                    }
                    result = await this.runOnResolvedPath(params.path, controller.signal, readOnly, (uri, signal) => run(params, signal, peer, uri));
                } else {
                    result = await run(params, controller.signal, peer, undefined);
                }
                if (controller.signal.aborted) {
                    throw new CollaborationError('cancelled', 'The request was cancelled.');
                }
                return result;
            } catch (error) {
                if (!(error instanceof CollaborationError)) {
                    this.options.logger?.warn(`collaboration: '${definition.method}' failed on the host`, error);
                }
                throw CollaborationError.from(error);
            } finally {
                if (running.get(key) === controller) {
                    running.delete(key);
                }
            }
        }));
    }

    /**
     * Runs `run` on the host file the guest's `path` resolves to (`checkPath`: the host's backend resolves it now,
     * links and exclusions included); rejects, and nothing is answered, when it does not resolve.
     *
     * The resolution is a round trip to the host's backend (5-20 ms, more on a busy host). A guest's hover waited
     * for it before the language server was even asked, which made its hover ~35 ms slower than the host's own
     * (bench `ide`). So a `readOnly` question about a file the host has open (`isLoaded`: its model is in memory,
     * nothing is read from disk) starts on the file the path names while the backend resolves the path, and its
     * answer is kept back until then: it is given only if the path resolves to exactly that file. Otherwise it is
     * dropped (and the work is stopped): the request is refused, or, for a path that resolves elsewhere (a link),
     * it runs again on the resolved file. Nothing the resolver refuses ever reaches the guest.
     */
    protected async runOnResolvedPath<R>(path: string, signal: AbortSignal, readOnly: boolean,
        run: (uri: string, signal: AbortSignal) => Promise<R>): Promise<R> {
        const named = this.paths.toHostUri(path);
        const resolution = this.checkPath(path);
        if (!readOnly || named === undefined || !this.backend.isLoaded?.(named)) {
            return run(await resolution, signal);
        }
        const early = new AbortController();
        const stopEarly = () => early.abort();
        signal.addEventListener('abort', stopEarly, { once: true });
        try {
            const answer = run(named, early.signal);
            // Its outcome matters only once the path is resolved; a refused path must not leave a rejection unhandled.
            answer.catch(() => undefined);
            let resolved: string;
            try {
                resolved = await resolution;
            } catch (error) {
                early.abort();
                throw error;
            }
            if (resolved === named) {
                return await answer;
            }
            early.abort();
            return await run(resolved, signal);
        } finally {
            signal.removeEventListener('abort', stopEarly);
        }
    }

    /** The host file a guest asks about, resolved by the host's backend now (links, exclusions); rejects otherwise. */
    protected async checkPath(path: string): Promise<string> {
        if (this.paths.toHostUri(path) === undefined) {
            throw new CollaborationError('not-found', `'${path}' is not shared.`);
        }
        return this.paths.resolveForGuest(path, 'read');
    }

    protected async completion(params: CompletionParams, signal: AbortSignal, peer: Peer, uri: string): Promise<CompletionResult> {
        const list = await this.backend.completion(params, signal, uri);
        if (!list) {
            return { incomplete: false, items: [] };
        }
        let items = list.items.slice(0, LanguageLimits.maxCompletionItems);
        const fitted = fit(items);
        const incomplete = list.incomplete || fitted.length < list.items.length;
        items = fitted;
        if (!list.resolve || signal.aborted) {
            list.dispose?.();
            return { incomplete, items };
        }
        const id = `c${this.nextId++}`;
        const lists = this.completionLists.get(peer.id) ?? [];
        lists.push({ id, list });
        while (lists.length > LanguageLimits.completionListsPerPeer) {
            lists.shift()!.list.dispose?.();
        }
        this.completionLists.set(peer.id, lists);
        return { listId: id, incomplete, items };
    }

    /**
     * A read-write guest's rename: the host's language server computes it, every file it touches must be shared,
     * visible and writable for guests (else nothing is changed), and the host applies and saves it.
     */
    protected async rename(params: RenameParams, signal: AbortSignal, peer: Peer, uri: string): Promise<RenameResult> {
        if (peer.permission !== 'readwrite') {
            throw new CollaborationError('permission-denied', 'Read-only participants cannot rename: ask the host for write access.');
        }
        if (!this.backend.renameEdits || !this.backend.applyEdits) {
            throw new CollaborationError('not-supported', 'The host cannot rename for guests.');
        }
        const { files, rejectReason } = await this.backend.renameEdits(params, signal, uri);
        if (rejectReason) {
            return { files: 0, edits: 0, rejectReason: rejectReason.slice(0, LanguageLimits.maxLabelLength) };
        }
        const changed = files.filter(file => file.edits.length > 0);
        if (changed.length > MAX_RENAME_FILES) {
            throw new CollaborationError('too-large', `The rename would change ${changed.length} files.`);
        }
        const resolved: HostFileEdits[] = [];
        for (const file of changed) {
            const path = this.paths.toWorkspacePath(file.uri);
            if (path === undefined) {
                throw new CollaborationError('forbidden', 'The rename would change files that are not shared.');
            }
            // Rejects (and nothing is changed) when a file is excluded or read-only for guests.
            resolved.push({ uri: await this.paths.resolveForGuest(path, 'write'), edits: file.edits });
        }
        if (signal.aborted) {
            throw new CollaborationError('cancelled', 'The request was cancelled.');
        }
        await this.backend.applyEdits(resolved);
        return { files: resolved.length, edits: resolved.reduce((sum, file) => sum + file.edits.length, 0) };
    }

    protected async resolveCompletion(params: ResolveCompletionParams, signal: AbortSignal, peer: Peer): Promise<ResolveCompletionResult> {
        const entry = this.completionLists.get(peer.id)?.find(candidate => candidate.id === params.listId);
        if (!entry || params.index >= entry.list.items.length || !entry.list.resolve) {
            return {};
        }
        const item = await entry.list.resolve(params.index, signal);
        return item && fit([item]).length === 1 ? { item } : {};
    }

    /** Host locations → shared ones; whatever is outside the roots or excluded is dropped. */
    protected async locations(hostLocations: HostLocation[]): Promise<LocationsResult> {
        const mapped: Location[] = [];
        for (const location of hostLocations) {
            const path = this.paths.toWorkspacePath(location.uri);
            if (path !== undefined) {
                const { uri: _uri, ...rest } = location;
                mapped.push({ path, ...rest });
            }
        }
        const visible = new Set(await this.paths.filterVisible([...new Set(mapped.map(location => location.path))]));
        return { locations: fit(mapped.filter(location => visible.has(location.path)).slice(0, LanguageLimits.maxLocations)) };
    }

    protected dropPeer(peerId: string): void {
        for (const controller of this.running.get(peerId)?.values() ?? []) {
            controller.abort();
        }
        this.running.delete(peerId);
        for (const { list } of this.completionLists.get(peerId) ?? []) {
            list.dispose?.();
        }
        this.completionLists.delete(peerId);
    }

    dispose(): void {
        if (this.disposed) {
            return;
        }
        this.disposed = true;
        for (const peerId of new Set([...this.running.keys(), ...this.completionLists.keys()])) {
            this.dropPeer(peerId);
        }
        this.toDispose.splice(0).forEach(disposable => disposable.dispose());
    }
}

/** The longest prefix of `items` whose JSON stays within the result budget. */
export function fit<T>(items: T[], budget: number = LanguageLimits.resultBudget): T[] {
    let used = 0;
    for (let i = 0; i < items.length; i++) {
        used += JSON.stringify(items[i]).length + 1;
        if (used > budget) {
            return items.slice(0, i);
        }
    }
    return items;
}

/** Symbols within the depth and count limits (and the result budget). */
export function boundSymbols(symbols: DocumentSymbol[]): DocumentSymbol[] {
    let count = 0;
    const visit = (list: DocumentSymbol[], depth: number): DocumentSymbol[] => {
        const result: DocumentSymbol[] = [];
        for (const symbol of list) {
            if (count >= LanguageLimits.maxSymbols) {
                break;
            }
            count++;
            const { children, ...rest } = symbol;
            result.push(children && children.length > 0 && depth < LanguageLimits.maxSymbolDepth
                ? { ...rest, children: visit(children, depth + 1) } : rest);
        }
        return result;
    };
    return fit(visit(symbols, 1));
}
