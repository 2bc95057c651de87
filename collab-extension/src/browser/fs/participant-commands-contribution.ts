import { inject, injectable } from '@theia/core/shared/inversify';
import { Command, CommandContribution, CommandRegistry } from '@theia/core/lib/common/command';
import { MessageService } from '@theia/core/lib/common/message-service';
import { nls } from '@theia/core/lib/common/nls';
import { QuickInputService, QuickPickItem } from '@theia/core/lib/common/quick-pick-service';
import { CollaborationError, CollaborationSession, Peer, Permission } from '@theia-collab/protocol';
import { CollaborationSessionService } from '../collaboration-session-service';

export namespace ParticipantCommands {
    const CATEGORY = 'Collaboration';
    export const CHANGE_PERMISSION = Command.toLocalizedCommand({
        id: 'collaboration.changeParticipantPermission', label: 'Change Participant Permission...', category: CATEGORY
    }, 'collaboration/changeParticipantPermission', 'collaboration/category');
    export const REMOVE_PARTICIPANT = Command.toLocalizedCommand({
        id: 'collaboration.removeParticipant', label: 'Remove Participant...', category: CATEGORY
    }, 'collaboration/removeParticipant', 'collaboration/category');
}

/**
 * Host actions on guests, from the command palette (the status bar's quick menu offers the same per participant). The permission decides what the host's file system lets a guest do; a removed
 * guest's requests are refused from then on, as the host checks its live peer list on every request.
 */
@injectable()
export class ParticipantCommandsContribution implements CommandContribution {

    @inject(CollaborationSessionService)
    protected readonly sessionService: CollaborationSessionService;

    @inject(QuickInputService)
    protected readonly quickInput: QuickInputService;

    @inject(MessageService)
    protected readonly messageService: MessageService;

    registerCommands(commands: CommandRegistry): void {
        const enabled = () => this.hostedSessionWithGuests() !== undefined;
        commands.registerCommand(ParticipantCommands.CHANGE_PERMISSION, {
            isEnabled: enabled,
            isVisible: enabled,
            execute: (peerId?: string, permission?: Permission) => this.changePermission(peerId, permission)
        });
        commands.registerCommand(ParticipantCommands.REMOVE_PARTICIPANT, {
            isEnabled: enabled,
            isVisible: enabled,
            execute: (peerId?: string) => this.removeParticipant(peerId)
        });
    }

    protected hostedSessionWithGuests(): CollaborationSession | undefined {
        const session = this.sessionService.session;
        return session && session.isHost && !session.closed && session.peers.some(peer => peer.id !== session.self.id) ? session : undefined;
    }

    /** Without arguments, asks which guest and which permission. */
    async changePermission(peerId?: string, permission?: Permission): Promise<void> {
        const session = this.hostedSessionWithGuests();
        if (!session) {
            return;
        }
        const peer = peerId ? session.getPeer(peerId) : await this.pickGuest(session,
            nls.localize('collaboration/pickPermissionGuest', 'Whose permission do you want to change?'));
        if (!peer || peer.id === session.self.id) {
            return;
        }
        let chosen = permission;
        if (!chosen) {
            type Item = QuickPickItem & { permission: Permission };
            const items: Item[] = [
                { permission: 'readwrite', label: nls.localize('collaboration/readWriteAccess', 'Read-Write'),
                    description: nls.localize('collaboration/readWriteAccessDetail', 'may edit, create, rename and delete shared files') },
                { permission: 'readonly', label: nls.localize('collaboration/readOnlyAccess', 'Read-Only'),
                    description: nls.localize('collaboration/readOnlyAccessDetail', 'may only look') }
            ];
            const picked = await this.quickInput.showQuickPick(items, {
                placeholder: nls.localize('collaboration/pickPermission', 'Permission for {0} (now {1})', peer.name, permissionLabel(peer.permission))
            });
            chosen = picked?.permission;
        }
        if (!chosen || chosen === peer.permission || session.closed) {
            return;
        }
        await this.run(() => session.setPermission(peer.id, chosen!));
    }

    async removeParticipant(peerId?: string): Promise<void> {
        const session = this.hostedSessionWithGuests();
        if (!session) {
            return;
        }
        const peer = peerId ? session.getPeer(peerId) : await this.pickGuest(session,
            nls.localize('collaboration/pickRemoveGuest', 'Whom do you want to remove from the session?'));
        if (!peer || peer.id === session.self.id || session.closed) {
            return;
        }
        await this.run(() => session.removePeer(peer.id));
    }

    protected async pickGuest(session: CollaborationSession, placeholder: string): Promise<Peer | undefined> {
        type Item = QuickPickItem & { peer: Peer };
        const items: Item[] = session.peers.filter(peer => peer.id !== session.self.id).map(peer => ({
            peer,
            label: peer.name,
            description: permissionLabel(peer.permission),
            detail: nls.localize('collaboration/fingerprintDetail', 'Key fingerprint {0}', peer.fingerprint)
        }));
        const picked = await this.quickInput.showQuickPick(items, { placeholder });
        return picked?.peer;
    }

    protected async run(action: () => Promise<void>): Promise<void> {
        try {
            await action();
        } catch (error) {
            this.messageService.error(nls.localize('collaboration/error', 'Collaboration: {0}', CollaborationError.from(error).message));
        }
    }
}

function permissionLabel(permission: Permission): string {
    return permission === 'readwrite' ? nls.localize('collaboration/readWrite', 'read-write') : nls.localize('collaboration/readOnly', 'read-only');
}
