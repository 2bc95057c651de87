import { inject, injectable, postConstruct } from '@theia/core/shared/inversify';
import { FrontendApplicationContribution } from '@theia/core/lib/browser/frontend-application-contribution';
import { EditorManager } from '@theia/editor/lib/browser/editor-manager';
import { MonacoEditor } from '@theia/monaco/lib/browser/monaco-editor';
import * as monaco from '@theia/monaco-editor-core';
import { AwarenessState } from '../../common/editor/editor-protocol';
import { toAbsoluteIndex } from '../../common/editor/editor-text-binding';
import { AfterPaintThrottle } from './after-paint';
import { EditorCollaborationService } from './editor-collaboration-service';
import { MonacoTextBinding } from './monaco-text-binding';

/** How long a participant's name stays above their caret after they moved. */
const LABEL_VISIBLE_MS = 5000;

/**
 * Others' carets are re-drawn at most this often. In a room of 30 every caret moves a few times a second;
 * drawing on each change (or on each keystroke of this window's user) cost a Monaco decoration pass each.
 */
export const REMOTE_CURSORS_INTERVAL_MS = 50;

/** CSS `content` string for any name: every character outside plain ASCII letters/digits/space escaped. */
export function cssString(value: string): string {
    let result = '"';
    for (const char of value) {
        result += /[A-Za-z0-9 ._-]/.test(char) ? char : `\\${char.codePointAt(0)!.toString(16)} `;
    }
    return result + '"';
}

function optionsKey(options: monaco.editor.IModelDecorationOptions): string {
    const hover = options.hoverMessage as monaco.IMarkdownString | undefined;
    return `${options.className ?? ''}|${options.beforeContentClassName ?? ''}|${hover?.value ?? ''}`;
}

function rgba(hex: string, alpha: number): string {
    const value = parseInt(hex.slice(1), 16);
    return `rgba(${(value >> 16) & 255}, ${(value >> 8) & 255}, ${value & 255}, ${alpha})`;
}

/**
 * Shows the other participants in every editor of a shared document: a caret in their colour with their name
 * above it, and their selections highlighted. Per-peer colours and names live in one injected style sheet.
 * Drawing happens after this window's editor painted (never between a keystroke and its character), at most
 * every `REMOTE_CURSORS_INTERVAL_MS`, and leaves Monaco's decorations alone when they already show the
 * carets where they are (typing moves them along with the text).
 */
@injectable()
export class EditorRemoteCursors implements FrontendApplicationContribution {

    @inject(EditorCollaborationService)
    protected readonly service: EditorCollaborationService;

    @inject(EditorManager)
    protected readonly editorManager: EditorManager;

    protected readonly decorations = new WeakMap<MonacoEditor, monaco.editor.IEditorDecorationsCollection>();
    /** Per editor: the classes and names of the decorations last set, in order (their ranges Monaco tracks). */
    protected readonly shownOptions = new WeakMap<MonacoEditor, string>();
    protected readonly observed = new WeakSet<object>();
    /** Stable small numbers for CSS class names. */
    protected readonly slots = new Map<string, number>();
    protected styleElement: HTMLStyleElement | undefined;
    protected styleText = '';
    protected readonly renderer = new AfterPaintThrottle(() => this.render(), REMOTE_CURSORS_INTERVAL_MS);
    /** When each peer last moved (document or selections), to fade their name label out once they rest. */
    protected readonly lastMoves = new Map<string, { key: string; at: number }>();
    protected idleTimer: ReturnType<typeof setTimeout> | undefined;

    @postConstruct()
    protected init(): void {
        const schedule = () => this.schedule();
        this.service.onDidChangeAwareness(schedule);
        this.service.onDidChangeBindings(schedule);
        this.service.onDidChangeSession(schedule);
        this.editorManager.onCreated(widget => {
            schedule();
            widget.disposed.connect(schedule);
        });
    }

    onStart(): void {
        // Constructed at start-up so it listens from the beginning.
    }

    protected schedule(): void {
        this.renderer.schedule();
    }

    protected render(): void {
        const context = this.service.current;
        const states = context ? [...context.awareness.states.values()].filter(state => state.peer !== context.session.self.id) : [];
        this.updateStyles(states);
        this.trackMoves(states);
        for (const widget of this.editorManager.all) {
            const editor = MonacoEditor.get(widget);
            if (!editor) {
                continue;
            }
            const binding = this.service.bindingOf(editor.document);
            let collection = this.decorations.get(editor);
            if (!collection) {
                if (!binding) {
                    continue;
                }
                collection = editor.getControl().createDecorationsCollection();
                this.decorations.set(editor, collection);
            }
            this.show(editor, collection, binding ? this.decorationsFor(binding, states) : []);
            if (binding && !this.observed.has(binding.shared.text)) {
                // Relative positions move with the text: re-render when it changes.
                this.observed.add(binding.shared.text);
                const text = binding.shared.text;
                const observer = () => this.schedule();
                text.observe(observer);
                binding.shared.onDidReset(() => this.schedule());
            }
        }
    }

