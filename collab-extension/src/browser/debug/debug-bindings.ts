import { interfaces } from '@theia/core/shared/inversify';
import { CollaborationContribution } from '../collaboration-contribution';
import { DebugBreakpointContribution } from './debug-breakpoint-contribution';

/** Debugging together: the host's breakpoints are shared with guests. */
export function bindCollaborationDebug(bind: interfaces.Bind): void {
    bind(DebugBreakpointContribution).toSelf().inSingletonScope();
    bind(CollaborationContribution).toService(DebugBreakpointContribution);
}
