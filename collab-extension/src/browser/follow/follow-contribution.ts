import { inject, injectable, postConstruct } from '@theia/core/shared/inversify';
import { Command, CommandContribution, CommandRegistry } from '@theia/core/lib/common/command';
import { MessageService } from '@theia/core/lib/common/message-service';
import { nls } from '@theia/core/lib/common/nls';
import { QuickInputService } from '@theia/core/lib/common/quick-pick-service';
import { FrontendApplicationContribution } from '@theia/core/lib/browser/frontend-application-contribution';
import { StatusBar, StatusBarAlignment } from '@theia/core/lib/browser/status-bar/status-bar';
import { CollaborationError } from '@theia-collab/protocol/lib/errors';
import { EditorCollaborationService } from '../editor/editor-collaboration-service';
import { FollowService } from './follow-service';

export namespace FollowCommands {
    const CATEGORY = 'Collaboration';
    export const FOLLOW = Command.toLocalizedCommand({
        id: 'collaboration.follow', label: 'Follow Participant...', category: CATEGORY
    }, 'collaboration/followParticipant', 'collaboration/category');
    export const UNFOLLOW = Command.toLocalizedCommand({
        id: 'collaboration.unfollow', label: 'Stop Following', category: CATEGORY
    }, 'collaboration/unfollow', 'collaboration/category');
    export const FOCUS_PARTICIPANTS = Command.toLocalizedCommand({
        id: 'collaboration.focusParticipants', label: 'Focus Participants (Everyone Follows Me)', category: CATEGORY
    }, 'collaboration/focusParticipants', 'collaboration/category');
    export const START_PRESENTING = Command.toLocalizedCommand({
        id: 'collaboration.startPresenting', label: 'Start Presenting', category: CATEGORY
    }, 'collaboration/startPresenting', 'collaboration/category');
    export const OFFER_PRESENTER = Command.toLocalizedCommand({
        id: 'collaboration.offerPresenter', label: 'Offer Presenter Role...', category: CATEGORY
    }, 'collaboration/offerPresenter', 'collaboration/category');
    export const STOP_PRESENTING = Command.toLocalizedCommand({
        id: 'collaboration.stopPresenting', label: 'Stop Presenting', category: CATEGORY
    }, 'collaboration/stopPresenting', 'collaboration/category');
}

const STATUS_ID = 'collaboration-following';

/** Follow commands and the "Following <name>" status bar entry. */
@injectable()
export class FollowContribution implements CommandContribution, FrontendApplicationContribution {

    @inject(FollowService)
    protected readonly follow: FollowService;

    @inject(EditorCollaborationService)
    protected readonly service: EditorCollaborationService;

    @inject(StatusBar)
    protected readonly statusBar: StatusBar;

    @inject(QuickInputService)
    protected readonly quickInput: QuickInputService;

    @inject(MessageService)
    protected readonly messageService: MessageService;

    @postConstruct()
    protected init(): void {
        this.follow.onDidChange(() => this.updateStatus());
    }

    onStart(): void {
        this.updateStatus();
    }

    registerCommands(commands: CommandRegistry): void {
        // Hidden outside a session (and in menus when they do not apply); a participant argument is optional,
        // without one (menu, palette) a quick pick asks whom.
        const withOthers = () => !!this.service.current && this.service.current.session.peers.length > 1;
        commands.registerCommand(FollowCommands.FOLLOW, {
            isEnabled: withOthers,
            isVisible: withOthers,
            execute: (peerId?: unknown) => this.run(async () => {
                const target = typeof peerId === 'string' ? peerId : await this.pickPeer(nls.localize('collaboration/follow/pick', 'Whom do you want to follow?'));
                if (target) {
                    this.follow.follow(target);
                }
            })
        });
        commands.registerCommand(FollowCommands.UNFOLLOW, {
            isEnabled: () => this.follow.following !== undefined,
            isVisible: () => this.follow.following !== undefined,
            execute: () => this.follow.unfollow()
        });
        commands.registerCommand(FollowCommands.FOCUS_PARTICIPANTS, {
            isEnabled: () => withOthers() && this.follow.canFocus(),
            isVisible: () => withOthers() && this.follow.canFocus(),
            execute: () => this.run(() => this.follow.focusParticipants())
        });
        commands.registerCommand(FollowCommands.START_PRESENTING, {
            isEnabled: () => withOthers() && this.follow.canStartPresenting(),
            isVisible: () => withOthers() && this.follow.canStartPresenting(),
            execute: () => this.run(() => this.follow.becomePresenter())
        });
        commands.registerCommand(FollowCommands.OFFER_PRESENTER, {
            isEnabled: () => withOthers() && this.follow.canOfferPresenter(),
            isVisible: () => withOthers() && this.follow.canOfferPresenter(),
            execute: (peerId?: unknown) => this.run(async () => {
                const target = typeof peerId === 'string' ? peerId : await this.pickPeer(nls.localize('collaboration/follow/pickPresenter', 'Who should present?'));
                if (target) {
                    await this.follow.offerPresenter(target);
                }
            })
        });
        commands.registerCommand(FollowCommands.STOP_PRESENTING, {
            isEnabled: () => this.follow.canStopPresenting(),
            isVisible: () => this.follow.canStopPresenting(),
            execute: () => this.run(() => this.follow.stopPresenting())
        });
    }

    protected async run(action: () => Promise<void>): Promise<void> {
        try {
            await action();
        } catch (error) {
            this.messageService.error(CollaborationError.from(error).message);
        }
    }

    protected async pickPeer(title: string): Promise<string | undefined> {
        const session = this.service.current?.session;
        if (!session) {
            return undefined;
        }
        const items = session.peers.filter(peer => peer.id !== session.self.id).map(peer => ({
            label: peer.name,
            description: peer.role === 'host' ? nls.localize('collaboration/host', 'host') : undefined,
            id: peer.id
        }));
        const picked = await this.quickInput.showQuickPick(items, { placeholder: title });
        return picked?.id;
    }

    protected updateStatus(): void {
        const peer = this.follow.followedPeer;
        if (!peer) {
            this.statusBar.removeElement(STATUS_ID);
            return;
        }
        this.statusBar.setElement(STATUS_ID, {
            text: `$(eye) ${nls.localize('collaboration/follow/status', 'Following {0}', peer.name)}`,
            tooltip: nls.localize('collaboration/follow/statusTooltip', 'Click to stop following'),
            alignment: StatusBarAlignment.LEFT,
            priority: 90,
            className: 'collaboration-following',
            command: FollowCommands.UNFOLLOW.id
        });
    }
}