    protected decorationsFor(binding: MonacoTextBinding, states: AwarenessState[]): monaco.editor.IModelDeltaDecoration[] {
        const result: monaco.editor.IModelDeltaDecoration[] = [];
        const textModel = binding.buffer.textModel;
        const stickiness = monaco.editor.TrackedRangeStickiness.NeverGrowsWhenTypingAtEdges;
        for (const state of states) {
            if (state.document !== binding.shared.path || !state.selections) {
                continue;
            }
            const slot = this.slotOf(state.peer);
            state.selections.forEach((selection, index) => {
                const anchor = toAbsoluteIndex(binding.shared, selection.anchor);
                const head = toAbsoluteIndex(binding.shared, selection.head);
                if (anchor === undefined || head === undefined) {
                    return;
                }
                const headPosition = textModel.getPositionAt(head);
                if (anchor !== head) {
                    const start = textModel.getPositionAt(Math.min(anchor, head));
                    const end = textModel.getPositionAt(Math.max(anchor, head));
                    result.push({
                        range: new monaco.Range(start.lineNumber, start.column, end.lineNumber, end.column),
                        options: { className: `collab-selection collab-selection-${slot}`, stickiness, hoverMessage: { value: state.name } }
                    });
                }
                const primary = index === 0 ? ` collab-caret-primary${this.isResting(state.peer) ? ' collab-caret-idle' : ''}` : '';
                const firstLine = headPosition.lineNumber === 1 ? ' collab-caret-first-line' : '';
                result.push({
                    range: new monaco.Range(headPosition.lineNumber, headPosition.column, headPosition.lineNumber, headPosition.column),
                    options: {
                        beforeContentClassName: `collab-caret collab-caret-${slot}${primary}${firstLine}`,
                        stickiness,
                        hoverMessage: { value: state.name }
                    }
                });
            });
        }
        return result;
    }

    /** Sets the decorations unless the editor shows exactly these already. */
    protected show(editor: MonacoEditor, collection: monaco.editor.IEditorDecorationsCollection, decorations: monaco.editor.IModelDeltaDecoration[]): void {
        const options = decorations.map(decoration => optionsKey(decoration.options)).join('\n');
        if (options === this.shownOptions.get(editor)) {
            const ranges = collection.getRanges();
            if (ranges.length === decorations.length && decorations.every((decoration, i) => monaco.Range.equalsRange(ranges[i], decoration.range))) {
                return;
            }
        }
        collection.set(decorations);
        this.shownOptions.set(editor, options);
    }

    protected trackMoves(states: AwarenessState[]): void {
        const now = Date.now();
        let nextIdle = Number.MAX_SAFE_INTEGER;
        for (const state of states) {
            const key = JSON.stringify([state.document, state.selections]);
            const last = this.lastMoves.get(state.peer);
            if (!last || last.key !== key) {
                this.lastMoves.set(state.peer, { key, at: now });
            }
            const idleAt = this.lastMoves.get(state.peer)!.at + LABEL_VISIBLE_MS;
            if (idleAt > now) {
                nextIdle = Math.min(nextIdle, idleAt);
            }
        }
        clearTimeout(this.idleTimer);
        if (nextIdle !== Number.MAX_SAFE_INTEGER) {
            this.idleTimer = setTimeout(() => this.schedule(), nextIdle - now + 20);
        }
    }

    protected isResting(peer: string): boolean {
        const last = this.lastMoves.get(peer);
        return !!last && Date.now() - last.at >= LABEL_VISIBLE_MS;
    }

    protected slotOf(peer: string): number {
        let slot = this.slots.get(peer);
        if (slot === undefined) {
            slot = this.slots.size;
            this.slots.set(peer, slot);
        }
        return slot;
    }

    protected updateStyles(states: AwarenessState[]): void {
        const rules = states.map(state => {
            const slot = this.slotOf(state.peer);
            return `.collab-caret-${slot} { border-color: ${state.color}; }\n`
                + `.collab-caret-${slot}.collab-caret-primary::after { content: ${cssString(state.name)}; background-color: ${state.color}; }\n`
                + `.collab-selection-${slot} { background-color: ${rgba(state.color, 0.25)}; }\n`;
        }).join('');
        if (rules === this.styleText) {
            return;
        }
        this.styleText = rules;
        if (!this.styleElement) {
            this.styleElement = document.createElement('style');
            this.styleElement.id = 'collaboration-peer-styles';
            document.head.appendChild(this.styleElement);
        }
        this.styleElement.textContent = rules;
    }
}
