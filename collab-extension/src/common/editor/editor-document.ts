/**
 * A shared text document: a Y.Doc with one Y.Text named `content`, identified by its workspace path.
 * The Y.Doc may be replaced wholesale (a guest re-synchronising to the host state); bindings follow
 * `onDidReset`. The path changes when the host's file is renamed (`onDidRename`). Line endings on the Yjs
 * side are always `\n`.
 */
import * as Y from 'yjs';
import { Emitter, Event } from '@theia-collab/protocol/lib/events';

export const TEXT_NAME = 'content';

/** Transaction origin of the host's initial content. */
export const SEED_ORIGIN = 'collaboration/seed';

/** Transaction origin of updates received from a peer (`peerId`). */
export class RemoteOrigin {
    constructor(readonly peerId: string) { }
}

/** Transaction origin of edits made in this window (the binding, tests); tracked by undo. */
export class LocalOrigin {
    constructor(public path: string) { }
}

export function normalizeLineEndings(text: string): string {
    return text.indexOf('\r') < 0 ? text : text.replace(/\r\n?/g, '\n');
}

export class SharedDocument {
    readonly localOrigin: LocalOrigin;
    protected _path: string;
    protected _doc: Y.Doc;
    protected _readOnly = false;
    protected _disposed = false;
    /** The host document generation this state belongs to (guests), or the document's own (host). */
    generation: string | undefined;

    protected readonly onDidResetEmitter = new Emitter<void>();
    /** The Y.Doc was replaced: bindings re-attach to `text` and replace their content with it. */
    readonly onDidReset: Event<void> = this.onDidResetEmitter.event;
    protected readonly onDidChangeReadOnlyEmitter = new Emitter<boolean>();
    readonly onDidChangeReadOnly: Event<boolean> = this.onDidChangeReadOnlyEmitter.event;
    protected readonly onDidDisposeEmitter = new Emitter<void>();
    readonly onDidDispose: Event<void> = this.onDidDisposeEmitter.event;
    protected readonly onDidRenameEmitter = new Emitter<{ from: string; to: string }>();
    /** The file was renamed (or moved): the document now lives at `to`, with all its state. */
    readonly onDidRename: Event<{ from: string; to: string }> = this.onDidRenameEmitter.event;

    constructor(path: string, doc: Y.Doc = new Y.Doc()) {
        this._path = path;
        this.localOrigin = new LocalOrigin(path);
        this._doc = doc;
    }

    /** The workspace path (`<root>/<relative>`). */
    get path(): string {
        return this._path;
    }

    /** Re-keys the document after its file was renamed; its Y.Doc, undo history and bindings stay. */
    rename(path: string): void {
        const from = this._path;
        if (path !== from && !this._disposed) {
            this._path = path;
            this.localOrigin.path = path;
            this.onDidRenameEmitter.fire({ from, to: path });
        }
    }

    get doc(): Y.Doc {
        return this._doc;
    }

    get text(): Y.Text {
        return this._doc.getText(TEXT_NAME);
    }

    get readOnly(): boolean {
        return this._readOnly;
    }

    get disposed(): boolean {
        return this._disposed;
    }

    setReadOnly(readOnly: boolean): void {
        if (readOnly !== this._readOnly) {
            this._readOnly = readOnly;
            this.onDidChangeReadOnlyEmitter.fire(readOnly);
        }
    }

    /** Edits the text as this window's user would (undoable, sent to the others). */
    edit(change: (text: Y.Text) => void): void {
        this._doc.transact(() => change(this.text), this.localOrigin);
    }

    /** Replaces the Y.Doc (the old one is destroyed) and tells the bindings. */
    replaceDoc(doc: Y.Doc): void {
        const old = this._doc;
        this._doc = doc;
        old.destroy();
        this.onDidResetEmitter.fire(undefined);
    }

    dispose(): void {
        if (this._disposed) {
            return;
        }
        this._disposed = true;
        this.onDidDisposeEmitter.fire(undefined);
        this._doc.destroy();
        this.onDidResetEmitter.dispose();
        this.onDidChangeReadOnlyEmitter.dispose();
        this.onDidDisposeEmitter.dispose();
        this.onDidRenameEmitter.dispose();
    }
}

/** What a window offers its editors, as host or as guest. */
export interface SharedDocumentProvider {
    readonly isHost: boolean;
    /** Opens (or joins) the document; reference counted, pair with `release`. */
    acquire(path: string): Promise<SharedDocument>;
    release(path: string): void;
    get(path: string): SharedDocument | undefined;
    /** Asks the host to write the converged content to its disk. */
    save(path: string): Promise<void>;
}
