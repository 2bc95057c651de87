import { interfaces } from '@theia/core/shared/inversify';
import { CommandContribution } from '@theia/core/lib/common/command';
import { FrontendApplicationContribution } from '@theia/core/lib/browser/frontend-application-contribution';
import { FollowContribution } from './follow-contribution';
import { FollowService } from './follow-service';

/** Follow mode and presenting, on top of co-editing (it needs the editor feature). */
export function bindCollaborationFollow(bind: interfaces.Bind): void {
    bind(FollowService).toSelf().inSingletonScope();
    bind(FrontendApplicationContribution).toService(FollowService);
    bind(FollowContribution).toSelf().inSingletonScope();
    bind(CommandContribution).toService(FollowContribution);
    bind(FrontendApplicationContribution).toService(FollowContribution);
}
