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

    constructor(readonly widget: TerminalWidget) {
        const closed = () => this.onClosedEmitter.fire();
        const titleChanged = () => this.onTitleChangedEmitter.fire(this.title);
        widget.title.changed.connect(titleChanged);
        this.toDispose.push(
            widget.onDidDispose(closed),
            widget.onTerminalDidClose(closed),
            { dispose: () => widget.title.changed.disconnect(titleChanged) }
        );
    }

    get title(): string {
        return this.widget.title.label || this.widget.title.caption || 'Terminal';
    }

    get dimensions(): TerminalDimensions {
        return this.widget.dimensions;
    }

    /** Theia fires `onOutput` with the raw data written to xterm, escape sequences included. */
    readonly onOutput = (listener: (data: string) => void) => this.widget.onOutput(listener);

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
        this.onTitleChangedEmitter.dispose();
    }
}
