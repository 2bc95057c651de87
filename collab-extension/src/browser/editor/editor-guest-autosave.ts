import { SaveReason } from '@theia/core/lib/browser/saveable';
import { MonacoEditorModel } from '@theia/monaco/lib/browser/monaco-editor-model';
import { Disposable } from '@theia-collab/protocol/lib/events';
import { MonacoModelBuffer } from './monaco-text-binding';

/** Quiet time after a guest's last edit before auto-save writes guests' edits to the host's disk. */
export const GUEST_EDIT_AUTOSAVE_DELAY_MS = 5000;

/**
 * The auto-save rule for shared documents. The app auto-saves 0.5 s after a change (`files.autoSave:
 * afterDelay`); applied to guests' typing that would write every keystroke of a guest to the host's disk. So:
 *
 * - Edits made by guests reach the host's disk when someone saves on purpose: the guest's own save (Ctrl+S,
 *   answered at once by the host) or the host's own save, explicit or the auto-save that follows the host's own
 *   typing (which writes the whole document, guests' edits included).
 * - Otherwise auto-save writes guests' edits only after `GUEST_EDIT_AUTOSAVE_DELAY_MS` without further guest
 *   edits (and only while auto-save is `afterDelay`).
 *
 * On the host, "edits by guests" are the edits applied from the shared document (remote ones; also the host's
 * own undo and redo, which come back the same way); on a guest, its own typing. Meanwhile the model says it is
 * not auto-saveable, which makes Theia's auto-save skip it.
 */
export class GuestEditAutoSave implements Disposable {
    protected holding = false;
    protected timer: ReturnType<typeof setTimeout> | undefined;
    protected readonly listener: { dispose(): void };
    protected disposed = false;

    constructor(
        protected readonly model: MonacoEditorModel,
        protected readonly buffer: MonacoModelBuffer,
        protected readonly isHost: boolean,
        protected readonly autoSaveMode: () => unknown,
        protected readonly delayMs = GUEST_EDIT_AUTOSAVE_DELAY_MS
    ) {
        const original = Object.getOwnPropertyDescriptor(model, 'autosaveable');
        const inherited = (): boolean | undefined => {
            for (let proto = Object.getPrototypeOf(model); proto; proto = Object.getPrototypeOf(proto)) {
                const descriptor = Object.getOwnPropertyDescriptor(proto, 'autosaveable');
                if (descriptor) {
                    return descriptor.get ? descriptor.get.call(model) : descriptor.value;
                }
            }
            return undefined;
        };
        Object.defineProperty(model, 'autosaveable', {
            configurable: true,
            get: () => this.holding ? false : original ? (original.get ? original.get.call(model) : original.value) : inherited()
        });
        this.restore = () => {
            if (original) {
                Object.defineProperty(model, 'autosaveable', original);
            } else {
                delete (model as { autosaveable?: unknown }).autosaveable;
            }
        };
        this.listener = model.textEditorModel.onDidChangeContent(event => {
            if (event.isEolChange) {
                return;
            }
            const remote = buffer.applyingEdits;
            const byGuest = isHost ? remote : !remote;
            if (byGuest) {
                this.hold();
            } else if (isHost) {
                // The host typed: its own auto-save writes everything, as usual.
                this.release(false);
            }
        });
    }

    protected readonly restore: () => void;

    protected hold(): void {
        this.holding = true;
        if (this.timer) {
            clearTimeout(this.timer);
        }
        this.timer = setTimeout(() => this.release(true), this.delayMs);
    }

    protected release(save: boolean): void {
        if (this.timer) {
            clearTimeout(this.timer);
            this.timer = undefined;
        }
        if (!this.holding) {
            return;
        }
        this.holding = false;
        if (save && !this.disposed && !this.model.isDisposed() && this.model.dirty && this.autoSaveMode() === 'afterDelay') {
            this.model.save({ saveReason: SaveReason.AfterDelay }).catch(error => console.warn('collaboration: auto-saving a shared document failed', error));
        }
    }

    dispose(): void {
        if (this.disposed) {
            return;
        }
        this.disposed = true;
        if (this.timer) {
            clearTimeout(this.timer);
        }
        this.listener.dispose();
        this.restore();
    }
}
