import { inject, injectable } from '@theia/core/shared/inversify';
import { Emitter, Event } from '@theia/core/lib/common/event';
import { MessageService } from '@theia/core/lib/common/message-service';
import { nls } from '@theia/core/lib/common/nls';
import { PreferenceService } from '@theia/core/lib/common/preferences';
import { ApplicationShell } from '@theia/core/lib/browser/shell/application-shell';
import { TerminalService } from '@theia/terminal/lib/browser/base/terminal-service';
import { TerminalWidget } from '@theia/terminal/lib/browser/base/terminal-widget';
import { CollaborationError, CollaborationSession, Disposable, MessageDefinition } from '@theia-collab/protocol';
import { CollaborationContribution } from '../collaboration-contribution';
import { TerminalHost, SharedTerminal } from '../../common/terminal/terminal-host';
import { GuestTerminal, TerminalGuest } from '../../common/terminal/terminal-guest';
import { TerminalMessages } from '../../common/terminal/terminal-protocol';
import { TerminalWidgetSource } from './terminal-widget-source';
import { scrollbackBytes, TERMINAL_SCROLLBACK_KB } from './terminal-preferences';
import { GuestTerminalWidget, GuestTerminalWidgetFactory } from './guest-terminal-widget';

/** A toast about who typed into a shared terminal is shown at most this often per participant. */
const TYPING_NOTICE_INTERVAL_MS = 30_000;

/**
 * Shared terminals in this window's session: as host, shares Theia terminals and answers guests;
 * as guest, shows each terminal the host shares in a `GuestTerminalWidget`.
 */
@injectable()
export class CollaborationTerminalService implements CollaborationContribution {

    readonly messages: readonly MessageDefinition[] = TerminalMessages.all;

    @inject(TerminalService) protected readonly terminals: TerminalService;
    @inject(MessageService) protected readonly messageService: MessageService;
    @inject(PreferenceService) protected readonly preferences: PreferenceService;
    @inject(ApplicationShell) protected readonly shell: ApplicationShell;
    @inject(GuestTerminalWidgetFactory) protected readonly createGuestWidget: GuestTerminalWidgetFactory;

    protected session: CollaborationSession | undefined;
    protected host: TerminalHost | undefined;
    protected guest: TerminalGuest | undefined;
    protected readonly sources = new Map<TerminalWidget, TerminalWidgetSource>();
    protected readonly guestWidgets = new Map<string, GuestTerminalWidget>();

    protected readonly onDidChangeEmitter = new Emitter<void>();
    /** Sharing started or stopped, or a shared terminal changed writability. */
    readonly onDidChange: Event<void> = this.onDidChangeEmitter.event;

    get isHost(): boolean {
        return !!this.host;
    }

    get isGuest(): boolean {
        return !!this.guest;
    }

    onSessionStarted(session: CollaborationSession): Disposable {
        this.session = session;
        const toDispose: Disposable[] = [];
        if (session.isHost) {
            const host = this.host = new TerminalHost(session, { scrollbackBytes: scrollbackBytes(this.preferences.get(TERMINAL_SCROLLBACK_KB)) });
            toDispose.push(
                host.onDidChange(() => {
                    this.markSharedTabs();
                    this.onDidChangeEmitter.fire();
                }),
                host.onDidInput(event => this.noticeTyping(event.terminal, event.peer.id, event.peer.name)),
                this.preferences.onPreferenceChanged(change => {
                    if (change.preferenceName === TERMINAL_SCROLLBACK_KB) {
                        host.setScrollbackBytes(scrollbackBytes(this.preferences.get(TERMINAL_SCROLLBACK_KB)));
                    }
                }),
                this.terminals.onDidCreateTerminal(widget => this.offerToShare(widget)),
                host
            );
        } else {
            const guest = this.guest = new TerminalGuest(session, { historyBytes: scrollbackBytes(this.preferences.get(TERMINAL_SCROLLBACK_KB)) });
            toDispose.push(guest.onDidShare(terminal => this.showGuestTerminal(terminal, false)), guest);
            guest.start().catch(error => {
                if (!session.closed) {
                    this.messageService.warn(nls.localize('collaboration/terminal/listFailed',
                        'Could not get the shared terminals: {0}', CollaborationError.from(error).message));
                }
            });
        }
        this.onDidChangeEmitter.fire();
        return Disposable.create(() => {
            toDispose.forEach(disposable => disposable.dispose());
            this.sources.forEach(source => source.dispose());
            this.sources.clear();
            this.markSharedTabs();
            // A guest's tabs of the host's terminals go with the session: nothing stale is left behind.
            const guestWidgets = [...this.guestWidgets.values()];
            this.guestWidgets.clear();
            guestWidgets.forEach(widget => widget.dispose());
            this.typingNotices.clear();
            if (this.session === session) {
                this.session = undefined;
                this.host = undefined;
                this.guest = undefined;
            }
            this.onDidChangeEmitter.fire();
        });
    }

    // ---- host ----

    shared(widget: TerminalWidget | undefined): SharedTerminal | undefined {
        const source = widget && this.sources.get(widget);
        return source && this.host?.find(source);
    }

    get sharedTerminals(): readonly SharedTerminal[] {
        return this.host?.shared ?? [];
    }

