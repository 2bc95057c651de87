import { inject, injectable } from '@theia/core/shared/inversify';
import { Command, CommandContribution, CommandRegistry } from '@theia/core/lib/common/command';
import { MenuContribution, MenuModelRegistry } from '@theia/core/lib/common/menu';
import { MessageService } from '@theia/core/lib/common/message-service';
import { nls } from '@theia/core/lib/common/nls';
import { QuickInputService, QuickPickItem } from '@theia/core/lib/common/quick-pick-service';
import { ApplicationShell } from '@theia/core/lib/browser/shell/application-shell';
import { TerminalService } from '@theia/terminal/lib/browser/base/terminal-service';
import { TerminalWidget } from '@theia/terminal/lib/browser/base/terminal-widget';
import { TerminalMenus } from '@theia/terminal/lib/browser/terminal-frontend-contribution';
import { CollaborationError } from '@theia-collab/protocol';
import { CollaborationTerminalService } from './terminal-share-service';

export namespace CollaborationTerminalCommands {
    const CATEGORY = 'Collaboration';
    export const SHARE = Command.toLocalizedCommand({
        id: 'collaboration.terminal.share', label: 'Share Terminal', category: CATEGORY
    }, 'collaboration/terminal/share', 'collaboration/category');
    export const MAKE_WRITABLE = Command.toLocalizedCommand({
        id: 'collaboration.terminal.makeWritable', label: 'Let Participants Type in Shared Terminal', category: CATEGORY
    }, 'collaboration/terminal/makeWritable', 'collaboration/category');
    export const MAKE_READ_ONLY = Command.toLocalizedCommand({
        id: 'collaboration.terminal.makeReadOnly', label: 'Make Shared Terminal Read-Only', category: CATEGORY
    }, 'collaboration/terminal/makeReadOnly', 'collaboration/category');
    export const STOP_SHARING = Command.toLocalizedCommand({
        id: 'collaboration.terminal.stopSharing', label: 'Stop Sharing Terminal', category: CATEGORY
    }, 'collaboration/terminal/stopSharing', 'collaboration/category');
    export const SHOW_SHARED = Command.toLocalizedCommand({
        id: 'collaboration.terminal.showShared', label: 'Show Shared Terminal...', category: CATEGORY
    }, 'collaboration/terminal/showShared', 'collaboration/category');
}

@injectable()
export class CollaborationTerminalContribution implements CommandContribution, MenuContribution {

    @inject(CollaborationTerminalService) protected readonly service: CollaborationTerminalService;
    @inject(TerminalService) protected readonly terminals: TerminalService;
    @inject(ApplicationShell) protected readonly shell: ApplicationShell;
    @inject(MessageService) protected readonly messageService: MessageService;
    @inject(QuickInputService) protected readonly quickInput: QuickInputService;

    registerCommands(commands: CommandRegistry): void {
        commands.registerCommand(CollaborationTerminalCommands.SHARE, {
            execute: (widget?: unknown) => this.share(widget),
            isEnabled: () => this.service.isHost,
            isVisible: (widget?: unknown) => this.service.isHost && !this.service.shared(this.target(widget))
        });
        commands.registerCommand(CollaborationTerminalCommands.MAKE_WRITABLE, {
            execute: (widget?: unknown) => this.run(() => this.service.setWritable(this.requireShared(widget), true)),
            isEnabled: (widget?: unknown) => this.service.shared(this.target(widget))?.writable === false,
            isVisible: (widget?: unknown) => this.service.shared(this.target(widget))?.writable === false
        });
        commands.registerCommand(CollaborationTerminalCommands.MAKE_READ_ONLY, {
            execute: (widget?: unknown) => this.run(() => this.service.setWritable(this.requireShared(widget), false)),
            isEnabled: (widget?: unknown) => !!this.service.shared(this.target(widget))?.writable,
            isVisible: (widget?: unknown) => !!this.service.shared(this.target(widget))?.writable
        });
        commands.registerCommand(CollaborationTerminalCommands.STOP_SHARING, {
            execute: (widget?: unknown) => this.run(() => this.service.stopSharing(this.requireShared(widget))),
            isEnabled: (widget?: unknown) => !!this.service.shared(this.target(widget)),
            isVisible: (widget?: unknown) => !!this.service.shared(this.target(widget))
        });
        commands.registerCommand(CollaborationTerminalCommands.SHOW_SHARED, {
            execute: () => this.showShared(),
            isEnabled: () => this.service.guestTerminals.length > 0,
            isVisible: () => this.service.isGuest
        });
    }

