import { inject, injectable, interfaces, postConstruct } from '@theia/core/shared/inversify';
import { Message } from '@theia/core/shared/@lumino/messaging';
import { BaseWidget, codicon } from '@theia/core/lib/browser/widgets/widget';
import { MessageService } from '@theia/core/lib/common/message-service';
import { nls } from '@theia/core/lib/common/nls';
import { TerminalThemeService } from '@theia/terminal/lib/browser/terminal-theme-service';
import { TerminalPreferences } from '@theia/terminal/lib/common/terminal-preferences';
import { Terminal } from 'xterm';
import { CollaborationError } from '@theia-collab/protocol';
import { GuestTerminal, GuestTerminalEndReason } from '../../common/terminal/terminal-guest';

export const GuestTerminalWidgetOptions = Symbol('GuestTerminalWidgetOptions');
export interface GuestTerminalWidgetOptions {
    terminal: GuestTerminal;
}

export const GuestTerminalWidgetFactory = Symbol('GuestTerminalWidgetFactory');
export type GuestTerminalWidgetFactory = (terminal: GuestTerminal) => GuestTerminalWidget;

/** Notifications about refused input are shown at most this often. */
const REFUSAL_NOTICE_INTERVAL_MS = 4000;

/**
 * A terminal the host shares, as a guest sees it: the host's raw output in an xterm of the host's size
 * (a guest never resizes the host's terminal), typing forwarded to the host, which decides.
 */
@injectable()
export class GuestTerminalWidget extends BaseWidget {
    static readonly ID_PREFIX = 'collaboration-guest-terminal:';

    @inject(GuestTerminalWidgetOptions) protected readonly options: GuestTerminalWidgetOptions;
    @inject(MessageService) protected readonly messageService: MessageService;
    @inject(TerminalThemeService) protected readonly themeService: TerminalThemeService;
    @inject(TerminalPreferences) protected readonly terminalPreferences: TerminalPreferences;

    protected term: Terminal;
    protected statusNode: HTMLDivElement;
    protected termNode: HTMLDivElement;
    protected opened = false;
    protected lastRefusalNotice = 0;

    get terminal(): GuestTerminal {
        return this.options.terminal;
    }

    @postConstruct()
    protected init(): void {
        const terminal = this.terminal;
        this.id = GuestTerminalWidget.ID_PREFIX + terminal.id;
        this.title.closable = true;
        this.title.iconClass = codicon('terminal');
        this.addClass('collaboration-guest-terminal');
        this.node.tabIndex = -1;

        this.statusNode = document.createElement('div');
        this.statusNode.className = 'collaboration-guest-terminal-status';
        this.termNode = document.createElement('div');
        this.termNode.className = 'collaboration-guest-terminal-xterm';
        this.node.append(this.statusNode, this.termNode);

        this.term = new Terminal({
            cols: terminal.info.cols,
            rows: terminal.info.rows,
            theme: this.themeService.theme,
            fontFamily: this.terminalPreferences['terminal.integrated.fontFamily'],
            fontSize: this.terminalPreferences['terminal.integrated.fontSize'],
            lineHeight: this.terminalPreferences['terminal.integrated.lineHeight'],
            scrollback: this.terminalPreferences['terminal.integrated.scrollback'],
            cursorBlink: false
        });
        this.toDispose.push({ dispose: () => this.term.dispose() });

        const existing = terminal.text;
        if (existing) {
            this.term.write(existing);
        }
        this.toDispose.pushAll([
            terminal.onData(data => this.term.write(data)),
            terminal.onDidReset(() => this.term.reset()),
            terminal.onDidChangeInfo(info => {
                if (info.cols !== this.term.cols || info.rows !== this.term.rows) {
                    this.term.resize(info.cols, info.rows);
                }
                this.updateStatus();
            }),
            terminal.onDidEnd(reason => this.ended(reason)),
            terminal.onInputError(error => this.inputRefused(error)),
            this.themeService.onDidChange(() => this.term.options.theme = this.themeService.theme)
        ]);
        this.toDispose.push(this.term.onData(data => this.terminal.sendInput(data)));
        this.toDispose.push(this.term.onBinary(data => this.terminal.sendInput(data)));
        this.updateStatus();
        if (terminal.ended) {
            this.ended(terminal.endReason ?? 'stopped');
        }
    }

