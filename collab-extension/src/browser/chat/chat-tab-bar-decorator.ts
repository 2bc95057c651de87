import { inject, injectable, postConstruct } from '@theia/core/shared/inversify';
import { Title, Widget } from '@theia/core/shared/@lumino/widgets';
import { TabBarDecorator } from '@theia/core/lib/browser/shell/tab-bar-decorator';
import { WidgetDecoration } from '@theia/core/lib/browser/widget-decoration';
import { Emitter, Event } from '@theia/core/lib/common/event';
import { CollaborationChatService } from './chat-service';
import { CollaborationChatWidget } from './chat-widget';

/** The unread count as a badge on the chat view's tab. */
@injectable()
export class CollaborationChatTabBarDecorator implements TabBarDecorator {
    readonly id = 'collaboration-chat-unread';

    @inject(CollaborationChatService) protected readonly chat: CollaborationChatService;

    protected readonly onDidChangeDecorationsEmitter = new Emitter<void>();
    readonly onDidChangeDecorations: Event<void> = this.onDidChangeDecorationsEmitter.event;
    protected lastUnread = 0;

    @postConstruct()
    protected init(): void {
        this.chat.onDidChange(() => {
            if (this.chat.unread !== this.lastUnread) {
                this.lastUnread = this.chat.unread;
                this.onDidChangeDecorationsEmitter.fire();
            }
        });
    }

    decorate(title: Title<Widget>): WidgetDecoration.Data[] {
        if (title.owner instanceof CollaborationChatWidget && this.chat.unread > 0) {
            return [{ badge: this.chat.unread }];
        }
        return [];
    }
}
