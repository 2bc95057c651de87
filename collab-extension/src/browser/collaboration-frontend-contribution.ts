import { inject, injectable } from '@theia/core/shared/inversify';
import { Command, CommandContribution, CommandRegistry } from '@theia/core/lib/common/command';
import { MAIN_MENU_BAR, MenuContribution, MenuModelRegistry } from '@theia/core/lib/common/menu';
import { MessageService } from '@theia/core/lib/common/message-service';
import { nls } from '@theia/core/lib/common/nls';
import { QuickInputService, QuickPickItem, QuickPickSeparator } from '@theia/core/lib/common/quick-pick-service';
import { ClipboardService } from '@theia/core/lib/browser/clipboard-service';
import { StorageService } from '@theia/core/lib/browser/storage-service';
import { ConfirmDialog, Dialog } from '@theia/core/lib/browser/dialogs';
import { PreferenceScope, PreferenceService } from '@theia/core/lib/common/preferences';
import { EnvVariablesServer } from '@theia/core/lib/common/env-variables';
import { CollaborationError, CollaborationSession, DisplayName, parseInvite, Peer } from '@theia-collab/protocol';
import { CollaborationSessionService } from './collaboration-session-service';
import { CollaborationInviteDialog, CollaborationJoinDialog } from './collaboration-dialogs';
import { COLLABORATION_DISPLAY_NAME, CollaborationPreferences } from '../common/collaboration-preferences';

export namespace CollaborationCommands {
    const CATEGORY = 'Collaboration';
    export const START_SESSION = Command.toLocalizedCommand({
        id: 'collaboration.startSession', label: 'Start Session', category: CATEGORY
    }, 'collaboration/startSession', 'collaboration/category');
    export const JOIN_SESSION = Command.toLocalizedCommand({
        id: 'collaboration.joinSession', label: 'Join Session...', category: CATEGORY
    }, 'collaboration/joinSession', 'collaboration/category');
    export const LEAVE_SESSION = Command.toLocalizedCommand({
        id: 'collaboration.leaveSession', label: 'Leave Session', category: CATEGORY
    }, 'collaboration/leaveSession', 'collaboration/category');
    export const END_SESSION = Command.toLocalizedCommand({
        id: 'collaboration.endSession', label: 'End Session', category: CATEGORY
    }, 'collaboration/endSession', 'collaboration/category');
    export const CANCEL_JOIN = Command.toLocalizedCommand({
        id: 'collaboration.cancelJoin', label: 'Cancel Joining', category: CATEGORY
    }, 'collaboration/cancelJoin', 'collaboration/category');
    export const COPY_INVITE = Command.toLocalizedCommand({
        id: 'collaboration.copyInvite', label: 'Copy Invite', category: CATEGORY
    }, 'collaboration/copyInvite', 'collaboration/category');
    export const SHOW_INVITE = Command.toLocalizedCommand({
        id: 'collaboration.showInvite', label: 'Show Invite...', category: CATEGORY
    }, 'collaboration/showInvite', 'collaboration/category');
    export const COPY_SINGLE_USE_INVITE = Command.toLocalizedCommand({
        id: 'collaboration.copySingleUseInvite', label: 'Copy Single-Use Invite (1 hour)', category: CATEGORY
    }, 'collaboration/copySingleUseInvite', 'collaboration/category');
    export const REVOKE_INVITES = Command.toLocalizedCommand({
        id: 'collaboration.revokeInvites', label: 'Revoke All Invites', category: CATEGORY
    }, 'collaboration/revokeInvites', 'collaboration/category');
    export const CHANGE_DISPLAY_NAME = Command.toLocalizedCommand({
        id: 'collaboration.changeDisplayName', label: 'Change Display Name...', category: CATEGORY
    }, 'collaboration/changeDisplayName', 'collaboration/category');
    /** The quick menu behind the status bar item. */
    export const SHOW_MENU = Command.toLocalizedCommand({
        id: 'collaboration.showMenu', label: 'Show Collaboration Menu', category: CATEGORY
    }, 'collaboration/showMenu', 'collaboration/category');
}