    registerMenus(menus: MenuModelRegistry): void {
        const terminalMenu = [...TerminalMenus.TERMINAL_CONTEXT_MENU, '6_collaboration'];
        // In the Terminal menu rather than Collaborate: they are about terminals, and show only when they apply.
        const mainMenu = [...TerminalMenus.TERMINAL, '8_collaboration'];
        let order = 0;
        for (const command of [CollaborationTerminalCommands.SHARE, CollaborationTerminalCommands.MAKE_WRITABLE,
            CollaborationTerminalCommands.MAKE_READ_ONLY, CollaborationTerminalCommands.STOP_SHARING]) {
            const item = { commandId: command.id, label: command.label, order: String(order++) };
            menus.registerMenuAction(terminalMenu, item);
            menus.registerMenuAction(mainMenu, item);
        }
        menus.registerMenuAction(mainMenu, { commandId: CollaborationTerminalCommands.SHOW_SHARED.id, order: String(order++) });
    }

    /** The terminal a command is about: its argument, else the focused terminal, else the last used one. */
    protected target(widget?: unknown): TerminalWidget | undefined {
        if (widget instanceof TerminalWidget) {
            return widget;
        }
        const current = this.shell.currentWidget;
        if (current instanceof TerminalWidget) {
            return current;
        }
        return this.terminals.currentTerminal ?? this.terminals.lastUsedTerminal;
    }

    protected requireShared(widget?: unknown): TerminalWidget {
        const target = this.target(widget);
        if (!target || !this.service.shared(target)) {
            throw new CollaborationError('not-found', nls.localize('collaboration/terminal/noShared', 'Select a shared terminal first.'));
        }
        return target;
    }

    /**
     * From a terminal's context menu: that terminal. Otherwise the host picks one of its open terminals, or a new
     * one, which opens visibly: nothing is shared that the host does not see.
     */
    protected async share(widget?: unknown): Promise<void> {
        await this.run(async () => {
            let target: TerminalWidget | 'new' | undefined = widget instanceof TerminalWidget && !widget.isDisposed ? widget : undefined;
            if (!target) {
                target = await this.pickTerminalToShare();
                if (!target) {
                    return;
                }
            }
            let shared;
            if (target === 'new') {
                shared = await this.service.shareNewTerminal();
            } else {
                shared = this.service.share(target);
                await this.terminals.open(target, { mode: 'reveal' });
            }
            this.messageService.info(nls.localize('collaboration/terminal/shared',
                'The terminal \'{0}\' is shared read-only with the participants.', shared.title), { timeout: 5000 });
        });
    }

    /** The host's open terminals that are not shared yet, and a new one; a new one at once when none is open. */
    protected async pickTerminalToShare(): Promise<TerminalWidget | 'new' | undefined> {
        const open = this.terminals.all.filter(terminal => !terminal.isDisposed && terminal.kind === 'user' && !terminal.hiddenFromUser
            && !this.service.shared(terminal));
        if (open.length === 0) {
            return 'new';
        }
        const current = this.target();
        open.sort((a, b) => (a === current ? -1 : 0) - (b === current ? -1 : 0));
        type Item = QuickPickItem & { value: TerminalWidget | 'new' };
        const items: Item[] = open.map(terminal => ({
            label: `$(terminal) ${terminal.title.label || terminal.title.caption || 'Terminal'}`,
            description: terminal === current ? nls.localize('collaboration/terminal/current', 'current') : undefined,
            value: terminal
        }));
        items.push({ label: `$(add) ${nls.localize('collaboration/terminal/newShared', 'New Terminal')}`, value: 'new' });
        const picked = await this.quickInput.showQuickPick(items, {
            placeholder: nls.localize('collaboration/terminal/pickToShare', 'Terminal to share (read-only) with the participants')
        });
        return picked?.value;
    }

    protected async showShared(): Promise<void> {
        const terminals = this.service.guestTerminals;
        if (terminals.length === 1) {
            await this.service.showGuestTerminal(terminals[0]);
            return;
        }
        const picked = await this.quickInput.showQuickPick(terminals.map(terminal => ({ label: terminal.info.title, terminal })), {
            placeholder: nls.localize('collaboration/terminal/pick', 'Shared terminal to show')
        });
        if (picked) {
            await this.service.showGuestTerminal(picked.terminal);
        }
    }

    protected async run(action: () => unknown): Promise<void> {
        try {
            await action();
        } catch (error) {
            this.messageService.error(CollaborationError.from(error).message);
        }
    }
}
