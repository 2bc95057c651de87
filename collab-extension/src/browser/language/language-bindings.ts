import { interfaces } from '@theia/core/shared/inversify';
import { CollaborationContribution } from '../collaboration-contribution';
import { LanguageGuestContribution } from './language-guest-contribution';
import { LanguageHostContribution } from './language-host-contribution';
import { HostPathMapperProvider } from './language-path-mapper';

/** The host's language services and diagnostics for guests' `collab:` documents. */
export function bindCollaborationLanguage(bind: interfaces.Bind): void {
    bind(HostPathMapperProvider).toSelf().inSingletonScope();
    bind(LanguageHostContribution).toSelf().inSingletonScope();
    bind(CollaborationContribution).toService(LanguageHostContribution);
    bind(LanguageGuestContribution).toSelf().inSingletonScope();
    bind(CollaborationContribution).toService(LanguageGuestContribution);
}