export namespace CollaborationMenus {
    /** Top-level **Collaborate** menu, between Terminal and Help. */
    export const COLLABORATE = [...MAIN_MENU_BAR, '8_collaborate'];
    export const SESSION = [...COLLABORATE, '1_session'];
    export const INVITE = [...COLLABORATE, '2_invite'];
    /** For other extensions: things to do in a running session. */
    export const FEATURES = [...COLLABORATE, '3_features'];
    export const SETTINGS = [...COLLABORATE, '9_settings'];
}

/** Last display name entered, when the `collaboration.displayName` preference is empty. */
const LAST_NAME_KEY = 'collaboration.lastDisplayName';

@injectable()
export class CollaborationFrontendContribution implements CommandContribution, MenuContribution {

    @inject(CollaborationSessionService)
    protected readonly sessionService: CollaborationSessionService;

    @inject(CollaborationPreferences)
    protected readonly preferences: CollaborationPreferences;

    @inject(ClipboardService)
    protected readonly clipboard: ClipboardService;

    @inject(StorageService)
    protected readonly storage: StorageService;

    @inject(MessageService)
    protected readonly messageService: MessageService;

    @inject(QuickInputService)
    protected readonly quickInput: QuickInputService;

    @inject(PreferenceService)
    protected readonly preferenceService: PreferenceService;

    @inject(EnvVariablesServer)
    protected readonly envVariables: EnvVariablesServer;

    registerCommands(commands: CommandRegistry): void {
        const idle = () => this.sessionService.state === 'idle';
        const host = () => !!this.sessionService.session?.isHost;
        const guest = () => !!this.sessionService.session && !this.sessionService.session.isHost;
        const joining = () => this.sessionService.state === 'connecting' || this.sessionService.state === 'waiting-for-approval';
        // Hidden, not only disabled, while a session runs or is starting: the menu then shows what applies.
        commands.registerCommand(CollaborationCommands.START_SESSION, {
            execute: () => this.startSession(),
            isEnabled: idle,
            isVisible: idle
        });
        commands.registerCommand(CollaborationCommands.JOIN_SESSION, {
            execute: (invite?: unknown) => this.joinSession(typeof invite === 'string' ? invite : undefined),
            isEnabled: idle,
            isVisible: idle
        });
        commands.registerCommand(CollaborationCommands.CHANGE_DISPLAY_NAME, {
            execute: () => this.changeDisplayName()
        });
        commands.registerCommand(CollaborationCommands.LEAVE_SESSION, {
            execute: () => this.leaveSession(),
            isEnabled: guest,
            isVisible: () => !host()
        });
        commands.registerCommand(CollaborationCommands.END_SESSION, {
            execute: () => this.endSession(),
            isEnabled: host,
            isVisible: host
        });
        commands.registerCommand(CollaborationCommands.CANCEL_JOIN, {
            execute: () => this.sessionService.leaveSession(),
            isEnabled: joining,
            isVisible: joining
        });
        commands.registerCommand(CollaborationCommands.COPY_INVITE, {
            execute: () => this.copyInvite(),
            isEnabled: () => !!this.sessionService.session?.invite
        });
        commands.registerCommand(CollaborationCommands.SHOW_INVITE, {
            execute: () => this.showInvite(false),
            isEnabled: () => !!this.sessionService.session?.invite
        });
        commands.registerCommand(CollaborationCommands.COPY_SINGLE_USE_INVITE, {
            execute: () => this.copySingleUseInvite(),
            isEnabled: host,
            isVisible: host
        });
        commands.registerCommand(CollaborationCommands.REVOKE_INVITES, {
            execute: () => this.revokeInvites(),
            isEnabled: () => host() && (this.sessionService.session?.invites.length ?? 0) > 0,
            isVisible: host
        });
        commands.registerCommand(CollaborationCommands.SHOW_MENU, {
            execute: () => this.showQuickMenu()
        });
    }

