import { interfaces } from '@theia/core/shared/inversify';
import { PreferenceContribution, PreferenceSchema } from '@theia/core/lib/common/preferences';
import { nls } from '@theia/core/lib/common/nls';
import { TerminalLimits } from '../../common/terminal/terminal-protocol';

export const TERMINAL_SCROLLBACK_KB = 'collaboration.terminal.scrollbackKB';

export const CollaborationTerminalConfigSchema: PreferenceSchema = {
    properties: {
        [TERMINAL_SCROLLBACK_KB]: {
            type: 'integer',
            default: TerminalLimits.defaultScrollbackKB,
            minimum: 0,
            maximum: TerminalLimits.maxScrollbackKB,
            description: nls.localize('collaboration/terminal/scrollbackKB',
                'How much of a shared terminal\'s recent output (in KB) the host keeps for participants who join later.')
        }
    }
};

export const CollaborationTerminalPreferenceContribution = Symbol('CollaborationTerminalPreferenceContribution');

export function bindCollaborationTerminalPreferences(bind: interfaces.Bind): void {
    bind(CollaborationTerminalPreferenceContribution).toConstantValue({ schema: CollaborationTerminalConfigSchema });
    bind(PreferenceContribution).toService(CollaborationTerminalPreferenceContribution);
}

/** The preference value as bytes, clamped to what a snapshot may carry. */
export function scrollbackBytes(value: unknown): number {
    const kb = typeof value === 'number' && Number.isFinite(value) ? value : TerminalLimits.defaultScrollbackKB;
    return Math.round(Math.min(TerminalLimits.maxScrollbackKB, Math.max(0, kb)) * 1024);
}
