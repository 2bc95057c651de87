import '../../../src/browser/participants/style/participants.css';

import { interfaces } from '@theia/core/shared/inversify';
import { WidgetFactory } from '@theia/core/lib/browser/widget-manager';
import { bindViewContribution } from '@theia/core/lib/browser/shell/view-contribution';
import { FrontendApplicationContribution } from '@theia/core/lib/browser/frontend-application-contribution';
import { ParticipantsViewContribution } from './participants-view-contribution';
import { ParticipantsWidget } from './participants-widget';

/** The Participants view (needs `bindCollaborationEditor`). */
export function bindCollaborationParticipants(bind: interfaces.Bind): void {
    bind(ParticipantsWidget).toSelf();
    bind(WidgetFactory).toDynamicValue(ctx => ({
        id: ParticipantsWidget.ID,
        createWidget: () => ctx.container.get(ParticipantsWidget)
    })).inSingletonScope();
    bindViewContribution(bind, ParticipantsViewContribution);
    bind(FrontendApplicationContribution).toService(ParticipantsViewContribution);
}