    registerMenus(menus: MenuModelRegistry): void {
        menus.registerSubmenu(CollaborationMenus.COLLABORATE, nls.localize('collaboration/menu', 'Collaborate'));
        menus.registerMenuAction(CollaborationMenus.SESSION, { commandId: CollaborationCommands.START_SESSION.id, order: '1' });
        menus.registerMenuAction(CollaborationMenus.SESSION, { commandId: CollaborationCommands.JOIN_SESSION.id, order: '2' });
        menus.registerMenuAction(CollaborationMenus.SESSION, { commandId: CollaborationCommands.CANCEL_JOIN.id, order: '3' });
        menus.registerMenuAction(CollaborationMenus.SESSION, { commandId: CollaborationCommands.LEAVE_SESSION.id, order: '4' });
        menus.registerMenuAction(CollaborationMenus.SESSION, { commandId: CollaborationCommands.END_SESSION.id, order: '5' });
        menus.registerMenuAction(CollaborationMenus.INVITE, { commandId: CollaborationCommands.COPY_INVITE.id, order: '1' });
        menus.registerMenuAction(CollaborationMenus.INVITE, { commandId: CollaborationCommands.SHOW_INVITE.id, order: '2' });
        menus.registerMenuAction(CollaborationMenus.INVITE, { commandId: CollaborationCommands.COPY_SINGLE_USE_INVITE.id, order: '3' });
        menus.registerMenuAction(CollaborationMenus.INVITE, { commandId: CollaborationCommands.REVOKE_INVITES.id, order: '4' });
        menus.registerMenuAction(CollaborationMenus.SETTINGS, { commandId: CollaborationCommands.CHANGE_DISPLAY_NAME.id, order: '1' });
    }

    /**
     * Starts at once, without asking anything: the display name is the `collaboration.displayName` preference,
     * else the last name used, else the OS user name, else "Host" (Change Display Name changes it). The invite
     * is copied and shown.
     */
    protected async startSession(): Promise<void> {
        const name = await this.defaultName(nls.localize('collaboration/defaultHostName', 'Host'));
        let session: CollaborationSession;
        try {
            session = await this.sessionService.startSession(name);
        } catch {
            return; // already notified by the session service
        }
        if (session.invite) {
            await this.showInvite(true);
        }
    }

    protected async joinSession(initialInvite?: string): Promise<void> {
        const result = await new CollaborationJoinDialog({
            initialInvite,
            initialName: await this.defaultName(nls.localize('collaboration/defaultGuestName', 'Guest')),
            validateInvite,
            validateName
        }).open();
        if (!result) {
            return;
        }
        await this.rememberName(result.name);
        try {
            await this.sessionService.joinSession(result.invite, result.name);
        } catch {
            // already notified by the session service
        }
    }

    /** Asks in a modal dialog (a toast is easy to miss), then ends the session and says so. */
    protected async endSession(): Promise<void> {
        const session = this.sessionService.session;
        if (!session?.isHost) {
            return;
        }
        const guests = session.peers.length - 1;
        const dialog = new ConfirmDialog({
            title: nls.localize('collaboration/endTitle', 'End Collaboration Session'),
            msg: guests === 0
                ? nls.localize('collaboration/endConfirmAlone', 'End the collaboration session? Its invites stop working.')
                : guests === 1
                    ? nls.localize('collaboration/endConfirmOne', 'End the collaboration session? The guest in it will be disconnected and its invites stop working.')
                    : nls.localize('collaboration/endConfirmMany', 'End the collaboration session? The {0} guests in it will be disconnected and its invites stop working.', guests),
            ok: nls.localize('collaboration/endSession', 'End Session'),
            cancel: Dialog.CANCEL
        });
        dialog.addClass('collaboration-end-dialog');
        const confirmed = await dialog.open();
        if (!confirmed || this.sessionService.session !== session) {
            return;
        }
        await this.sessionService.leaveSession();
        this.messageService.info(guests === 0
            ? nls.localize('collaboration/ended', 'You ended the collaboration session.')
            : guests === 1
                ? nls.localize('collaboration/endedOne', 'You ended the collaboration session; the guest was disconnected.')
                : nls.localize('collaboration/endedMany', 'You ended the collaboration session; {0} guests were disconnected.', guests));
    }

    /** A guest leaves after confirming in a modal dialog. */
    protected async leaveSession(): Promise<void> {
        const session = this.sessionService.session;
        if (!session || session.isHost) {
            return;
        }
        const dialog = new ConfirmDialog({
            title: nls.localize('collaboration/leaveTitle', 'Leave Collaboration Session'),
            msg: nls.localize('collaboration/leaveConfirm', 'Leave the session of {0}? You need a new invite, and the host\'s approval, to come back.', session.host.name),
            ok: nls.localize('collaboration/leaveSession', 'Leave Session'),
            cancel: Dialog.CANCEL
        });
        dialog.addClass('collaboration-leave-dialog');
        const confirmed = await dialog.open();
        if (!confirmed || this.sessionService.session !== session) {
            return;
        }
        await this.sessionService.leaveSession();
        this.messageService.info(nls.localize('collaboration/left', 'You left the collaboration session of {0}.', session.host.name));
    }

