import { CollaborationError, CollaborationSession, Disposable } from '@theia-collab/protocol';
import {
    FileMatches, FileSearchParams, FileSearchResult, ReplaceParams, ReplaceResult, SearchMessages, TextResultsParams, TextSearchParams, TextSearchResult
} from './search-messages';

/** Batches that arrive after the host's answer (they were sent before it) are waited for this long at most. */
const LATE_BATCH_MS = 5000;
const FILE_SEARCH_TIMEOUT_MS = 30_000;

interface RunningSearch {
    onFiles(files: FileMatches[]): void;
    received: number;
    /** Called whenever a batch arrived. */
    arrived?(): void;
}

let guestSearchCounter = 0;

/** Guest: searches the host's shared workspace through the session. */
export class SearchGuest implements Disposable {

    protected readonly running = new Map<string, RunningSearch>();
    protected readonly registration: Disposable;

    constructor(readonly session: CollaborationSession) {
        this.registration = session.onNotification(SearchMessages.TextResults, (params, sender) => this.onResults(params, sender.id));
    }

    protected onResults(params: TextResultsParams, senderId: string): void {
        const search = this.running.get(params.searchId);
        if (!search || senderId !== this.session.host.id) {
            return;
        }
        search.received++;
        try {
            search.onFiles(params.files);
        } finally {
            search.arrived?.();
        }
    }

    files(params: FileSearchParams, signal?: AbortSignal): Promise<FileSearchResult> {
        return this.session.sendRequest(SearchMessages.Files, params, { timeout: FILE_SEARCH_TIMEOUT_MS, signal });
    }

    /**
     * Runs a text search on the host; `onFiles` gets the matches batch by batch. Resolves once the host says it
     * is done and every batch it sent arrived; aborting `signal` stops the host's search.
     */
    async text(params: Omit<TextSearchParams, 'searchId'>, onFiles: (files: FileMatches[]) => void, signal?: AbortSignal): Promise<TextSearchResult> {
        const searchId = `g${Date.now().toString(36)}-${++guestSearchCounter}`;
        const search: RunningSearch = { onFiles, received: 0 };
        this.running.set(searchId, search);
        try {
            const result = await this.session.sendRequest(SearchMessages.Text, { ...params, searchId }, { signal, timeout: 120_000 });
            if (search.received < result.batches) {
                await new Promise<void>(resolve => {
                    const timer = setTimeout(resolve, LATE_BATCH_MS);
                    const done = () => {
                        clearTimeout(timer);
                        resolve();
                    };
                    signal?.addEventListener('abort', done);
                    search.arrived = () => search.received >= result.batches && done();
                });
            }
            if (signal?.aborted) {
                throw new CollaborationError('cancelled', 'The search was cancelled.');
            }
            return result;
        } finally {
            this.running.delete(searchId);
        }
    }

    replace(params: ReplaceParams): Promise<ReplaceResult> {
        return this.session.sendRequest(SearchMessages.Replace, params, { timeout: 60_000 });
    }

    dispose(): void {
        this.registration.dispose();
        this.running.clear();
    }
}
