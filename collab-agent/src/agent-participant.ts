/**
 * A headless participant: a program that joined a collaboration session as a guest. It speaks exactly the
 * guest side of the protocol, through the extension's own common code (no copies): `fs/*` requests for files,
 * `EditorGuest` for shared documents, `SessionAwareness` for its named cursor, `ChatChannel` for chat, the
 * language requests and the diagnostics guest for the host's language services, and the follow messages for
 * the presenter. The host checks every one of these as it does for any guest, so a participant can do nothing
 * a guest with its permission could not.
 */
import * as Y from 'yjs';
import { CollaborationClient, CollaborationError, CollaborationSession, Disposable, parseInvite, Peer, SessionClosed } from '@theia-collab/protocol';
import type { ClientLogger } from '@theia-collab/protocol/lib/client';
import { ChatChannel } from '@theia-collab/extension/lib/common/chat/chat-channel';
import type { ChatMessage } from '@theia-collab/extension/lib/common/chat/chat-protocol';
import { SessionAwareness } from '@theia-collab/extension/lib/common/editor/editor-awareness';
import { SharedDocument } from '@theia-collab/extension/lib/common/editor/editor-document';
import { FollowMessages, mayAnnouncePresenter, mayOfferPresenter } from '@theia-collab/extension/lib/common/editor/editor-follow-protocol';
import { DocumentProblem, EditorGuest } from '@theia-collab/extension/lib/common/editor/editor-guest';
import { EditorMessages, RelativePositionJson, toUint8Array } from '@theia-collab/extension/lib/common/editor/editor-protocol';
import { toAbsoluteIndex, toRelativePosition } from '@theia-collab/extension/lib/common/editor/editor-text-binding';
import { FsDirEntry, FsLimits, FsMessages, FsStat, RootsResult } from '@theia-collab/extension/lib/common/fs/fs-messages';
import { DiagnosticsGuest } from '@theia-collab/extension/lib/common/language/language-diagnostics';
import { Diagnostic, HoverItem, LanguageLimits, LanguageMessages, Location } from '@theia-collab/extension/lib/common/language/language-protocol';

import { SearchGuest } from '@theia-collab/extension/lib/common/search/search-guest';
import type { FileMatches, FileSearchResult, TextSearchResult } from '@theia-collab/extension/lib/common/search/search-messages';
import { unifiedDiffEdits } from './unified-diff';

export const DEFAULT_SERVER_URL = 'http://127.0.0.1:8100';
/** The largest file `readFile` returns whole. */
export const MAX_READ_BYTES = 4 * 1024 * 1024;
/** Entries `listFiles` returns at most. */
export const MAX_LIST_ENTRIES = 5000;

export interface JoinAgentOptions {
    /** Invite link (carries the server URL) or code (`room#fingerprint.secret`, needs `serverUrl`). */
    invite: string;
    name: string;
    /** Server for an invite code; the link's server otherwise. Default `DEFAULT_SERVER_URL`. */
    serverUrl?: string;
    logger?: ClientLogger;
    /** Told once the host has been asked, with this participant's fingerprint (the host can compare it). */
    onPending?(info: { fingerprint: string }): void;
    signal?: AbortSignal;
    /** How long to wait for the host's answer; default 5 minutes. */
    admissionTimeoutMs?: number;
}

/** A position as editors show it: 1-based line and column. */
export interface LineColumn { line: number; column: number }
export interface LineColumnRange { start: LineColumn; end: LineColumn }

/** One change to a document: replace `range` (or the one occurrence of `oldText`) by `newText`. */
export interface DocumentEdit {
    range?: LineColumnRange;
    /** A UTF-16 offset and length into the text before the change. */
    at?: { offset: number; length: number };
    oldText?: string;
    newText: string;
}

export interface ParticipantInfo {
    id: string;
    name: string;
    role: string;
    permission: string;
    fingerprint: string;
    self: boolean;
    /** It said it is a program (a bot, an AI agent) when it asked to join. */
    program: boolean;
    /** The document in their active editor and their primary cursor, when they publish one. */
    document?: string;
    cursor?: LineColumn;
    following?: string;
    presenter: boolean;
}