    /** Sets the `collaboration.displayName` preference (user settings); a running session keeps the name it started with. */
    protected async changeDisplayName(): Promise<void> {
        const current = await this.defaultName('');
        const name = await this.quickInput.input({
            title: nls.localize('collaboration/changeDisplayNameTitle', 'Display Name'),
            prompt: nls.localize('collaboration/changeDisplayNamePrompt', 'Your name as other participants see it'),
            value: current,
            validateInput: async value => validateName(value.trim())
        });
        if (name === undefined || validateName(name.trim())) {
            return;
        }
        await this.preferenceService.set(COLLABORATION_DISPLAY_NAME, name.trim(), PreferenceScope.User);
        await this.rememberName(name.trim());
        this.messageService.info(this.sessionService.session
            ? nls.localize('collaboration/displayNameChangedNext', 'Your display name is now {0}, from your next session on.', name.trim())
            : nls.localize('collaboration/displayNameChanged', 'Your display name is now {0}.', name.trim()));
    }

    /** Copies the invite code; resolves whether that worked. */
    protected async copyInvite(): Promise<boolean> {
        const invite = this.sessionService.session?.invite;
        if (!invite) {
            return false;
        }
        const copied = await this.copy(invite.code);
        if (copied) {
            this.messageService.info(nls.localize('collaboration/inviteCopiedShort', 'Invite code copied to the clipboard.'));
        } else {
            await this.showInvite(false);
        }
        return copied;
    }

    /** An invite for one guest, valid for an hour: for a person the host does not want to hand the lasting invite. */
    protected async copySingleUseInvite(): Promise<void> {
        const session = this.sessionService.session;
        if (!session?.isHost) {
            return;
        }
        const invite = session.createInvite({ singleUse: true, expiresInMs: 60 * 60 * 1000 });
        if (await this.copy(invite.code)) {
            this.messageService.info(nls.localize('collaboration/singleUseInviteCopied', 'Single-use invite copied: it admits one guest within the next hour.'));
        } else {
            await new CollaborationInviteDialog({ invite, copied: false, copy: text => this.copy(text) }).open();
        }
    }

    /** Every current invite stops working; guests already in stay. */
    protected async revokeInvites(): Promise<void> {
        const session = this.sessionService.session;
        if (!session?.isHost) {
            return;
        }
        const revoked = session.invites.filter(invite => session.revokeInvite(invite.id)).length;
        this.messageService.info(revoked === 1
            ? nls.localize('collaboration/inviteRevoked',
                'Revoked 1 invite: nobody can ask to join with it any more. Guests in the session stay; Copy Single-Use Invite makes a new one.')
            : nls.localize('collaboration/invitesRevoked',
                'Revoked {0} invites: nobody can ask to join with them any more. Guests in the session stay; Copy Single-Use Invite makes a new one.', revoked));
    }

    protected async showInvite(copyFirst: boolean): Promise<void> {
        const invite = this.sessionService.session?.invite;
        if (!invite) {
            return;
        }
        const copied = copyFirst ? await this.copy(invite.code) : false;
        await new CollaborationInviteDialog({ invite, copied, copy: text => this.copy(text) }).open();
    }

    protected async copy(text: string): Promise<boolean> {
        let written = false;
        const listener = this.clipboard.onDidWriteText?.(value => written = written || value === text);
        try {
            await this.clipboard.writeText(text);
            return listener ? written : true;
        } catch {
            return false;
        } finally {
            listener?.dispose();
        }
    }

