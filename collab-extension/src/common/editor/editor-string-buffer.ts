/**
 * A plain string buffer that behaves like a Monaco model towards a `TextBinding` (change events in
 * pre-change coordinates, remote edits announced too). For Node tests and headless peers.
 */
import { Disposable, Emitter } from '@theia-collab/protocol/lib/events';
import { applyEditsToString, BindableText, TextEdit } from './editor-text-binding';

export class StringTextBuffer implements BindableText {
    protected value: string;
    protected readonly onDidChangeEmitter = new Emitter<readonly TextEdit[]>();

    constructor(initial = '') {
        this.value = initial;
    }

    getValue(): string {
        return this.value;
    }

    getLength(): number {
        return this.value.length;
    }

    applyEdits(edits: readonly TextEdit[]): void {
        this.value = applyEditsToString(this.value, edits);
        // Like Monaco: remote edits are announced as well (descending), the binding must ignore them.
        this.onDidChangeEmitter.fire([...edits].reverse());
    }

    /** A user edit. */
    replace(offset: number, length: number, text: string): void {
        const edit = { offset, length, text };
        this.value = applyEditsToString(this.value, [edit]);
        this.onDidChangeEmitter.fire([edit]);
    }

    /** A multi-cursor user edit: ascending, non-overlapping edits in pre-change coordinates. */
    replaceAll(edits: readonly TextEdit[]): void {
        this.value = applyEditsToString(this.value, edits);
        this.onDidChangeEmitter.fire([...edits].reverse());
    }

    onDidChange(listener: (edits: readonly TextEdit[]) => void): Disposable {
        return this.onDidChangeEmitter.event(listener);
    }
}
