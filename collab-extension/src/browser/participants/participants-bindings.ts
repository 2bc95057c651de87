import '../../../src/browser/participants/style/participants.css';

import { interfaces } from '@theia/core/shared/inversify';
import { WidgetFactory } from '@theia/core/lib/browser/widget-manager';
import { bindViewContribution } from '@theia/core/lib/browser/shell/view-contribution';
import { FrontendApplicationContribution } from '@theia/core/lib/browser/frontend-application-contribution';
import { MenuContribution } from '@theia/core/lib/common/menu';
import { ParticipantsMenuContribution } from './participants-menu-contribution';
import { ParticipantsViewContribution } from './participants-view-contribution';
import { ParticipantsWidget } from './participants-widget';

/** The Participants view and the Collaborate > Participants menu (needs `bindCollaborationEditor` and the fs bindings' participant commands). */
export function bindCollaborationParticipants(bind: interfaces.Bind): void {
    bind(ParticipantsWidget).toSelf();
    bind(WidgetFactory).toDynamicValue(ctx => ({
        id: ParticipantsWidget.ID,
        createWidget: () => ctx.container.get(ParticipantsWidget)
    })).inSingletonScope();
    bindViewContribution(bind, ParticipantsViewContribution);
    bind(FrontendApplicationContribution).toService(ParticipantsViewContribution);
    bind(ParticipantsMenuContribution).toSelf().inSingletonScope();
    bind(MenuContribution).toService(ParticipantsMenuContribution);
}