    share(widget: TerminalWidget, writable = false): SharedTerminal {
        const host = this.requireHost();
        const existing = this.shared(widget);
        if (existing) {
            return existing;
        }
        const source = new TerminalWidgetSource(widget);
        this.sources.set(widget, source);
        try {
            const shared = host.share(source, { writable });
            const forget = source.onClosed(() => {
                forget.dispose();
                source.dispose();
                this.sources.delete(widget);
            });
            return shared;
        } catch (error) {
            source.dispose();
            this.sources.delete(widget);
            throw error;
        }
    }

    /** Opens a new terminal and shares it. */
    async shareNewTerminal(writable = false): Promise<SharedTerminal> {
        this.requireHost();
        this.creatingToShare++;
        let widget: TerminalWidget;
        try {
            widget = await this.terminals.newTerminal({});
        } finally {
            this.creatingToShare--;
        }
        await widget.start();
        await this.terminals.open(widget, { mode: 'activate' });
        return this.share(widget, writable);
    }

    protected creatingToShare = 0;

    setWritable(widget: TerminalWidget, writable: boolean): void {
        const shared = this.shared(widget);
        if (shared) {
            this.requireHost().setWritable(shared.id, writable);
        }
    }

    stopSharing(widget: TerminalWidget): void {
        const shared = this.shared(widget);
        const source = this.sources.get(widget);
        if (shared) {
            this.requireHost().stop(shared.id, 'stopped');
        }
        if (source) {
            source.dispose();
            this.sources.delete(widget);
        }
    }

    protected readonly marked = new Set<TerminalWidget>();

    /** Marks the tabs of shared terminals (and whether guests may type), so the host always knows. */
    protected markSharedTabs(): void {
        const shared = new Map<TerminalWidget, SharedTerminal>();
        for (const [widget, source] of this.sources) {
            const terminal = this.host?.find(source);
            if (terminal && !widget.isDisposed) {
                shared.set(widget, terminal);
            }
        }
        for (const widget of new Set([...this.marked, ...shared.keys()])) {
            const terminal = shared.get(widget);
            const classes = widget.title.className.split(/\s+/).filter(name => name && !name.startsWith('collaboration-shared-terminal'));
            if (terminal) {
                classes.push('collaboration-shared-terminal', terminal.writable ? 'collaboration-shared-terminal-writable' : 'collaboration-shared-terminal-readonly');
                this.marked.add(widget);
            } else {
                this.marked.delete(widget);
            }
            widget.title.className = classes.join(' ');
        }
    }

    protected requireHost(): TerminalHost {
        if (!this.host) {
            throw new CollaborationError('forbidden', nls.localize('collaboration/terminal/notHost', 'Only the host of a session can share terminals.'));
        }
        return this.host;
    }

    /** A terminal opened during a session: one click shares it. */
    protected async offerToShare(widget: TerminalWidget): Promise<void> {
        if (widget.kind !== 'user' || widget.hiddenFromUser || this.creatingToShare > 0) {
            return;
        }
        const action = nls.localize('collaboration/terminal/shareAction', 'Share with participants');
        const answer = await this.messageService.info(nls.localize('collaboration/terminal/offer',
            'You opened a terminal during a collaboration session. Share it (read-only) with the participants?'), action);
        if (answer === action && this.host && !widget.isDisposed) {
            try {
                this.share(widget);
            } catch (error) {
                this.messageService.error(CollaborationError.from(error).message);
            }
        }
    }

    protected readonly typingNotices = new Map<string, number>();

    /** Shows who typed into a shared terminal, at most every `TYPING_NOTICE_INTERVAL_MS` per participant. */
    protected noticeTyping(terminal: SharedTerminal, peerId: string, name: string): void {
        const key = `${terminal.id}/${peerId}`;
        const now = Date.now();
        if (now - (this.typingNotices.get(key) ?? 0) < TYPING_NOTICE_INTERVAL_MS) {
            return;
        }
        this.typingNotices.set(key, now);
        this.messageService.info(nls.localize('collaboration/terminal/typing', '{0} is typing in the shared terminal \'{1}\'.', name, terminal.title),
            { timeout: 5000 });
    }

    // ---- guest ----

    get guestTerminals(): readonly GuestTerminal[] {
        return this.guest?.all ?? [];
    }

    /** Opens (or reveals) the view of a terminal the host shares. */
    async showGuestTerminal(terminal: GuestTerminal, activate = true): Promise<GuestTerminalWidget> {
        let widget = this.guestWidgets.get(terminal.id);
        if (!widget || widget.isDisposed) {
            widget = this.createGuestWidget(terminal);
            this.guestWidgets.set(terminal.id, widget);
            const created = widget;
            // The host stopped sharing it or closed it: say so and close the tab (the session's end closes it too).
            const ended = terminal.onDidEnd(reason => {
                if (reason === 'session-ended' || created.isDisposed) {
                    return;
                }
                const title = terminal.info.title || 'Terminal';
                this.messageService.info(reason === 'closed'
                    ? nls.localize('collaboration/terminal/hostClosedNotice', 'The host closed the shared terminal \'{0}\'.', title)
                    : nls.localize('collaboration/terminal/hostStoppedNotice', 'The host stopped sharing the terminal \'{0}\'.', title),
                { timeout: 8000 });
                created.dispose();
            });
            created.disposed.connect(() => {
                ended.dispose();
                if (this.guestWidgets.get(terminal.id) === created) {
                    this.guestWidgets.delete(terminal.id);
                }
            });
        }
        if (!widget.isAttached) {
            await this.shell.addWidget(widget, { area: 'bottom' });
        }
        if (activate) {
            await this.shell.activateWidget(widget.id);
        } else {
            await this.shell.revealWidget(widget.id);
        }
        return widget;
    }
}
