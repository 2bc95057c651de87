/**
 * Two-way binding between a text buffer (a Monaco model in the browser, a string in tests) and a shared
 * Y.Text, with no echo: changes the buffer's user makes are applied to Yjs with the document's local origin;
 * Yjs changes from any other origin (peers, undo) are applied to the buffer while its own change events are
 * ignored. Undo and redo only revert this window's edits (Y.UndoManager tracking the local origin).
 */
import * as Y from 'yjs';
import { Disposable } from '@theia-collab/protocol/lib/events';
import { normalizeLineEndings, SharedDocument } from './editor-document';
import { RelativePositionJson } from './editor-protocol';

/** Replace `length` characters at `offset` with `text`. */
export interface TextEdit {
    offset: number;
    length: number;
    text: string;
}

/** A buffer a user edits. Offsets count UTF-16 code units; line breaks are `\n`. */
export interface BindableText {
    getValue(): string;
    getLength(): number;
    /**
     * Applies changes that come from elsewhere. Edits are ascending, non-overlapping and expressed in the
     * coordinates of the content before any of them applies (all at once, like Monaco's `applyEdits`).
     */
    applyEdits(edits: readonly TextEdit[]): void;
    /**
     * The user's changes, each expressed in the coordinates of the content before the change event
     * (Monaco's `IModelContentChange`: non-overlapping, `rangeOffset`/`rangeLength`/`text`).
     */
    onDidChange(listener: (edits: readonly TextEdit[]) => void): Disposable;
}

/** Converts a Y.Text delta into ascending edits in the coordinates of the text before the change. */
export function deltaToEdits(delta: ReadonlyArray<{ insert?: unknown; retain?: number; delete?: number }>): TextEdit[] {
    const edits: TextEdit[] = [];
    let offset = 0;
    for (const op of delta) {
        if (op.retain !== undefined) {
            offset += op.retain;
        } else if (op.delete !== undefined) {
            const last = edits[edits.length - 1];
            if (last && last.offset + last.length === offset) {
                last.length += op.delete;
            } else {
                edits.push({ offset, length: op.delete, text: '' });
            }
            offset += op.delete;
        } else if (op.insert !== undefined) {
            // Only strings live in a code document; embeds are shown as nothing.
            const text = typeof op.insert === 'string' ? op.insert : '';
            const last = edits[edits.length - 1];
            if (last && last.offset + last.length === offset) {
                last.text += text;
            } else {
                edits.push({ offset, length: 0, text });
            }
        }
    }
    return edits.filter(edit => edit.length > 0 || edit.text.length > 0);
}

/** The single edit turning `from` into `to` (common prefix and suffix kept), or undefined if equal. */
export function diffEdit(from: string, to: string): TextEdit | undefined {
    if (from === to) {
        return undefined;
    }
    const max = Math.min(from.length, to.length);
    let prefix = 0;
    while (prefix < max && from.charCodeAt(prefix) === to.charCodeAt(prefix)) {
        prefix++;
    }
    let suffix = 0;
    while (suffix < max - prefix && from.charCodeAt(from.length - 1 - suffix) === to.charCodeAt(to.length - 1 - suffix)) {
        suffix++;
    }
    // Do not split a surrogate pair.
    if (prefix > 0 && isHighSurrogate(from.charCodeAt(prefix - 1))) {
        prefix--;
    }
    if (suffix > 0 && isLowSurrogate(from.charCodeAt(from.length - suffix))) {
        suffix--;
    }
    return { offset: prefix, length: from.length - prefix - suffix, text: to.substring(prefix, to.length - suffix) };
}

function isHighSurrogate(code: number): boolean {
    return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
    return code >= 0xdc00 && code <= 0xdfff;
}

/** Applies ascending edits given in original coordinates to a string (what a buffer does). */
export function applyEditsToString(value: string, edits: readonly TextEdit[]): string {
    let result = '';
    let offset = 0;
    for (const edit of edits) {
        result += value.substring(offset, edit.offset) + edit.text;
        offset = edit.offset + edit.length;
    }
    return result + value.substring(offset);
}

/**
 * Where a caret at `offset` ends up after `edits` (ascending, original coordinates) that someone else made.
 * Text inserted exactly at the caret goes after it: a participant typing never has their next character
 * land after someone else's (which would interleave the two people's words).
 */
export function transformOffset(offset: number, edits: readonly TextEdit[]): number {
    let shift = 0;
    for (const edit of edits) {
        if (edit.offset >= offset) {
            break;
        }
        if (edit.offset + edit.length > offset) {
            // The caret was inside deleted text: it goes to where the deletion was.
            return edit.offset + shift;
        }
        shift += edit.text.length - edit.length;
    }
    return offset + shift;
}

export function toRelativePosition(text: Y.Text, index: number, assoc = 0): RelativePositionJson {
    const clamped = Math.max(0, Math.min(index, text.length));
    return Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(text, clamped, assoc)) as RelativePositionJson;
}

