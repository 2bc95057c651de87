import * as monaco from '@theia/monaco-editor-core';
import { ICodeEditorService } from '@theia/monaco-editor-core/esm/vs/editor/browser/services/codeEditorService';
import { StandaloneServices } from '@theia/monaco-editor-core/esm/vs/editor/standalone/browser/standaloneServices';
import { MonacoEditorModel } from '@theia/monaco/lib/browser/monaco-editor-model';
import { Disposable } from '@theia-collab/protocol/lib/events';
import { SharedDocument } from '../../common/editor/editor-document';
import { BindableText, TextBinding, TextEdit, transformOffset } from '../../common/editor/editor-text-binding';

/** `MonacoEditorModel.updateModel` is protected; it is how edits skip the dirty flag (see `MonacoModelBuffer`). */
interface UpdatableModel {
    updateModel<T>(doUpdate: () => T, options?: { ignoreDirty?: boolean; ignoreContentChanges?: boolean }): T;
}

/**
 * A Monaco model as a `BindableText`. Line endings are LF (the Yjs side is `\n`); an EOL switch is undone.
 * On a host, edits from others make the model dirty like typing does, so the host's auto-save writes them;
 * on a guest they do not (the host owns the file), and they are not kept as pending content changes.
 */
export class MonacoModelBuffer implements BindableText {

    constructor(readonly model: MonacoEditorModel, protected readonly options: { markDirty: boolean }) {
        this.textModel.setEOL(monaco.editor.EndOfLineSequence.LF);
    }

    get textModel(): monaco.editor.ITextModel {
        return this.model.textEditorModel;
    }

    protected applying = 0;

    /** Whether the edits being made to the model now come from the shared document (not typed in this window). */
    get applyingEdits(): boolean {
        return this.applying > 0;
    }

    getValue(): string {
        return this.textModel.getValue();
    }

    getLength(): number {
        return this.textModel.getValueLength();
    }

    applyEdits(edits: readonly TextEdit[]): void {
        const textModel = this.textModel;
        const operations = edits.map(edit => {
            const start = textModel.getPositionAt(edit.offset);
            const end = textModel.getPositionAt(edit.offset + edit.length);
            return { range: new monaco.Range(start.lineNumber, start.column, end.lineNumber, end.column), text: edit.text };
        });
        // Carets and selections of this window, in offsets, moved by the edits the way peers expect.
        const editors = StandaloneServices.get(ICodeEditorService).listCodeEditors()
            .filter(editor => editor.getModel() === (textModel as unknown));
        const carets = editors.map(editor => ({
            editor,
            selections: (editor.getSelections() ?? []).map(selection => ({
                anchor: transformOffset(textModel.getOffsetAt({ lineNumber: selection.selectionStartLineNumber, column: selection.selectionStartColumn }), edits),
                head: transformOffset(textModel.getOffsetAt({ lineNumber: selection.positionLineNumber, column: selection.positionColumn }), edits)
            }))
        }));
        const apply = () => textModel.applyEdits(operations);
        this.applying++;
        try {
            if (this.options.markDirty) {
                apply();
            } else {
                (this.model as unknown as UpdatableModel).updateModel(apply, { ignoreDirty: true, ignoreContentChanges: true });
            }
        } finally {
            this.applying--;
        }
        for (const { editor, selections } of carets) {
            if (!selections.length) {
                continue;
            }
            const wanted = selections.map(({ anchor, head }) => {
                const start = textModel.getPositionAt(anchor);
                const end = textModel.getPositionAt(head);
                return new monaco.Selection(start.lineNumber, start.column, end.lineNumber, end.column);
            });
            const current = editor.getSelections() ?? [];
            if (wanted.length !== current.length || wanted.some((selection, i) => !selection.equalsSelection(current[i] as unknown as monaco.Selection))) {
                editor.setSelections(wanted as never, 'collaboration');
            }
        }
    }

    onDidChange(listener: (edits: readonly TextEdit[]) => void): Disposable {
        return this.textModel.onDidChangeContent(event => {
            if (event.isEolChange) {
                if (this.textModel.getEOL() !== '\n') {
                    this.textModel.setEOL(monaco.editor.EndOfLineSequence.LF);
                }
                return;
            }
            listener(event.changes.map(change => ({ offset: change.rangeOffset, length: change.rangeLength, text: change.text })));
        });
    }
}

/**
 * Binds a Theia Monaco model to a shared document. Undo and redo of the model (Theia's commands, keybindings
 * and menus all end in `ITextModel.undo/redo`) revert only this window's edits, through Y.UndoManager.
 */
export class MonacoTextBinding implements Disposable {
    readonly buffer: MonacoModelBuffer;
    readonly binding: TextBinding;
    protected readonly restoreUndo: () => void;

    constructor(readonly shared: SharedDocument, readonly model: MonacoEditorModel, options: { markDirty: boolean }) {
        this.buffer = new MonacoModelBuffer(model, options);
        this.binding = new TextBinding(shared, this.buffer);
        const textModel = this.buffer.textModel as monaco.editor.ITextModel & { undo(): unknown; redo(): unknown };
        const ownUndo = Object.prototype.hasOwnProperty.call(textModel, 'undo');
        const ownRedo = Object.prototype.hasOwnProperty.call(textModel, 'redo');
        const previousUndo = textModel.undo;
        const previousRedo = textModel.redo;
        textModel.undo = () => this.reveal(this.binding.undo());
        textModel.redo = () => this.reveal(this.binding.redo());
        this.restoreUndo = () => {
            if (ownUndo) {
                textModel.undo = previousUndo;
            } else {
                delete (textModel as Partial<typeof textModel>).undo;
            }
            if (ownRedo) {
                textModel.redo = previousRedo;
            } else {
                delete (textModel as Partial<typeof textModel>).redo;
            }
        };
    }

    dispose(): void {
        this.restoreUndo();
        this.binding.dispose();
    }

    /** Moves the caret of the editor showing the model to where undo or redo changed the text. */
    protected reveal(edits: TextEdit[]): void {
        const last = edits[edits.length - 1];
        if (!last) {
            return;
        }
        const textModel = this.buffer.textModel;
        const editorService = StandaloneServices.get(ICodeEditorService);
        const editor = [editorService.getFocusedCodeEditor(), editorService.getActiveCodeEditor()]
            .find(candidate => candidate?.getModel() === (textModel as unknown));
        if (editor) {
            const position = textModel.getPositionAt(last.offset + last.text.length);
            editor.setPosition(position);
            editor.revealPositionInCenterIfOutsideViewport(position);
        }
    }
}
