/** Wiring only: the feature is a CollaborationContribution, its user interface a CommandContribution. */
import { ContainerModule } from '@theia/core/shared/inversify';
import { CommandContribution } from '@theia/core/lib/common/command';
import { CollaborationContribution } from '@theia-collab/extension/lib/browser';
import { PollCommandContribution } from './poll-commands';
import { PollContribution } from './poll-contribution';

export default new ContainerModule(bind => {
    bind(PollContribution).toSelf().inSingletonScope();
    bind(CollaborationContribution).toService(PollContribution);
    bind(PollCommandContribution).toSelf().inSingletonScope();
    bind(CommandContribution).toService(PollCommandContribution);
});
