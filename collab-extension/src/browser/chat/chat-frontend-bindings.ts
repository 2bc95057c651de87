import '../../../src/browser/style/collaboration-chat.css';

import { interfaces } from '@theia/core/shared/inversify';
import { bindViewContribution } from '@theia/core/lib/browser/shell/view-contribution';
import { FrontendApplicationContribution } from '@theia/core/lib/browser/frontend-application-contribution';
import { WidgetFactory } from '@theia/core/lib/browser/widget-manager';
import { TabBarDecorator } from '@theia/core/lib/browser/shell/tab-bar-decorator';
import { CollaborationContribution } from '../collaboration-contribution';
import { CollaborationChatService } from './chat-service';
import { CollaborationChatTabBarDecorator } from './chat-tab-bar-decorator';
import { CollaborationChatViewContribution } from './chat-view-contribution';
import { CollaborationChatWidget } from './chat-widget';

/** Session chat: call from the frontend module. */
export function bindCollaborationChat(bind: interfaces.Bind): void {
    bind(CollaborationChatService).toSelf().inSingletonScope();
    bind(CollaborationContribution).toService(CollaborationChatService);
    bind(CollaborationChatWidget).toSelf();
    bind(WidgetFactory).toDynamicValue(ctx => ({
        id: CollaborationChatWidget.ID,
        createWidget: () => ctx.container.get(CollaborationChatWidget)
    })).inSingletonScope();
    bindViewContribution(bind, CollaborationChatViewContribution);
    bind(FrontendApplicationContribution).toService(CollaborationChatViewContribution);
    bind(CollaborationChatTabBarDecorator).toSelf().inSingletonScope();
    bind(TabBarDecorator).toService(CollaborationChatTabBarDecorator);
}
