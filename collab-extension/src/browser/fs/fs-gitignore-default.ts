import { injectable } from '@theia/core/shared/inversify';
import { PreferenceContribution, PreferenceSchemaService } from '@theia/core/lib/common/preferences';
import { COLLABORATION_EXCLUDE_GIT_IGNORED } from '../../common/fs/fs-preferences';

/**
 * Hosts hide what their `.gitignore` files ignore (and `.git`) from guests unless they say otherwise: a guest
 * should not see `node_modules/` or build output. This makes `true` the default of the host preference
 * `collaboration.excludeGitIgnored` in the frontend, where the sharing settings are read and sent to the backend
 * (`sharingSettings`, for the shared file system and the guests' search alike). A user setting still wins.
 */
@injectable()
export class FsGitIgnoreDefaultContribution implements PreferenceContribution {
    async initSchema(service: PreferenceSchemaService): Promise<void> {
        service.registerOverride(COLLABORATION_EXCLUDE_GIT_IGNORED, undefined, true);
    }
}
