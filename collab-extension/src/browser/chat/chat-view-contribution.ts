import { inject, injectable } from '@theia/core/shared/inversify';
import { AbstractViewContribution } from '@theia/core/lib/browser/shell/view-contribution';
import { FrontendApplicationContribution } from '@theia/core/lib/browser/frontend-application-contribution';
import { MessageService } from '@theia/core/lib/common/message-service';
import { nls } from '@theia/core/lib/common/nls';
import { CollaborationSessionService } from '../collaboration-session-service';
import { ChatMessage } from '../../common/chat/chat-protocol';
import { CollaborationChatService } from './chat-service';
import { CollaborationChatWidget } from './chat-widget';

export const CHAT_TOGGLE_COMMAND_ID = 'collaboration.chat.toggle';
/** Characters of a message shown in its notification. */
const PREVIEW_LENGTH = 120;

/** Markdown (what notifications render) would turn `*x*` or `[a](b)` into markup: escape it, keep it text. */
export function escapeMarkdown(text: string): string {
    return text.replace(/[\\`*_{}\[\]()<>#+\-.!|~]/g, character => `\\${character}`);
}

@injectable()
export class CollaborationChatViewContribution extends AbstractViewContribution<CollaborationChatWidget> implements FrontendApplicationContribution {

    @inject(CollaborationChatService) protected readonly chat: CollaborationChatService;
    @inject(CollaborationSessionService) protected readonly sessions: CollaborationSessionService;
    @inject(MessageService) protected readonly messageService: MessageService;

    constructor() {
        super({
            widgetId: CollaborationChatWidget.ID,
            widgetName: CollaborationChatWidget.LABEL,
            defaultWidgetOptions: { area: 'right', rank: 600 },
            toggleCommandId: CHAT_TOGGLE_COMMAND_ID
        });
    }

    onStart(): void {
        this.chat.onDidReceive(message => this.notify(message));
        this.sessions.onDidChangeSession(session => {
            if (session) {
                // The tab shows up (with its unread badge) without taking the sidebar from what is open there.
                this.openView({ activate: false, reveal: false }).catch(error => console.warn('collaboration: could not add the chat view', error));
            }
        });
    }

    /** Whether a chat toast shows now: at most one at a time, so toasts never pile up over the chat or the editor. */
    protected toastShowing = false;

    /**
     * A toast only while the chat view is not visible (when it is, the message shows there and a toast would
     * cover its input), and one at a time: later messages wait in the view, counted by its unread badge.
     */
    protected async notify(message: ChatMessage): Promise<void> {
        const widget = this.tryGetWidget();
        if (widget?.isVisible || this.toastShowing) {
            return;
        }
        const text = message.text.replace(/\s+/g, ' ').trim();
        const preview = text.length > PREVIEW_LENGTH ? text.slice(0, PREVIEW_LENGTH) + '…' : text;
        const open = nls.localize('collaboration/chat/openAction', 'Open Chat');
        this.toastShowing = true;
        let answer: string | undefined;
        try {
            answer = await this.messageService.info(`${escapeMarkdown(message.authorName)}: ${escapeMarkdown(preview)}`, { timeout: 6000 }, open);
        } finally {
            this.toastShowing = false;
        }
        if (answer === open) {
            await this.openView({ activate: true, reveal: true });
        }
    }
}
