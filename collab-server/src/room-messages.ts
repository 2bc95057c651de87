/** What members are told when a session ends or cannot be found. */
import type { RoomClosedReason } from '@theia-collab/protocol/lib/wire';

export const CLOSE_MESSAGES: Record<RoomClosedReason, string> = {
    'host-left': 'The host ended the session.',
    'expired': 'The session reached its maximum duration and was closed.',
    'idle': 'The session was closed after a period of inactivity.',
    'removed': 'The host removed you from the session.',
    'shutdown': 'The collaboration server is shutting down.',
    'denied': 'The host declined your request to join.'
};

/** Why a host's room closed when it did not come back in time. */
export const HOST_GONE_MESSAGE = 'The host lost the connection and did not come back in time: the session ended.';
/** A valid room token for a room the store does not know (nor remembers closing). */
export const UNKNOWN_ROOM_MESSAGE = 'This session no longer exists on the collaboration server: it ended, or the server restarted.';
/** With a shared store (Redis): a room that vanished from it (a Redis without persistence restarted). */
export const LOST_STATE_MESSAGE = 'The collaboration server lost this session\'s state (its store restarted). Start or join a new session.';