export function toAbsoluteIndex(shared: SharedDocument, position: RelativePositionJson): number | undefined {
    try {
        const absolute = Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(position), shared.doc);
        return absolute && absolute.type === shared.text ? absolute.index : undefined;
    } catch {
        return undefined;
    }
}

export interface TextBindingOptions {
    /** Milliseconds within which consecutive edits form one undo step. */
    captureTimeout?: number;
}

export class TextBinding implements Disposable {
    protected applyingRemote = false;
    protected disposed = false;
    protected _undoManager: Y.UndoManager;
    protected unobserve: () => void = () => { };
    protected readonly toDispose: Disposable[] = [];
    /** Edits of the last undo or redo, in the buffer's coordinates after they applied. */
    protected lastApplied: TextEdit[] = [];

    constructor(readonly shared: SharedDocument, readonly target: BindableText, protected readonly options: TextBindingOptions = {}) {
        this.attach();
        this.toDispose.push(
            target.onDidChange(edits => this.onLocalChange(edits)),
            shared.onDidReset(() => this.attach()),
            shared.onDidDispose(() => this.dispose())
        );
    }

    get undoManager(): Y.UndoManager {
        return this._undoManager;
    }

    /** Reverts this window's last edit; returns the edits it made to the buffer. */
    undo(): TextEdit[] {
        this.lastApplied = [];
        this._undoManager.undo();
        return this.lastApplied;
    }

    redo(): TextEdit[] {
        this.lastApplied = [];
        this._undoManager.redo();
        return this.lastApplied;
    }

    /** Ends the current undo step: the next edit starts a new one. */
    stopCapturing(): void {
        this._undoManager.stopCapturing();
    }

    dispose(): void {
        if (this.disposed) {
            return;
        }
        this.disposed = true;
        this.unobserve();
        this._undoManager?.destroy();
        this.toDispose.forEach(d => d.dispose());
    }

    /** (Re)connects to the current Y.Text and makes the buffer show exactly its content. */
    protected attach(): void {
        this.unobserve();
        this._undoManager?.destroy();
        const text = this.shared.text;
        this._undoManager = new Y.UndoManager(text, {
            trackedOrigins: new Set([this.shared.localOrigin]),
            captureTimeout: this.options.captureTimeout ?? 500
        });
        const observer = (event: Y.YTextEvent, transaction: Y.Transaction) => {
            if (transaction.origin !== this.shared.localOrigin) {
                this.applyRemote(deltaToEdits(event.delta as any), transaction.origin === this._undoManager);
            }
        };
        text.observe(observer);
        this.unobserve = () => text.unobserve(observer);
        this.replaceBuffer();
    }

    /** Replaces the buffer content by the Y.Text content (minimal edit, never inserted on top). */
    protected replaceBuffer(): void {
        const edit = diffEdit(this.target.getValue(), this.shared.text.toString());
        if (edit) {
            this.applyToBuffer([edit]);
        }
    }

    protected applyRemote(edits: TextEdit[], fromUndo: boolean): void {
        if (!edits.length) {
            return;
        }
        this.applyToBuffer(edits);
        if (fromUndo) {
            let shift = 0;
            this.lastApplied.push(...edits.map(edit => {
                const applied = { offset: edit.offset + shift, length: edit.text.length, text: edit.text };
                shift += edit.text.length - edit.length;
                return applied;
            }));
        }
        if (this.target.getLength() !== this.shared.text.length) {
            // The buffer normalised something (e.g. a peer's `\r`): make Yjs match what everyone's buffer shows.
            this.pushBufferToText();
        }
    }

    protected applyToBuffer(edits: TextEdit[]): void {
        const applying = this.applyingRemote;
        this.applyingRemote = true;
        try {
            this.target.applyEdits(edits);
        } finally {
            this.applyingRemote = applying;
        }
    }

    protected onLocalChange(edits: readonly TextEdit[]): void {
        if (this.applyingRemote || this.disposed || !edits.length) {
            return;
        }
        const sorted = [...edits].sort((a, b) => b.offset - a.offset);
        this.shared.edit(text => {
            for (const edit of sorted) {
                if (edit.length > 0) {
                    text.delete(edit.offset, edit.length);
                }
                const inserted = normalizeLineEndings(edit.text);
                if (inserted) {
                    text.insert(edit.offset, inserted);
                }
            }
        });
        if (this.target.getLength() !== this.shared.text.length) {
            this.pushBufferToText();
        }
    }

    /** Last resort when buffer and Y.Text disagree: the buffer's content wins, as one local edit. */
    protected pushBufferToText(): void {
        const edit = diffEdit(this.shared.text.toString(), normalizeLineEndings(this.target.getValue()));
        if (edit) {
            this.shared.edit(text => {
                text.delete(edit.offset, edit.length);
                text.insert(edit.offset, edit.text);
            });
        }
    }
}