export interface HostView {
    host: { id: string; name: string };
    /** The document in the host's active editor. */
    document?: string;
    cursor?: LineColumn;
    selections?: LineColumnRange[];
    visible?: { startLine: number; endLine: number };
    /** Whom the host follows. */
    following?: { id: string; name: string };
    /** Who presents (everyone is asked to follow them), if anybody. */
    presenter?: { id: string; name: string };
}

export interface ListedFile { path: string; type: 'file' | 'directory'; size: number }

/** Resolves the server URL the invite is for: the link's, else `serverUrl`, else the default. */
export function serverUrlOf(invite: string, serverUrl?: string): string {
    if (serverUrl) {
        return serverUrl;
    }
    const link = /(https?:\/\/[^\s#"'<>]+?)\/join\//.exec(invite);
    return link ? link[1] : DEFAULT_SERVER_URL;
}

const QUIET: ClientLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

export class AgentParticipant implements Disposable {

    static async join(options: JoinAgentOptions): Promise<AgentParticipant> {
        parseInvite(options.invite); // a clear error before anything is contacted
        const client = await CollaborationClient.connect({ serverUrl: serverUrlOf(options.invite, options.serverUrl), name: options.name, logger: options.logger ?? QUIET });
        try {
            const abort = new AbortController();
            options.signal?.addEventListener('abort', () => abort.abort(), { once: true });
            const timer = setTimeout(() => abort.abort(), options.admissionTimeoutMs ?? 5 * 60_000);
            let session: CollaborationSession;
            try {
                // Marked as a program: the host's dialog and everyone's participants view say so.
                session = await client.joinSession(options.invite, { onPending: options.onPending, signal: abort.signal, program: true });
            } finally {
                clearTimeout(timer);
            }
            const participant = new AgentParticipant(client, session, options.logger ?? QUIET);
            await participant.start();
            return participant;
        } catch (error) {
            client.dispose();
            throw error;
        }
    }

    readonly editor: EditorGuest;
    readonly awareness: SessionAwareness;
    readonly chat: ChatChannel;
    protected readonly diagnostics = new Map<string, Diagnostic[]>();
    protected readonly diagnosticsGuest: DiagnosticsGuest;
    protected readonly toDispose: Disposable[] = [];
    protected readonly problems: DocumentProblem[] = [];
    protected presenter: string | undefined;
    protected readonly presenterOffers = new Map<string, string>();
    protected roots: RootsResult | undefined;
    protected disposed = false;
    /** Why the session ended, once it did. */
    closedBy: SessionClosed | undefined;

    constructor(readonly client: CollaborationClient, readonly session: CollaborationSession, protected readonly logger: ClientLogger = QUIET) {
        this.editor = new EditorGuest({ logger });
        this.toDispose.push(this.editor.attach(session));
        this.toDispose.push(this.editor.onDidReportProblem(problem => {
            this.problems.push(problem);
            this.problems.splice(0, Math.max(0, this.problems.length - 100));
        }));
        this.awareness = new SessionAwareness(session, { logger });
        this.chat = new ChatChannel(session);
        this.diagnosticsGuest = new DiagnosticsGuest(session, {
            set: (path, items) => items.length ? this.diagnostics.set(path, items) : this.diagnostics.delete(path),
            clear: () => this.diagnostics.clear()
        }, { logger });
        const state = () => ({ host: session.host.id, presenter: this.presenter });
        this.toDispose.push(
            session.onBroadcast(FollowMessages.PresenterOffer, (params, sender) => {
                if (mayOfferPresenter(sender.id, state())) {
                    this.presenterOffers.set(params.to, sender.id);
                }
            }),
            session.onBroadcast(FollowMessages.Presenter, (params, sender) => {
                if (mayAnnouncePresenter({ sender: sender.id, presenter: params.presenter }, { ...state(), offers: this.presenterOffers })) {
                    this.presenter = params.presenter ?? undefined;
                    this.presenterOffers.clear();
                }
            }),
            session.onPeerLeft(({ peer }) => {
                if (peer.id === this.presenter) {
                    this.presenter = undefined;
                }
            }),
            session.onClose(closed => { this.closedBy = closed; })
        );
    }

    protected async start(): Promise<void> {
        // What was said before, the host's diagnostics: both best effort (a host without them still serves files).
        await Promise.all([
            this.chat.start().catch(error => this.logger.warn('collab-agent: no chat history:', CollaborationError.from(error).message)),
            this.diagnosticsGuest.start().catch(error => this.logger.warn('collab-agent: no diagnostics:', CollaborationError.from(error).message))
        ]);
    }

    get self(): Peer {
        return this.session.self;
    }

    get readOnly(): boolean {
        return this.session.self.permission !== 'readwrite';
    }

    protected assertOpen(): void {
        if (this.session.closed || this.disposed) {
            throw new CollaborationError('disconnected', this.closedBy ? `The session ended: ${this.closedBy.message}` : 'Not in the session any more.');
        }
    }

    // ---- files (fs/* requests: the host's exclusions and permission checks apply) ----

    async listRoots(): Promise<RootsResult> {
        this.assertOpen();
        this.roots = await this.session.sendRequest(FsMessages.Roots, {});
        return this.roots;
    }

    /**
     * Files and folders under `path` (a workspace path `<root>/<relative>`; all roots when absent), `depth` levels
     * down (1: direct children only). At most `MAX_LIST_ENTRIES`; `truncated` says when more were left out.
     */
    async listFiles(path?: string, depth = 1): Promise<{ entries: ListedFile[]; truncated: boolean }> {
        this.assertOpen();
        const entries: ListedFile[] = [];
        let truncated = false;
        const walk = async (folder: string, level: number): Promise<void> => {
            let cursor: number | undefined;
            do {
                const page = await this.session.sendRequest(FsMessages.Readdir, cursor === undefined ? { path: folder } : { path: folder, cursor });
                const children: FsDirEntry[] = [...page.entries].sort((a, b) => a.name.localeCompare(b.name));
                for (const entry of children) {
                    if (entries.length >= MAX_LIST_ENTRIES) {
                        truncated = true;
                        return;
                    }
                    const childPath = `${folder}/${entry.name}`;
                    entries.push({ path: childPath, type: entry.type, size: entry.size });
                    if (entry.type === 'directory' && level < depth) {
                        await walk(childPath, level + 1);
                    }
                }
                cursor = page.next;
            } while (cursor !== undefined && !truncated);
        };
        if (path) {
            await walk(path.replace(/\/+$/, ''), 1);
        } else {
            const { roots } = await this.listRoots();
            for (const root of roots) {
                entries.push({ path: root.name, type: 'directory', size: 0 });
                if (depth > 1) {
                    await walk(root.name, 2);
                }
            }
        }
        return { entries, truncated };
    }

    async stat(path: string): Promise<FsStat> {
        this.assertOpen();
        return this.session.sendRequest(FsMessages.Stat, { path });
    }

    /** The file's content as the host's disk has it (UTF-8), read in chunks. */
    async readFile(path: string): Promise<string> {
        this.assertOpen();
        const chunks: Uint8Array[] = [];
        let offset = 0;
        let size = Infinity;
        while (offset < size) {
            const result = await this.session.sendRequest(FsMessages.ReadFile, { path, offset, length: FsLimits.chunkBytes });
            size = result.size;
            if (size > MAX_READ_BYTES) {
                throw new CollaborationError('too-large', `'${path}' has ${size} bytes; at most ${MAX_READ_BYTES} are read.`);
            }
            const data = toUint8Array(result.data);
            if (data.byteLength === 0) {
                break;
            }
            chunks.push(data);
            offset += data.byteLength;
        }
        return Buffer.concat(chunks).toString('utf8');
    }

    // ---- shared documents (EditorGuest: edits are Yjs updates the host checks) ----

    /** Opens (joins) the shared document of `path` and publishes it as this participant's current document. */
    async openDocument(path: string): Promise<SharedDocument> {
        this.assertOpen();
        const shared = this.editor.get(path) ?? await this.editor.acquire(path);
        if (this.awareness.local.document !== path) {
            this.awareness.setLocal({ document: path, selections: [{ anchor: toRelativePosition(shared.text, 0), head: toRelativePosition(shared.text, 0) }] });
        }
        return shared;
    }

    closeDocument(path: string): void {
        if (this.editor.get(path)) {
            this.editor.release(path);
            if (this.awareness.local.document === path) {
                this.awareness.setLocal({ document: undefined, selections: undefined });
            }
        }
    }

    /** The shared text of an open (or now opened) document. */
    async documentText(path: string): Promise<string> {
        return (await this.openDocument(path)).text.toString();
    }

    /**
     * Applies `edits` to the shared document as one change (ranges and `oldText` refer to the text before it),
     * moves this participant's cursor to the end of the last one (everyone sees it, named), and waits until the
     * host has the change, or rejects with the host's reason when it refused it.
     */
    async editDocument(path: string, edits: readonly DocumentEdit[], timeoutMs = 10_000): Promise<{ text: string; cursor: LineColumn }> {
        const shared = await this.openDocument(path);
        const before = shared.text.toString();
        const resolved = edits.map(edit => resolveEdit(before, edit)).sort((a, b) => a.offset - b.offset);
        for (let i = 1; i < resolved.length; i++) {
            if (resolved[i].offset < resolved[i - 1].offset + resolved[i - 1].length) {
                throw new CollaborationError('bad-request', 'Edits overlap.');
            }
        }
        if (!resolved.length) {
            throw new CollaborationError('bad-request', 'No edits given.');
        }
        const problemsBefore = this.problems.length;
        const clientId = shared.doc.clientID;
        let caret = 0;
        shared.edit(text => {
            // From the end, so earlier offsets stay valid.
            for (const edit of [...resolved].reverse()) {
                if (edit.length) {
                    text.delete(edit.offset, edit.length);
                }
                if (edit.text) {
                    text.insert(edit.offset, edit.text);
                }
            }
        });
        const last = resolved[resolved.length - 1];
        const shift = resolved.slice(0, -1).reduce((sum, edit) => sum + edit.text.length - edit.length, 0);
        caret = last.offset + shift + last.text.length;
        const position = toRelativePosition(shared.text, caret);
        this.awareness.setLocal({ document: path, selections: [{ anchor: position, head: position }] });
        const localClock = Y.getState(shared.doc.store, clientId);
        await this.confirmApplied(shared, path, clientId, localClock, problemsBefore, timeoutMs);
        return { text: shared.text.toString(), cursor: offsetToLineColumn(shared.text.toString(), caret) };
    }

    /**
     * Waits until the host's state vector holds this participant's change: asked with `editor/open` (state vectors
     * only, the guest's usual repair request). A refusal (`editor/rejected`) arrives before that answer.
     */
    protected async confirmApplied(shared: SharedDocument, path: string, clientId: number, clock: number, problemsBefore: number, timeoutMs: number): Promise<void> {
        const deadline = Date.now() + timeoutMs;
        for (let attempt = 0; ; attempt++) {
            await delay(attempt === 0 ? 0 : 50);
            const refused = this.problems.slice(problemsBefore).find(problem => problem.path === path);
            if (refused) {
                throw new CollaborationError(refused.code, `The host refused the edit: ${refused.message}`);
            }
            this.assertOpen();
            const result = await this.session.sendRequest(EditorMessages.Open, {
                path, stateVector: Y.encodeStateVector(shared.doc), ...(shared.generation ? { generation: shared.generation } : {})
            });
            const refusedNow = this.problems.slice(problemsBefore).find(problem => problem.path === path);
            if (refusedNow) {
                throw new CollaborationError(refusedNow.code, `The host refused the edit: ${refusedNow.message}`);
            }
            const hostState = Y.decodeStateVector(toUint8Array(result.stateVector));
            if ((hostState.get(clientId) ?? 0) >= clock) {
                return;
            }
            if (Date.now() > deadline) {
                throw new CollaborationError('timeout', 'The host did not confirm the edit in time.');
            }
        }
    }

    /** Applies a unified diff of this document through the shared document (see unified-diff.ts). */
    async patchDocument(path: string, diff: string): Promise<{ text: string; cursor: LineColumn; edits: number }> {
        const shared = await this.openDocument(path);
        const edits = unifiedDiffEdits(shared.text.toString(), diff);
        if (!edits.length) {
            return { text: shared.text.toString(), cursor: { line: 1, column: 1 }, edits: 0 };
        }
        const result = await this.editDocument(path, edits.map(edit => ({ at: { offset: edit.offset, length: edit.length }, newText: edit.text })));
        return { ...result, edits: edits.length };
    }

    /** Asks the host to write the shared document to its disk. */
    async saveDocument(path: string): Promise<void> {
        await this.openDocument(path);
        await this.editor.save(path);
    }

    /** Moves this participant's cursor (or selection) in an open document; everyone sees it with its name. */
    async setCursor(path: string, start: LineColumn, end: LineColumn = start): Promise<void> {
        const shared = await this.openDocument(path);
        const text = shared.text.toString();
        this.awareness.setLocal({
            document: path,
            selections: [{ anchor: toRelativePosition(shared.text, lineColumnToOffset(text, start)), head: toRelativePosition(shared.text, lineColumnToOffset(text, end)) }]
        });
    }

    // ---- language services of the host ----

    diagnosticsOf(path?: string): { path: string; diagnostics: Diagnostic[] }[] {
        const all = [...this.diagnostics].map(([file, diagnostics]) => ({ path: file, diagnostics }));
        return (path ? all.filter(entry => entry.path === path) : all).sort((a, b) => a.path.localeCompare(b.path));
    }

    async hover(path: string, position: LineColumn): Promise<HoverItem[]> {
        const params = await this.positionParams(path, position);
        return (await this.session.sendRequest(LanguageMessages.Hover, params, { timeout: LanguageLimits.requestTimeoutMs * 3 })).hovers;
    }

    async definitions(path: string, position: LineColumn): Promise<Location[]> {
        const params = await this.positionParams(path, position);
        return (await this.session.sendRequest(LanguageMessages.Definition, params, { timeout: LanguageLimits.requestTimeoutMs * 3 })).locations;
    }

    protected async positionParams(path: string, position: LineColumn) {
        // The language requests are about shared documents: the host waits until its copy has the guest's line.
        const text = await this.documentText(path);
        const lineText = text.split('\n')[position.line - 1];
        return { path, position: { lineNumber: position.line, column: position.column }, ...(lineText !== undefined ? { lineText } : {}) };
    }

    // ---- search (the host's search/* handlers: its exclusions apply) ----

    protected searchGuest: SearchGuest | undefined;

    protected get search(): SearchGuest {
        if (!this.searchGuest) {
            this.searchGuest = new SearchGuest(this.session);
            this.toDispose.push(this.searchGuest);
        }
        return this.searchGuest;
    }

    async searchText(pattern: string, options: { matchCase?: boolean; matchWholeWord?: boolean; useRegExp?: boolean; include?: string[]; exclude?: string[]; maxResults?: number } = {}): Promise<{ files: FileMatches[]; result: TextSearchResult }> {
        this.assertOpen();
        const files: FileMatches[] = [];
        const result = await this.search.text({ pattern, ...options }, batch => files.push(...batch));
        return { files, result };
    }

    async searchFiles(pattern: string, limit?: number): Promise<FileSearchResult> {
        this.assertOpen();
        return this.search.files({ pattern, ...(limit ? { limit } : {}) });
    }

    // ---- chat ----

    readChat(limit = 50): readonly ChatMessage[] {
        const messages = this.chat.messages;
        return messages.slice(Math.max(0, messages.length - limit));
    }

    async sendChat(text: string): Promise<ChatMessage> {
        this.assertOpen();
        return this.chat.send(text);
    }

    // ---- participants and presence ----

    listParticipants(): ParticipantInfo[] {
        const states = this.awareness.states;
        return this.session.peers.map(peer => {
            const state = states.get(peer.id);
            const head = state?.selections?.[0]?.head;
            const cursor = state?.document && head ? this.resolvePosition(state.document, head) : undefined;
            return {
                id: peer.id, name: peer.name, role: peer.role, permission: peer.permission, fingerprint: peer.fingerprint,
                self: peer.id === this.session.self.id, presenter: peer.id === this.presenter, program: peer.program === true,
                ...(state?.document ? { document: state.document } : {}),
                ...(cursor ? { cursor } : {}),
                ...(state?.following ? { following: state.following } : {})
            };
        });
    }

    /** What the host is looking at: its document, cursor, selections and visible lines (positions resolved by opening the document). */
    async hostView(): Promise<HostView> {
        this.assertOpen();
        const host = this.session.host;
        const state = this.awareness.stateOf(host.id);
        const nameOf = (id: string) => ({ id, name: this.session.getPeer(id)?.name ?? id });
        const view: HostView = { host: { id: host.id, name: host.name } };
        if (this.presenter) {
            view.presenter = nameOf(this.presenter);
        }
        if (state?.following) {
            view.following = nameOf(state.following);
        }
        if (state?.document) {
            view.document = state.document;
            try {
                await this.openDocument(state.document);
            } catch {
                return view;
            }
            const selections = (state.selections ?? []).map(selection => {
                const start = this.resolvePosition(state.document!, selection.anchor);
                const end = this.resolvePosition(state.document!, selection.head);
                return start && end ? { start, end } : undefined;
            }).filter((range): range is LineColumnRange => range !== undefined);
            if (selections.length) {
                view.selections = selections;
                view.cursor = selections[0].end;
            }
            if (state.visible) {
                const start = this.resolvePosition(state.document, state.visible.start);
                const end = this.resolvePosition(state.document, state.visible.end);
                if (start && end) {
                    view.visible = { startLine: start.line, endLine: end.line };
                }
            }
        }
        return view;
    }

    protected resolvePosition(path: string, position: RelativePositionJson): LineColumn | undefined {
        const shared = this.editor.get(path);
        const index = shared ? toAbsoluteIndex(shared, position) : undefined;
        return shared && index !== undefined ? offsetToLineColumn(shared.text.toString(), index) : undefined;
    }

    // ---- leaving ----

    /** Leaves the session (the host sees it leave) and closes the connection. */
    async leave(): Promise<void> {
        if (this.disposed) {
            return;
        }
        if (!this.session.closed) {
            this.awareness.dispose();
            await this.session.leave().catch(() => undefined);
        }
        this.dispose();
    }

    dispose(): void {
        if (this.disposed) {
            return;
        }
        this.disposed = true;
        this.toDispose.splice(0).forEach(d => d.dispose());
        this.awareness.dispose();
        this.chat.dispose();
        this.diagnosticsGuest.dispose();
        this.editor.dispose();
        this.client.dispose();
    }
}

function delay(ms: number): Promise<void> {
    return new Promise(resolve => setTimeout(resolve, ms));
}

/** 1-based line and column (columns count UTF-16 units, as editors do) of an offset in `text`. */
export function offsetToLineColumn(text: string, offset: number): LineColumn {
    const clamped = Math.max(0, Math.min(offset, text.length));
    const before = text.slice(0, clamped);
    const line = before.split('\n').length;
    const column = clamped - (before.lastIndexOf('\n') + 1) + 1;
    return { line, column };
}

/** The offset of a 1-based line and column; refuses positions outside the text. */
export function lineColumnToOffset(text: string, position: LineColumn): number {
    const lines = text.split('\n');
    if (!Number.isInteger(position.line) || !Number.isInteger(position.column) || position.line < 1 || position.line > lines.length) {
        throw new CollaborationError('bad-request', `Line ${position.line} is outside the document (1-${lines.length}).`);
    }
    const lineText = lines[position.line - 1];
    if (position.column < 1 || position.column > lineText.length + 1) {
        throw new CollaborationError('bad-request', `Column ${position.column} is outside line ${position.line} (1-${lineText.length + 1}).`);
    }
    let offset = 0;
    for (let i = 0; i < position.line - 1; i++) {
        offset += lines[i].length + 1;
    }
    return offset + position.column - 1;
}

function resolveEdit(text: string, edit: DocumentEdit): { offset: number; length: number; text: string } {
    const newText = edit.newText.replace(/\r\n?/g, '\n');
    if (edit.range) {
        const start = lineColumnToOffset(text, edit.range.start);
        const end = lineColumnToOffset(text, edit.range.end);
        if (end < start) {
            throw new CollaborationError('bad-request', 'A range ends before it starts.');
        }
        return { offset: start, length: end - start, text: newText };
    }
    if (edit.at) {
        const { offset, length } = edit.at;
        if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > text.length) {
            throw new CollaborationError('bad-request', 'An edit lies outside the document.');
        }
        return { offset, length, text: newText };
    }
    if (edit.oldText !== undefined && edit.oldText.length > 0) {
        const oldText = edit.oldText.replace(/\r\n?/g, '\n');
        const first = text.indexOf(oldText);
        if (first < 0) {
            throw new CollaborationError('not-found', `The text to replace was not found: ${JSON.stringify(oldText.slice(0, 80))}`);
        }
        if (text.indexOf(oldText, first + 1) >= 0) {
            throw new CollaborationError('bad-request', `The text to replace occurs more than once; give more context or a range: ${JSON.stringify(oldText.slice(0, 80))}`);
        }
        return { offset: first, length: oldText.length, text: newText };
    }
    throw new CollaborationError('bad-request', 'Each edit needs a range or a non-empty oldText.');
}
