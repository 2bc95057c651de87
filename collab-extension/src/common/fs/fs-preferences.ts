import { interfaces } from '@theia/core/shared/inversify';
import { createPreferenceProxy, PreferenceContribution, PreferenceProxy, PreferenceSchema, PreferenceService } from '@theia/core/lib/common/preferences';
import { nls } from '@theia/core/lib/common/nls';
import { DEFAULT_EXCLUDED_FILES } from './host-file-system-protocol';

export const COLLABORATION_EXCLUDE_FILES = 'collaboration.excludeFiles';
export const COLLABORATION_EXCLUDE_GIT_IGNORED = 'collaboration.excludeGitIgnored';

export const CollaborationFsPreferenceSchema: PreferenceSchema = {
    properties: {
        [COLLABORATION_EXCLUDE_FILES]: {
            type: 'array',
            items: { type: 'string', maxLength: 1024 },
            maxItems: 1000,
            default: [...DEFAULT_EXCLUDED_FILES],
            description: nls.localize('collaboration/preferences/excludeFiles',
                'Glob patterns, relative to each workspace folder, of files you never share while hosting. Guests can neither see, read nor '
                + 'change them, and cannot delete, move or copy folders that contain them.')
        },
        [COLLABORATION_EXCLUDE_GIT_IGNORED]: {
            type: 'boolean',
            default: false,
            description: nls.localize('collaboration/preferences/excludeGitIgnored',
                'Also hide from guests what the `.gitignore` files of your workspace folders ignore, and `.git` folders.')
        }
    }
};

export interface CollaborationFsConfiguration {
    [COLLABORATION_EXCLUDE_FILES]: string[];
    [COLLABORATION_EXCLUDE_GIT_IGNORED]: boolean;
}

export const CollaborationFsPreferenceContribution = Symbol('CollaborationFsPreferenceContribution');
export const CollaborationFsPreferences = Symbol('CollaborationFsPreferences');
export type CollaborationFsPreferences = PreferenceProxy<CollaborationFsConfiguration>;

export function bindCollaborationFsPreferences(bind: interfaces.Bind): void {
    bind(CollaborationFsPreferences).toDynamicValue(ctx => {
        const preferences = ctx.container.get<PreferenceService>(PreferenceService);
        const contribution = ctx.container.get<PreferenceContribution>(CollaborationFsPreferenceContribution);
        return createPreferenceProxy<CollaborationFsConfiguration>(preferences, contribution.schema ?? CollaborationFsPreferenceSchema);
    }).inSingletonScope();
    bind(CollaborationFsPreferenceContribution).toConstantValue({ schema: CollaborationFsPreferenceSchema });
    bind(PreferenceContribution).toService(CollaborationFsPreferenceContribution);
}
