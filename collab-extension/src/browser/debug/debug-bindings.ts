import { interfaces } from '@theia/core/shared/inversify';
import { CommandContribution } from '@theia/core/lib/common/command';
import { KeybindingContribution } from '@theia/core/lib/browser/keybinding';
import { CollaborationContribution } from '../collaboration-contribution';
import { DebugBreakpointContribution } from './debug-breakpoint-contribution';
import { DebugGuestService } from './debug-guest-service';
import { DebugSessionContribution } from './debug-session-contribution';

/** Debugging together: shared breakpoints, the host's debug position for guests, continue/step from guests. */
export function bindCollaborationDebug(bind: interfaces.Bind): void {
    bind(DebugBreakpointContribution).toSelf().inSingletonScope();
    bind(CollaborationContribution).toService(DebugBreakpointContribution);
    bind(DebugGuestService).toSelf().inSingletonScope();
    bind(CommandContribution).toService(DebugGuestService);
    bind(KeybindingContribution).toService(DebugGuestService);
    bind(DebugSessionContribution).toSelf().inSingletonScope();
    bind(CollaborationContribution).toService(DebugSessionContribution);
}
