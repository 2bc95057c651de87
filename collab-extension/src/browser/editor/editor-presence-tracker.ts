import { inject, injectable, postConstruct } from '@theia/core/shared/inversify';
import { DisposableCollection } from '@theia/core/lib/common/disposable';
import { FrontendApplicationContribution } from '@theia/core/lib/browser/frontend-application-contribution';
import { EditorManager } from '@theia/editor/lib/browser/editor-manager';
import { MonacoEditor } from '@theia/monaco/lib/browser/monaco-editor';
import { AwarenessSelection, EditorLimits } from '../../common/editor/editor-protocol';
import { toRelativePosition } from '../../common/editor/editor-text-binding';
import { AfterPaintThrottle } from './after-paint';
import { EditorCollaborationService } from './editor-collaboration-service';

/** At most this often the caret, selections and visible range are read and handed to awareness. */
export const PRESENCE_INTERVAL_MS = 50;

/**
 * Publishes where this window's user is: the shared document of the current editor, all its selections and
 * its visible range, as relative Yjs positions (they stay right while others type). Reading them and telling
 * awareness happen after the editor painted, at most every `PRESENCE_INTERVAL_MS` with the latest position:
 * a keystroke moves the caret, and none of this is needed to show the typed character.
 */
@injectable()
export class EditorPresenceTracker implements FrontendApplicationContribution {

    @inject(EditorCollaborationService)
    protected readonly service: EditorCollaborationService;

    @inject(EditorManager)
    protected readonly editorManager: EditorManager;

    protected readonly toDisposeOnEditor = new DisposableCollection();
    protected readonly publisher = new AfterPaintThrottle(() => this.publishNow(), PRESENCE_INTERVAL_MS);

    @postConstruct()
    protected init(): void {
        this.editorManager.onCurrentEditorChanged(() => this.track());
        this.service.onDidChangeBindings(() => this.track());
        this.service.onDidChangeSession(() => this.track());
    }

    onStart(): void {
        // Constructed at start-up so it listens from the beginning.
    }

    /** The Monaco editor the user works in, if any. */
    get currentEditor(): MonacoEditor | undefined {
        return MonacoEditor.get(this.editorManager.currentEditor);
    }

    protected track(): void {
        this.toDisposeOnEditor.dispose();
        const editor = this.currentEditor;
        if (editor) {
            const control = editor.getControl();
            const publish = () => this.publisher.schedule();
            this.toDisposeOnEditor.push(control.onDidChangeCursorSelection(publish));
            this.toDisposeOnEditor.push(control.onDidScrollChange(publish));
            this.toDisposeOnEditor.push(control.onDidLayoutChange(publish));
            this.toDisposeOnEditor.push(control.onDidChangeModel(() => this.track()));
        }
        // Switching editors or sessions is rare and others should see it at once.
        this.publish();
    }

    /** Publishes now (what was scheduled is then not published again). */
    publish(): void {
        this.publisher.cancel();
        this.publishNow();
    }

    protected publishNow(): void {
        const context = this.service.current;
        if (!context) {
            return;
        }
        const editor = this.currentEditor;
        const binding = editor && this.service.bindingOf(editor.document);
        const textModel = editor?.getControl().getModel();
        if (!editor || !binding || !textModel || binding.shared.disposed) {
            context.awareness.setLocal({ document: undefined, selections: undefined, visible: undefined });
            return;
        }
        const control = editor.getControl();
        const text = binding.shared.text;
        const selections: AwarenessSelection[] = (control.getSelections() ?? []).slice(0, EditorLimits.maxSelections).map(selection => ({
            anchor: toRelativePosition(text, textModel.getOffsetAt({ lineNumber: selection.selectionStartLineNumber, column: selection.selectionStartColumn })),
            head: toRelativePosition(text, textModel.getOffsetAt({ lineNumber: selection.positionLineNumber, column: selection.positionColumn }))
        }));
        const range = control.getVisibleRanges()[0];
        const visible = range ? {
            start: toRelativePosition(text, textModel.getOffsetAt(range.getStartPosition())),
            end: toRelativePosition(text, textModel.getOffsetAt(range.getEndPosition()))
        } : undefined;
        context.awareness.setLocal({ document: binding.shared.path, selections, visible });
    }
}
