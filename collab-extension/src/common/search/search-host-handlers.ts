import { CollaborationError, CollaborationSession, Disposable, Peer } from '@theia-collab/protocol';
import { FsErrorCodes } from '../fs/fs-messages';
import { FsCaller, FsResult } from '../fs/host-file-system-protocol';
import { HostSearchService } from './host-search-protocol';
import { SearchErrorCodes, SearchLimits, SearchMessages, TextSearchResult } from './search-messages';

/** What answers guests' searches: the backend's HostSearchService (or a HostSearch in tests). */
export type SearchBackend = Pick<HostSearchService, 'findFiles' | 'startTextSearch' | 'nextTextResults' | 'cancelTextSearch' | 'replace'>;

export interface SearchHandlerOptions {
    /** Runs before every request reaches the backend (e.g. to share the current roots and exclusions). */
    prepare?(): Promise<void>;
}

function unwrap<T>(result: FsResult<T>): T {
    if (!result.ok) {
        throw new CollaborationError(result.error.code, result.error.message);
    }
    return result.value;
}

/**
 * Host: answers guests' `search/...` requests. The sender's permission comes from the session's live peer list;
 * each guest may run only a few searches at a time; a cancelled request (the guest typed on, left, or the session
 * ended) stops the backend's search.
 */
export function registerSearchHandlers(session: CollaborationSession, backend: SearchBackend, options: SearchHandlerOptions = {}): Disposable[] {
    const running = new Map<string, number>();
    const livePeer = (sender: Peer): Peer => {
        const peer = session.getPeer(sender.id);
        if (!peer || peer.id === session.self.id || session.closed) {
            throw new CollaborationError(FsErrorCodes.forbidden, 'You are not a participant of this session any more.');
        }
        return peer;
    };
    const limited = async <T>(peer: Peer, kind: 'files' | 'text', max: number, run: () => Promise<T>): Promise<T> => {
        const key = `${kind}:${peer.id}`;
        const count = running.get(key) ?? 0;
        if (count >= max) {
            throw new CollaborationError(SearchErrorCodes.busy, 'Too many searches at once; wait for one to finish.');
        }
        running.set(key, count + 1);
        try {
            return await run();
        } finally {
            const left = (running.get(key) ?? 1) - 1;
            if (left > 0) {
                running.set(key, left);
            } else {
                running.delete(key);
            }
        }
    };
    return [
        session.onRequest(SearchMessages.Files, (params, sender) => {
            const peer = livePeer(sender);
            return limited(peer, 'files', SearchLimits.maxConcurrentSearchesPerPeer * 2, async () => {
                await options.prepare?.();
                return unwrap(await backend.findFiles(params));
            });
        }),
        session.onRequest(SearchMessages.Text, (params, sender, { signal }) => {
            const peer = livePeer(sender);
            return limited(peer, 'text', SearchLimits.maxConcurrentSearchesPerPeer, async (): Promise<TextSearchResult> => {
                await options.prepare?.();
                if (signal.aborted) {
                    throw new CollaborationError('cancelled', 'The search was cancelled.');
                }
                const { id } = unwrap(await backend.startTextSearch(params));
                const cancel = () => backend.cancelTextSearch(id).catch(() => undefined);
                signal.addEventListener('abort', cancel);
                let batches = 0;
                try {
                    for (; ;) {
                        const batch = unwrap(await backend.nextTextResults(id));
                        if (signal.aborted || session.closed) {
                            throw new CollaborationError('cancelled', 'The search was cancelled.');
                        }
                        if (batch.files.length > 0) {
                            await session.sendNotification(SearchMessages.TextResults, { searchId: params.searchId, batch: batches++, files: batch.files },
                                { target: peer.id });
                        }
                        if (batch.done) {
                            return { batches, matches: batch.matches, limitHit: batch.limitHit };
                        }
                    }
                } catch (error) {
                    cancel();
                    throw error;
                } finally {
                    signal.removeEventListener('abort', cancel);
                }
            });
        }),
        session.onRequest(SearchMessages.Replace, async (params, sender) => {
            const peer = livePeer(sender);
            if (peer.permission !== 'readwrite') {
                throw new CollaborationError(FsErrorCodes.forbidden, 'Read-only participants cannot change files.');
            }
            await options.prepare?.();
            const caller: FsCaller = { peerId: peer.id, permission: peer.permission };
            return unwrap(await backend.replace(caller, params));
        })
    ];
}
