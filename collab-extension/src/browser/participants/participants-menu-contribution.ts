import { injectable } from '@theia/core/shared/inversify';
import { MenuContribution, MenuModelRegistry } from '@theia/core/lib/common/menu';
import { nls } from '@theia/core/lib/common/nls';
import { CollaborationMenus } from '../collaboration-frontend-contribution';
import { FollowCommands } from '../follow/follow-contribution';
import { ParticipantCommands } from '../fs/participant-commands-contribution';

export namespace ParticipantsMenus {
    /** **Collaborate > Participants**, after the session, invite and feature groups. */
    export const PARTICIPANTS = [...CollaborationMenus.COLLABORATE, '4_participants'];
    export const FOLLOW = [...PARTICIPANTS, '1_follow'];
    export const PRESENT = [...PARTICIPANTS, '2_present'];
    /** Host only: permission and removal. */
    export const MANAGE = [...PARTICIPANTS, '3_manage'];
}

/**
 * The participant actions of the status bar's quick menu and the Participants view, in the Collaborate menu.
 * The commands decide visibility (in a session, host-only actions for the host, so the submenu is hidden
 * outside a session) and, without a participant argument as from a menu, ask whom with a quick pick.
 */
@injectable()
export class ParticipantsMenuContribution implements MenuContribution {

    registerMenus(menus: MenuModelRegistry): void {
        menus.registerSubmenu(ParticipantsMenus.PARTICIPANTS, nls.localize('collaboration/participants', 'Participants'));
        menus.registerMenuAction(ParticipantsMenus.FOLLOW, { commandId: FollowCommands.FOLLOW.id, order: '1' });
        menus.registerMenuAction(ParticipantsMenus.FOLLOW, { commandId: FollowCommands.UNFOLLOW.id, order: '2' });
        menus.registerMenuAction(ParticipantsMenus.PRESENT, { commandId: FollowCommands.START_PRESENTING.id, order: '1' });
        menus.registerMenuAction(ParticipantsMenus.PRESENT, { commandId: FollowCommands.OFFER_PRESENTER.id, order: '2' });
        menus.registerMenuAction(ParticipantsMenus.PRESENT, { commandId: FollowCommands.STOP_PRESENTING.id, order: '3' });
        menus.registerMenuAction(ParticipantsMenus.PRESENT, { commandId: FollowCommands.FOCUS_PARTICIPANTS.id, order: '4' });
        menus.registerMenuAction(ParticipantsMenus.MANAGE, { commandId: ParticipantCommands.CHANGE_PERMISSION.id, order: '1' });
        menus.registerMenuAction(ParticipantsMenus.MANAGE, { commandId: ParticipantCommands.REMOVE_PARTICIPANT.id, order: '2' });
    }
}
