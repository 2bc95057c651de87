import { injectable, inject, postConstruct } from '@theia/core/shared/inversify';
import { AbstractViewContribution } from '@theia/core/lib/browser/shell/view-contribution';
import { FrontendApplicationContribution } from '@theia/core/lib/browser/frontend-application-contribution';
import { EditorCollaborationService } from '../editor/editor-collaboration-service';
import { ParticipantsWidget } from './participants-widget';

export const PARTICIPANTS_TOGGLE_COMMAND_ID = 'collaboration.participants.toggle';

/** The Participants view in the left side bar; its tab appears when a session starts (without taking focus). */
@injectable()
export class ParticipantsViewContribution extends AbstractViewContribution<ParticipantsWidget> implements FrontendApplicationContribution {

    @inject(EditorCollaborationService)
    protected readonly service: EditorCollaborationService;

    constructor() {
        super({
            widgetId: ParticipantsWidget.ID,
            widgetName: ParticipantsWidget.LABEL,
            defaultWidgetOptions: { area: 'left', rank: 600 },
            toggleCommandId: PARTICIPANTS_TOGGLE_COMMAND_ID
        });
    }

    onStart(): void {
        // Constructed at start-up so it opens with the first session.
    }

    @postConstruct()
    protected init(): void {
        this.service.onDidChangeSession(context => {
            if (context) {
                this.openView({ activate: false, reveal: false }).catch(() => undefined);
            }
        });
    }
}