    protected async showQuickMenu(): Promise<void> {
        type Item = QuickPickItem & { run?: () => unknown };
        const items: (Item | QuickPickSeparator)[] = [];
        const command = (cmd: Command, args: unknown[] = []): Item => ({
            label: cmd.label!, run: () => this.commands.executeCommand(cmd.id, ...args)
        });
        const session = this.sessionService.session;
        const state = this.sessionService.state;
        if (session) {
            items.push({ type: 'separator', label: nls.localize('collaboration/participants', 'Participants') });
            for (const peer of session.peers) {
                const canManage = session.isHost && peer.id !== session.self.id;
                items.push({ ...peerItem(peer, session), run: canManage ? () => this.managePeer(session, peer) : undefined });
            }
            items.push({ type: 'separator', label: nls.localize('collaboration/session', 'Session') });
            if (session.isHost) {
                items.push(command(CollaborationCommands.COPY_INVITE), command(CollaborationCommands.SHOW_INVITE),
                    command(CollaborationCommands.END_SESSION));
            } else {
                items.push(command(CollaborationCommands.LEAVE_SESSION));
            }
        } else if (state === 'idle') {
            items.push(command(CollaborationCommands.START_SESSION), command(CollaborationCommands.JOIN_SESSION));
        } else {
            items.push(command(CollaborationCommands.CANCEL_JOIN));
        }
        const picked = await this.quickInput.showQuickPick(items, {
            placeholder: nls.localize('collaboration/menuPlaceholder', 'Collaboration')
        }) as Item | undefined;
        await picked?.run?.();
    }

    @inject(CommandRegistry)
    protected readonly commands: CommandRegistry;

    /** Host: change a guest's permission or remove them. */
    protected async managePeer(session: CollaborationSession, peer: Peer): Promise<void> {
        type Action = QuickPickItem & { run: () => Promise<void> };
        const actions: Action[] = [];
        if (peer.permission === 'readwrite') {
            actions.push({ label: nls.localize('collaboration/makeReadOnly', 'Make Read-Only'), run: () => session.setPermission(peer.id, 'readonly') });
        } else {
            actions.push({ label: nls.localize('collaboration/makeReadWrite', 'Allow Editing (Read-Write)'), run: () => session.setPermission(peer.id, 'readwrite') });
        }
        actions.push({ label: nls.localize('collaboration/removePeer', 'Remove from Session'), run: () => session.removePeer(peer.id) });
        const picked = await this.quickInput.showQuickPick(actions, { placeholder: peer.name });
        if (!picked || session.closed) {
            return;
        }
        try {
            await picked.run();
        } catch (error) {
            this.messageService.error(nls.localize('collaboration/error', 'Collaboration: {0}', CollaborationError.from(error).message));
        }
    }

    /** The preference, else the last name used, else the OS user name (USER / USERNAME on the backend), else `fallback`. */
    protected async defaultName(fallback: string): Promise<string> {
        const configured = this.preferences[COLLABORATION_DISPLAY_NAME].trim();
        if (configured && !validateName(configured)) {
            return configured;
        }
        const remembered = (await this.storage.getData<string>(LAST_NAME_KEY))?.trim();
        if (remembered && !validateName(remembered)) {
            return remembered;
        }
        for (const key of ['USER', 'USERNAME', 'LOGNAME']) {
            const value = (await this.envVariables.getValue(key).catch(() => undefined))?.value?.trim();
            if (value && value !== 'root' && !validateName(value)) {
                return value;
            }
        }
        return fallback;
    }

    protected async rememberName(name: string): Promise<void> {
        await this.storage.setData(LAST_NAME_KEY, name);
    }
}

function validateName(name: string): string | undefined {
    return DisplayName.safeParse(name).success ? undefined
        : nls.localize('collaboration/invalidName', 'Display names have 1 to 64 characters.');
}

function validateInvite(invite: string): string | undefined {
    try {
        parseInvite(invite);
        return undefined;
    } catch (error) {
        return CollaborationError.from(error).message;
    }
}

function peerItem(peer: Peer, session: CollaborationSession): QuickPickItem {
    const tags: string[] = [];
    if (peer.role === 'host') {
        tags.push(nls.localize('collaboration/host', 'host'));
    }
    if (peer.id === session.self.id) {
        tags.push(nls.localize('collaboration/you', 'you'));
    }
    tags.push(peer.permission === 'readwrite' ? nls.localize('collaboration/readWrite', 'read-write') : nls.localize('collaboration/readOnly', 'read-only'));
    return {
        label: `$(${peer.role === 'host' ? 'broadcast' : 'account'}) ${peer.name}`,
        description: tags.join(' · '),
        detail: nls.localize('collaboration/fingerprintDetail', 'Key fingerprint {0}', peer.fingerprint)
    };
}
