import { CollaborationSession } from '@theia-collab/protocol';
import { Event } from '@theia/core/lib/common/event';

export type SessionState = 'idle' | 'connecting' | 'waiting-for-approval' | 'connected' | 'reconnecting';

/** The lifecycle of this window's collaboration session. At most one session at a time. */
export const CollaborationSessionService = Symbol('CollaborationSessionService');
export interface CollaborationSessionService {
    readonly session: CollaborationSession | undefined;
    readonly state: SessionState;
    readonly onDidChangeSession: Event<CollaborationSession | undefined>;
    readonly onDidChangeState: Event<SessionState>;
    /**
     * Creates a room on the configured server and becomes its host. `displayName` defaults to the
     * `collaboration.displayName` preference.
     */
    startSession(displayName?: string): Promise<CollaborationSession>;
    /** Joins with an invite code or link; resolves once the host admitted us. */
    joinSession(invite: string, displayName: string): Promise<CollaborationSession>;
    /** Leaves (guest) or ends (host) the current session. */
    leaveSession(): Promise<void>;
}
