import { TerminalWidget } from '@theia/terminal/lib/browser/base/terminal-widget';
import { TerminalWidgetImpl } from '@theia/terminal/lib/browser/terminal-widget-impl';
import { Disposable, Emitter } from '@theia-collab/protocol';
import { TerminalDimensions, TerminalSource } from '../../common/terminal/terminal-host';

/** How many lines of what a terminal shows already are passed on when sharing starts. */
const MAX_INITIAL_LINES = 2000;

/** Theia's terminal widget seen as a shareable `TerminalSource`: raw output in, keystrokes out. */
export class TerminalWidgetSource implements TerminalSource, Disposable {
    protected readonly onClosedEmitter = new Emitter<void>();
    readonly onClosed = this.onClosedEmitter.event;
    protected readonly onTitleChangedEmitter = new Emitter<string>();
    readonly onTitleChanged = this.onTitleChangedEmitter.event;
    protected readonly toDispose: { dispose(): void }[] = [];

    protected readonly onOutputEmitter = new Emitter<string>();
    /** Raw data written to the terminal by its process, escape sequences included, in order. */
    readonly onOutput = this.onOutputEmitter.event;

    constructor(readonly widget: TerminalWidget) {
        const closed = () => this.onClosedEmitter.fire();
        let lastTitle = this.title;
        const titleChanged = () => {
            // `changed` also fires for icon and class changes: pass on real renames only.
            if (this.title !== lastTitle) {
                lastTitle = this.title;
                this.onTitleChangedEmitter.fire(lastTitle);
            }
        };
        widget.title.changed.connect(titleChanged);
        this.toDispose.push(
            widget.onDidDispose(closed),
            widget.onTerminalDidClose(closed),
            { dispose: () => widget.title.changed.disconnect(titleChanged) },
            this.tapWrites()
        );
    }

    /**
     * Taps what the backend process writes to the widget. `TerminalWidget.onOutput` is not used: it fires
     * from xterm's `onWriteParsed`, which xterm runs synchronously for the first write after a keystroke,
     * before Theia records that write, so the output of a command would only be passed on with the next one.
     */
    protected tapWrites(): Disposable {
        type Writable = { write(data: string): void };
        const target = this.widget as unknown as Writable;
        const original = target.write;
        const hadOwn = Object.prototype.hasOwnProperty.call(target, 'write');
        let active = true;
        const emitter = this.onOutputEmitter;
        const tapped = function (this: unknown, data: string): void {
            original.call(this, data);
            if (active && typeof data === 'string' && data) {
                emitter.fire(data);
            }
        };
        target.write = tapped;
        return Disposable.create(() => {
            active = false;
            // Restore only if nobody wrapped it after us; otherwise the inactive tap stays a pass-through.
            if (target.write === tapped) {
                if (hadOwn) {
                    target.write = original;
                } else {
                    delete (target as Partial<Writable>).write;
                }
            }
        });
    }

    get title(): string {
        return this.widget.title.label || this.widget.title.caption || 'Terminal';
    }

    get dimensions(): TerminalDimensions {
        return this.widget.dimensions;
    }

    readonly onDimensionsChanged = (listener: (dimensions: TerminalDimensions) => void) => this.widget.onSizeChanged(listener);

    initialContent(): string {
        const xterm = this.widget instanceof TerminalWidgetImpl ? this.widget.getTerminal() : undefined;
        if (xterm) {
            // Everything up to the cursor, the cursor line padded to the cursor, so what follows lines up.
            const active = xterm.buffer.active;
            const cursorLine = active.baseY + active.cursorY;
            const start = Math.max(0, cursorLine - MAX_INITIAL_LINES);
            const lines: string[] = [];
            for (let i = start; i <= cursorLine; i++) {
                lines.push(active.getLine(i)?.translateToString(true) ?? '');
            }
            const last = lines.length - 1;
            lines[last] = lines[last].padEnd(active.cursorX, ' ');
            return lines.join('\r\n').replace(/^(\r\n)+/, '');
        }
        const buffer = this.widget.buffer;
        const start = Math.max(0, buffer.length - MAX_INITIAL_LINES);
        const lines = buffer.getLines(start, buffer.length - start, true);
        while (lines.length && !lines[lines.length - 1]) {
            lines.pop();
        }
        return lines.join('\r\n');
    }

    sendText(text: string): void {
        this.widget.sendText(text);
    }

    dispose(): void {
        this.toDispose.forEach(disposable => disposable.dispose());
        this.onClosedEmitter.dispose();
        this.onOutputEmitter.dispose();
        this.onTitleChangedEmitter.dispose();
    }
}
