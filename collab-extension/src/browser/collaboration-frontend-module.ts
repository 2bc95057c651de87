import '../../src/browser/style/collaboration.css';

import { ContainerModule } from '@theia/core/shared/inversify';
import { bindRootContributionProvider } from '@theia/core/lib/common/contribution-provider';
import { CommandContribution } from '@theia/core/lib/common/command';
import { MenuContribution } from '@theia/core/lib/common/menu';
import { FrontendApplicationContribution } from '@theia/core/lib/browser/frontend-application-contribution';
import { ServiceConnectionProvider } from '@theia/core/lib/browser/messaging/service-connection-provider';
import { CollaborationContribution } from './collaboration-contribution';
import { CollaborationSessionService } from './collaboration-session-service';
import { CollaborationSessionServiceImpl } from './collaboration-session-service-impl';
import { CollaborationFrontendContribution } from './collaboration-frontend-contribution';
import { CollaborationLoginService, CollaborationLoginServiceImpl } from './collaboration-login-service';
import { CollaborationJoinRequestHandler } from './collaboration-join-request-handler';
import { CollaborationStatusBarContribution } from './collaboration-status-bar-contribution';
import { CollaborationPeerNotifier } from './collaboration-peer-notifier';
import { bindCollaborationPreferences } from '../common/collaboration-preferences';
import { CollaborationServerConfigService, CollaborationServerConfigServicePath } from '../common/collaboration-server-config';
import { bindCollaborationTerminal } from './terminal/terminal-frontend-bindings';
import { bindCollaborationChat } from './chat/chat-frontend-bindings';
import { bindCollaborationFileSystem } from './fs/fs-frontend-bindings';
import { bindCollaborationEditor } from './editor/editor-bindings';
import { bindCollaborationFollow } from './follow/follow-bindings';
import { bindCollaborationParticipants } from './participants/participants-bindings';
import { bindCollaborationPorts } from './ports/port-frontend-bindings';
import { bindCollaborationLanguage } from './language/language-bindings';
import { bindCollaborationDebug } from './debug/debug-bindings';
import { bindCollaborationSearch } from './search/search-frontend-bindings';

export default new ContainerModule((bind, _unbind, _isBound, rebind) => {
    // The extension point: features and other extensions `bind(CollaborationContribution).to(...)`.
    bindRootContributionProvider(bind, CollaborationContribution);

    bindCollaborationPreferences(bind);
    bind(CollaborationServerConfigService).toDynamicValue(ctx =>
        ServiceConnectionProvider.createProxy<CollaborationServerConfigService>(ctx.container, CollaborationServerConfigServicePath)
    ).inSingletonScope();

    bind(CollaborationSessionServiceImpl).toSelf().inSingletonScope();
    bind(CollaborationSessionService).toService(CollaborationSessionServiceImpl);
    bind(FrontendApplicationContribution).toService(CollaborationSessionServiceImpl);

    bind(CollaborationLoginService).to(CollaborationLoginServiceImpl).inSingletonScope();
    bind(CollaborationFrontendContribution).toSelf().inSingletonScope();
    bind(CommandContribution).toService(CollaborationFrontendContribution);
    bind(MenuContribution).toService(CollaborationFrontendContribution);

    bind(CollaborationStatusBarContribution).toSelf().inSingletonScope();
    bind(FrontendApplicationContribution).toService(CollaborationStatusBarContribution);

    bind(CollaborationPeerNotifier).toSelf().inSingletonScope();
    bind(CollaborationContribution).toService(CollaborationPeerNotifier);
    bind(FrontendApplicationContribution).toService(CollaborationPeerNotifier);

    bind(CollaborationJoinRequestHandler).toSelf().inSingletonScope();
    bind(CollaborationContribution).toService(CollaborationJoinRequestHandler);

    // ---- Features: each feature folder exports `bindXxx(bind)`; add one line per feature here. ----
    bindCollaborationTerminal(bind);
    bindCollaborationChat(bind);
    bindCollaborationFileSystem(bind, rebind);
    bindCollaborationEditor(bind);
    bindCollaborationFollow(bind);
    bindCollaborationParticipants(bind);
    bindCollaborationPorts(bind);
    bindCollaborationLanguage(bind);
    bindCollaborationDebug(bind);
    bindCollaborationSearch(bind, rebind);
    // ---- end of features ----
});
