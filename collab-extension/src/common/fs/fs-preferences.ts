import { interfaces } from '@theia/core/shared/inversify';
import { PreferenceContribution, PreferenceProxy, PreferenceSchema, PreferenceService } from '@theia/core/lib/common/preferences';
import { nls } from '@theia/core/lib/common/nls';
import { createUserScopePreferenceProxy, userScopeSchema } from '../user-scope-preferences';
import { DEFAULT_EXCLUDED_FILES, DEFAULT_READ_ONLY_FILES } from './host-file-system-protocol';

export const COLLABORATION_EXCLUDE_FILES = 'collaboration.excludeFiles';
export const COLLABORATION_EXCLUDE_GIT_IGNORED = 'collaboration.excludeGitIgnored';
export const COLLABORATION_READ_ONLY_FILES = 'collaboration.readOnlyFiles';

/**
 * What the host shares and how. User scope only: these settings are read from the host's user settings (or the
 * defaults), never from workspace or folder settings, which a read-write guest could write.
 */
export const CollaborationFsPreferenceSchema: PreferenceSchema = userScopeSchema({
    properties: {
        [COLLABORATION_EXCLUDE_FILES]: {
            type: 'array',
            items: { type: 'string', maxLength: 1024 },
            maxItems: 1000,
            default: [...DEFAULT_EXCLUDED_FILES],
            description: nls.localize('collaboration/preferences/excludeFiles',
                'Glob patterns, relative to each workspace folder, of files you never share while hosting. Guests can neither see, read nor '
                + 'change them, and cannot delete, move or copy folders that contain them. Only your user settings count, never workspace settings.')
        },
        [COLLABORATION_EXCLUDE_GIT_IGNORED]: {
            type: 'boolean',
            default: false,
            description: nls.localize('collaboration/preferences/excludeGitIgnored',
                'Also hide from guests what the `.gitignore` files of your workspace folders ignore, and `.git` folders.')
        },
        [COLLABORATION_READ_ONLY_FILES]: {
            type: 'array',
            items: { type: 'string', maxLength: 1024 },
            maxItems: 1000,
            default: [...DEFAULT_READ_ONLY_FILES],
            description: nls.localize('collaboration/preferences/readOnlyFiles',
                'Glob patterns, relative to each workspace folder, of files guests may read but never change, create, delete or move while '
                + 'you host: by default the configuration your tools run as code (git hooks, tasks, launch configurations, settings). '
                + 'Only your user settings count, never workspace settings.')
        }
    }
});

export interface CollaborationFsConfiguration {
    [COLLABORATION_EXCLUDE_FILES]: string[];
    [COLLABORATION_EXCLUDE_GIT_IGNORED]: boolean;
    [COLLABORATION_READ_ONLY_FILES]: string[];
}

export const CollaborationFsPreferenceContribution = Symbol('CollaborationFsPreferenceContribution');
export const CollaborationFsPreferences = Symbol('CollaborationFsPreferences');
export type CollaborationFsPreferences = PreferenceProxy<CollaborationFsConfiguration>;

/** The sharing settings the host's backend is configured with: user or default values only, malformed ones replaced by the defaults. */
export function sharingSettings(preferences: Readonly<CollaborationFsConfiguration>): { exclude: string[]; excludeGitIgnored: boolean; readOnly: string[] } {
    const strings = (value: unknown, fallback: readonly string[]): string[] =>
        Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [...fallback];
    return {
        exclude: strings(preferences[COLLABORATION_EXCLUDE_FILES], DEFAULT_EXCLUDED_FILES),
        excludeGitIgnored: preferences[COLLABORATION_EXCLUDE_GIT_IGNORED] === true,
        readOnly: strings(preferences[COLLABORATION_READ_ONLY_FILES], DEFAULT_READ_ONLY_FILES)
    };
}

export function bindCollaborationFsPreferences(bind: interfaces.Bind): void {
    bind(CollaborationFsPreferences).toDynamicValue(ctx => {
        const preferences = ctx.container.get<PreferenceService>(PreferenceService);
        const contribution = ctx.container.get<PreferenceContribution>(CollaborationFsPreferenceContribution);
        return createUserScopePreferenceProxy<CollaborationFsConfiguration>(preferences, contribution.schema ?? CollaborationFsPreferenceSchema);
    }).inSingletonScope();
    bind(CollaborationFsPreferenceContribution).toConstantValue({ schema: CollaborationFsPreferenceSchema });
    bind(PreferenceContribution).toService(CollaborationFsPreferenceContribution);
}
