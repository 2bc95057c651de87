import { inject, injectable } from '@theia/core/shared/inversify';
import { Command, CommandContribution, CommandRegistry } from '@theia/core/lib/common/command';
import { MenuContribution, MenuModelRegistry } from '@theia/core/lib/common/menu';
import { MessageService } from '@theia/core/lib/common/message-service';
import { nls } from '@theia/core/lib/common/nls';
import { QuickInputService } from '@theia/core/lib/common/quick-pick-service';
import { CollaborationError } from '@theia-collab/protocol';
import { CollaborationMenus } from '../collaboration-frontend-contribution';
import { PortLimits, SharedServer } from '../../common/ports/port-messages';
import { ForwardedServer } from '../../common/ports/port-tunnel-guest';
import { PortShareService } from './port-share-service';

export namespace PortShareCommands {
    const CATEGORY = 'Collaboration';
    export const SHARE_SERVER = Command.toLocalizedCommand({
        id: 'collaboration.ports.share', label: 'Share Server...', category: CATEGORY
    }, 'collaboration/ports/share', 'collaboration/category');
    export const STOP_SHARING_SERVER = Command.toLocalizedCommand({
        id: 'collaboration.ports.stopSharing', label: 'Stop Sharing Server...', category: CATEGORY
    }, 'collaboration/ports/stopSharing', 'collaboration/category');
    export const OPEN_SHARED_SERVER = Command.toLocalizedCommand({
        id: 'collaboration.ports.open', label: 'Open Shared Server...', category: CATEGORY
    }, 'collaboration/ports/openShared', 'collaboration/category');
}

/** Commands and menu items of shared servers (Collaborate menu, command palette). */
@injectable()
export class PortShareContribution implements CommandContribution, MenuContribution {

    @inject(PortShareService) protected readonly service: PortShareService;
    @inject(QuickInputService) protected readonly quickInput: QuickInputService;
    @inject(MessageService) protected readonly messageService: MessageService;

    registerCommands(commands: CommandRegistry): void {
        commands.registerCommand(PortShareCommands.SHARE_SERVER, {
            // Arguments for scripts and tests: `(port, label)`.
            execute: (port?: unknown, label?: unknown) => this.run(() => this.share(port, label)),
            isEnabled: () => this.service.isHost,
            isVisible: () => this.service.isHost
        });
        commands.registerCommand(PortShareCommands.STOP_SHARING_SERVER, {
            execute: (port?: unknown) => this.run(() => this.stopSharing(port)),
            isEnabled: () => this.service.sharedServers.length > 0,
            isVisible: () => this.service.isHost
        });
        commands.registerCommand(PortShareCommands.OPEN_SHARED_SERVER, {
            execute: () => this.run(() => this.openShared()),
            isEnabled: () => this.service.forwardedServers.length > 0,
            isVisible: () => this.service.isGuest
        });
    }

    registerMenus(menus: MenuModelRegistry): void {
        const path = [...CollaborationMenus.FEATURES, '5_ports'];
        menus.registerMenuAction(path, { commandId: PortShareCommands.SHARE_SERVER.id, order: '1' });
        menus.registerMenuAction(path, { commandId: PortShareCommands.STOP_SHARING_SERVER.id, order: '2' });
        menus.registerMenuAction(path, { commandId: PortShareCommands.OPEN_SHARED_SERVER.id, order: '3' });
    }

    protected async share(portArgument?: unknown, labelArgument?: unknown): Promise<void> {
        let port = typeof portArgument === 'number' ? portArgument : undefined;
        let label = typeof labelArgument === 'string' ? labelArgument : undefined;
        if (port === undefined) {
            const input = await this.quickInput.input({
                title: nls.localize('collaboration/ports/shareTitle', 'Share Server'),
                prompt: nls.localize('collaboration/ports/portPrompt',
                    'Port of a server on this machine (127.0.0.1) that participants may connect to'),
                placeHolder: '3000',
                validateInput: async value => parsePort(value) === undefined
                    ? nls.localize('collaboration/ports/invalidPort', 'Enter a port number between 1 and 65535.')
                    : undefined
            });
            port = input === undefined ? undefined : parsePort(input);
            if (port === undefined) {
                return;
            }
            label = await this.quickInput.input({
                title: nls.localize('collaboration/ports/shareTitle', 'Share Server'),
                prompt: nls.localize('collaboration/ports/labelPrompt', 'Name shown to participants (optional)'),
                validateInput: async value => value.length > PortLimits.maxLabelLength || /[\u0000-\u001f\u007f]/.test(value)
                    ? nls.localize('collaboration/ports/invalidLabel', 'Use at most {0} printable characters.', String(PortLimits.maxLabelLength))
                    : undefined
            });
            if (label === undefined) {
                return;
            }
        }
        await this.service.share(port, label ?? '');
    }

    protected async stopSharing(portArgument?: unknown): Promise<void> {
        const servers = this.service.sharedServers;
        let port = typeof portArgument === 'number' ? portArgument : undefined;
        if (port === undefined) {
            const picked = servers.length === 1 ? { server: servers[0] } : await this.quickInput.showQuickPick(
                servers.map(server => ({ label: this.label(server), description: `127.0.0.1:${server.port}`, server })),
                { placeholder: nls.localize('collaboration/ports/pickToStop', 'Shared server to stop sharing') });
            port = picked?.server.port;
        }
        if (port !== undefined) {
            const server = servers.find(candidate => candidate.port === port);
            await this.service.unshare(port);
            if (server) {
                this.messageService.info(nls.localize('collaboration/ports/stopped', 'Stopped sharing server {0}.', this.service.describe(server)),
                    { timeout: 5000 });
            }
        }
    }

    protected async openShared(): Promise<void> {
        const servers = this.service.forwardedServers;
        const picked = servers.length === 1 ? { server: servers[0] } : await this.quickInput.showQuickPick(
            servers.map(server => ({ label: this.label(server), description: server.url, server })),
            { placeholder: nls.localize('collaboration/ports/pickToOpen', 'Shared server to open') });
        if (picked) {
            this.service.open(picked.server as ForwardedServer);
        }
    }

    protected label(server: SharedServer): string {
        return server.label || nls.localize('collaboration/ports/unnamed', 'Port {0}', String(server.port));
    }

    protected async run(action: () => Promise<void>): Promise<void> {
        try {
            await action();
        } catch (error) {
            this.messageService.error(CollaborationError.from(error).message);
        }
    }
}

function parsePort(value: string): number | undefined {
    const trimmed = value.trim();
    if (!/^\d{1,5}$/.test(trimmed)) {
        return undefined;
    }
    const port = Number(trimmed);
    return port >= 1 && port <= 65535 ? port : undefined;
}
