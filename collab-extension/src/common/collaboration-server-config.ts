/**
 * Where the coordination server lives, as the Theia backend knows it: `COLLAB_SERVER_URL`, or the
 * coordination server the backend embeds. The frontend asks through JSON-RPC; a user preference
 * (`collaboration.serverUrl`) overrides it.
 */
export const CollaborationServerConfigServicePath = '/services/collaboration-config';

export const CollaborationServerConfigService = Symbol('CollaborationServerConfigService');
export interface CollaborationServerConfigService {
    /** The coordination server URL to use when the user configured none, e.g. `http://127.0.0.1:8100`. */
    getDefaultServerUrl(): Promise<string>;
}
