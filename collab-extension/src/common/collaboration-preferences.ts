import { interfaces } from '@theia/core/shared/inversify';
import { PreferenceContribution, PreferenceProxy, PreferenceSchema, PreferenceService } from '@theia/core/lib/common/preferences';
import { nls } from '@theia/core/lib/common/nls';
import { createUserScopePreferenceProxy, userScopeSchema } from './user-scope-preferences';

export const COLLABORATION_SERVER_URL = 'collaboration.serverUrl';
export const COLLABORATION_DISPLAY_NAME = 'collaboration.displayName';

/** User scope only: collaboration settings never come from workspace files (see user-scope-preferences.ts). */
export const CollaborationConfigSchema: PreferenceSchema = userScopeSchema({
    properties: {
        [COLLABORATION_SERVER_URL]: {
            type: 'string',
            default: '',
            pattern: '^(https?://.*)?$',
            description: nls.localize('collaboration/preferences/serverUrl',
                'URL of the collaboration coordination server, e.g. `https://collab.example.com`. '
                + 'Empty uses the server provided by the Theia backend (`COLLAB_SERVER_URL`, or the server it embeds).')
        },
        [COLLABORATION_DISPLAY_NAME]: {
            type: 'string',
            default: '',
            maxLength: 64,
            description: nls.localize('collaboration/preferences/displayName',
                'Your name as other participants of a collaboration session see it. Empty asks when you start or join a session.')
        }
    }
});

export interface CollaborationConfiguration {
    [COLLABORATION_SERVER_URL]: string;
    [COLLABORATION_DISPLAY_NAME]: string;
}

export const CollaborationPreferenceContribution = Symbol('CollaborationPreferenceContribution');
export const CollaborationPreferences = Symbol('CollaborationPreferences');
export type CollaborationPreferences = PreferenceProxy<CollaborationConfiguration>;

/** The host's user (or default) values only; a workspace or folder value is ignored. */
export function createCollaborationPreferences(preferences: PreferenceService, schema: PreferenceSchema = CollaborationConfigSchema): CollaborationPreferences {
    return createUserScopePreferenceProxy(preferences, schema);
}

export function bindCollaborationPreferences(bind: interfaces.Bind): void {
    bind(CollaborationPreferences).toDynamicValue(ctx => {
        const preferences = ctx.container.get<PreferenceService>(PreferenceService);
        const contribution = ctx.container.get<PreferenceContribution>(CollaborationPreferenceContribution);
        return createCollaborationPreferences(preferences, contribution.schema);
    }).inSingletonScope();
    bind(CollaborationPreferenceContribution).toConstantValue({ schema: CollaborationConfigSchema });
    bind(PreferenceContribution).toService(CollaborationPreferenceContribution);
}
