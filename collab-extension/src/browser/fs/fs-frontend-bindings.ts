import { interfaces } from '@theia/core/shared/inversify';
import { CommandContribution } from '@theia/core/lib/common/command';
import { ServiceConnectionProvider } from '@theia/core/lib/browser/messaging/service-connection-provider';
import { WorkspaceService } from '@theia/workspace/lib/browser/workspace-service';
import { CollaborationContribution } from '../collaboration-contribution';
import { bindCollaborationFsPreferences } from '../../common/fs/fs-preferences';
import { HOST_FILE_SYSTEM_PATH, HostFileSystemService } from '../../common/fs/host-file-system-protocol';
import { CollaborationWorkspaceService } from './collaboration-workspace-service';
import { FsGuestContribution } from './fs-guest-contribution';
import { FsHostContribution } from './fs-host-contribution';
import { ParticipantCommandsContribution } from './participant-commands-contribution';
import { FsGitIgnoreDefaultContribution } from './fs-gitignore-default';
import { PreferenceContribution } from '@theia/core/lib/common/preferences';

/**
 * Frontend half of the shared workspace. With `rebind`, the WorkspaceService is replaced so a guest's
 * navigator can show the host's roots without a page reload.
 */
export function bindCollaborationFileSystem(bind: interfaces.Bind, rebind?: interfaces.Rebind): void {
    bindCollaborationFsPreferences(bind);
    bind(FsGitIgnoreDefaultContribution).toSelf().inSingletonScope();
    bind(PreferenceContribution).toService(FsGitIgnoreDefaultContribution);
    bind(HostFileSystemService).toDynamicValue(ctx =>
        ServiceConnectionProvider.createProxy<HostFileSystemService>(ctx.container, HOST_FILE_SYSTEM_PATH)
    ).inSingletonScope();

    bind(FsHostContribution).toSelf().inSingletonScope();
    bind(CollaborationContribution).toService(FsHostContribution);
    bind(FsGuestContribution).toSelf().inSingletonScope();
    bind(CollaborationContribution).toService(FsGuestContribution);

    if (rebind) {
        bind(CollaborationWorkspaceService).toSelf().inSingletonScope();
        rebind(WorkspaceService).toService(CollaborationWorkspaceService);
    }

    bind(ParticipantCommandsContribution).toSelf().inSingletonScope();
    bind(CommandContribution).toService(ParticipantCommandsContribution);
}