    protected updateStatus(): void {
        const terminal = this.terminal;
        const info = terminal.info;
        this.title.label = nls.localize('collaboration/terminal/guestTitle', 'Shared: {0}', info.title || 'Terminal');
        if (terminal.ended) {
            return;
        }
        const mode = terminal.writable
            ? nls.localize('collaboration/terminal/writable', 'you can type here')
            : info.writable
                ? nls.localize('collaboration/terminal/readOnlyGuest', 'read-only: you joined read-only')
                : nls.localize('collaboration/terminal/readOnly', 'read-only');
        const status = nls.localize('collaboration/terminal/status', 'Terminal shared by the host ({0})', mode);
        this.title.caption = status;
        this.statusNode.textContent = status;
        this.toggleClass('collaboration-guest-terminal-writable', terminal.writable);
    }

    protected ended(reason: GuestTerminalEndReason): void {
        const message = reason === 'closed'
            ? nls.localize('collaboration/terminal/hostClosed', 'The host closed this terminal.')
            : reason === 'session-ended'
                ? nls.localize('collaboration/terminal/sessionEnded', 'The collaboration session ended; this terminal is no longer shared.')
                : nls.localize('collaboration/terminal/hostStopped', 'The host stopped sharing this terminal.');
        this.statusNode.textContent = message;
        this.title.caption = message;
        this.addClass('collaboration-guest-terminal-ended');
        this.removeClass('collaboration-guest-terminal-writable');
        this.term.options.disableStdin = true;
        this.term.options.cursorStyle = 'underline';
        if (this.opened) {
            this.term.write(`\r\n\x1b[2m[${message}]\x1b[0m\r\n`);
        } else {
            this.pendingEndLine = message;
        }
    }

    protected pendingEndLine: string | undefined;

    protected inputRefused(error: CollaborationError): void {
        const now = Date.now();
        if (now - this.lastRefusalNotice < REFUSAL_NOTICE_INTERVAL_MS) {
            return;
        }
        this.lastRefusalNotice = now;
        const message = error.code === 'permission-denied'
            ? error.message
            : nls.localize('collaboration/terminal/inputFailed', 'Your input did not reach the shared terminal: {0}', error.message);
        this.messageService.warn(message);
    }

    protected override onAfterAttach(msg: Message): void {
        super.onAfterAttach(msg);
        this.update();
    }

    protected override onAfterShow(msg: Message): void {
        super.onAfterShow(msg);
        this.update();
    }

    protected override onUpdateRequest(msg: Message): void {
        super.onUpdateRequest(msg);
        if (!this.opened && this.isVisible && this.isAttached) {
            this.term.open(this.termNode);
            this.opened = true;
            if (this.pendingEndLine) {
                this.term.write(`\r\n\x1b[2m[${this.pendingEndLine}]\x1b[0m\r\n`);
                this.pendingEndLine = undefined;
            }
        }
    }

    protected override onActivateRequest(msg: Message): void {
        super.onActivateRequest(msg);
        if (this.opened) {
            this.term.focus();
        } else {
            this.node.focus();
        }
    }

    /** For tests and commands: what the terminal shows, line by line. */
    getVisibleText(): string {
        const buffer = this.term.buffer.active;
        const lines: string[] = [];
        for (let i = 0; i < buffer.length; i++) {
            lines.push(buffer.getLine(i)?.translateToString(true) ?? '');
        }
        return lines.join('\n');
    }
}

export function bindGuestTerminalWidget(bind: interfaces.Bind): void {
    bind(GuestTerminalWidgetFactory).toFactory(ctx => (terminal: GuestTerminal) => {
        const child = ctx.container.createChild();
        child.bind(GuestTerminalWidgetOptions).toConstantValue({ terminal });
        child.bind(GuestTerminalWidget).toSelf();
        return child.get(GuestTerminalWidget);
    });
}
