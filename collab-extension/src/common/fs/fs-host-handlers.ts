import { CollaborationError, CollaborationSession, Disposable, Peer, Request } from '@theia-collab/protocol';
import { FsMessages } from './fs-messages';
import { FsCaller, FsResult } from './host-file-system-protocol';

/** What answers the requests: the backend's HostFileSystemService, or a HostFileSystem in tests. */
export interface FsRequestBackend {
    handle(method: string, caller: FsCaller, params: unknown): Promise<FsResult>;
}

export interface FsRequestHandlerOptions {
    /** Until this resolves requests wait; `undefined` once ready, so requests reach the backend in arrival order. */
    pending?(): Promise<void> | undefined;
    /** Told about every request the backend carried out (validated params), before the guest gets the answer. */
    onDidHandle?(method: string, params: unknown, sender: Peer): void;
}

/**
 * Host: answers every `fs/...` request. The caller's permission is looked up in the session's live peer list
 * on every request, never taken from the request, so a lowered permission or a removed guest takes effect at once.
 */
export function registerFsRequestHandlers(session: CollaborationSession, backend: FsRequestBackend, options: FsRequestHandlerOptions = {}): Disposable[] {
    return FsMessages.requests.map(definition => register(session, backend, options, definition as Request<unknown, unknown>));
}

function register<P, R>(session: CollaborationSession, backend: FsRequestBackend, options: FsRequestHandlerOptions, definition: Request<P, R>): Disposable {
    return session.onRequest(definition, (params: P, sender: Peer): Promise<R> => {
        // Checked when the request is handed to the backend, after any wait.
        const run = (): Promise<R> => {
            const peer = session.getPeer(sender.id);
            if (!peer || peer.id === session.self.id || session.closed) {
                return Promise.reject(new CollaborationError('forbidden', 'You are not a participant of this session any more.'));
            }
            const caller: FsCaller = { peerId: peer.id, permission: peer.permission };
            return backend.handle(definition.method, caller, params).then(result => {
                if (!result.ok) {
                    throw new CollaborationError(result.error.code, result.error.message);
                }
                try {
                    options.onDidHandle?.(definition.method, params, peer);
                } catch {
                    // a listener's problem is not the guest's
                }
                return result.value as R;
            });
        };
        const pending = options.pending?.();
        return pending ? pending.then(run) : run();
    });
}
