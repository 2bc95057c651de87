import '../../../src/browser/style/collaboration-terminal.css';

import { interfaces } from '@theia/core/shared/inversify';
import { CommandContribution } from '@theia/core/lib/common/command';
import { MenuContribution } from '@theia/core/lib/common/menu';
import { CollaborationContribution } from '../collaboration-contribution';
import { bindGuestTerminalWidget } from './guest-terminal-widget';
import { bindCollaborationTerminalPreferences } from './terminal-preferences';
import { CollaborationTerminalContribution } from './terminal-share-contribution';
import { CollaborationTerminalService } from './terminal-share-service';

/** Shared terminals: call from the frontend module. */
export function bindCollaborationTerminal(bind: interfaces.Bind): void {
    bindCollaborationTerminalPreferences(bind);
    bindGuestTerminalWidget(bind);
    bind(CollaborationTerminalService).toSelf().inSingletonScope();
    bind(CollaborationContribution).toService(CollaborationTerminalService);
    bind(CollaborationTerminalContribution).toSelf().inSingletonScope();
    bind(CommandContribution).toService(CollaborationTerminalContribution);
    bind(MenuContribution).toService(CollaborationTerminalContribution);
}
