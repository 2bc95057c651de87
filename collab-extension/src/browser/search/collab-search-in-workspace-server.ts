import URI from '@theia/core/lib/common/uri';
import {
    SearchInWorkspaceClient, SearchInWorkspaceOptions, SearchInWorkspaceResult, SearchInWorkspaceServer, SearchMatch
} from '@theia/search-in-workspace/lib/common/search-in-workspace-interface';
import { CollaborationError } from '@theia-collab/protocol';
import { collabUriOfWorkspacePath, COLLAB_SCHEME, splitWorkspacePath, workspacePathOfCollabUri } from '../../common/collaboration-uri';
import { FileMatches, SearchLimits } from '../../common/search/search-messages';
import { SearchGuestService } from './search-guest-service';

/** Receives the own backend's results under its search ids and hands them on under this server's ids. */
export class LocalSearchRelay implements SearchInWorkspaceClient {
    /** Own backend's search id → this server's id. */
    readonly ids = new Map<number, number>();
    /** Events for an id not known yet (the backend may answer before `search` returned its id). */
    protected readonly early = new Map<number, (() => void)[]>();
    target: { onLocalResult(id: number, result: SearchInWorkspaceResult): void; onLocalDone(id: number, error?: string): void } | undefined;

    onResult(localId: number, result: SearchInWorkspaceResult): void {
        this.dispatch(localId, id => this.target?.onLocalResult(id, result));
    }

    onDone(localId: number, error?: string): void {
        this.dispatch(localId, id => {
            this.ids.delete(localId);
            this.target?.onLocalDone(id, error);
        });
    }

    protected dispatch(localId: number, run: (id: number) => void): void {
        const id = this.ids.get(localId);
        if (id !== undefined) {
            run(id);
        } else if (this.early.size < 100) {
            const queue = this.early.get(localId) ?? [];
            queue.push(() => run(this.ids.get(localId)!));
            this.early.set(localId, queue);
        }
    }

    map(localId: number, id: number): void {
        this.ids.set(localId, id);
        const queue = this.early.get(localId);
        this.early.delete(localId);
        queue?.forEach(run => run());
    }
}

interface RunningSearch {
    parts: number;
    error?: string;
    localId?: number;
    controller: AbortController;
}

/**
 * Find in Files for guests: `collab:` roots are searched by the host (`search/text`, results streamed back in
 * batches, the host's search stopped when this one is cancelled), any other root by this window's own backend.
 */
export class CollabSearchInWorkspaceServer implements SearchInWorkspaceServer {

    protected nextId = 1;
    protected readonly running = new Map<number, RunningSearch>();
    protected client: SearchInWorkspaceClient | undefined;

    constructor(
        protected readonly delegate: SearchInWorkspaceServer,
        protected readonly relay: LocalSearchRelay,
        protected readonly guests: SearchGuestService
    ) {
        relay.target = {
            onLocalResult: (id, result) => this.running.has(id) && this.client?.onResult(id, result),
            onLocalDone: (id, error) => this.partDone(id, error)
        };
    }

    setClient(client: SearchInWorkspaceClient | undefined): void {
        this.client = client;
    }

    async search(what: string, rootUris: string[], opts?: SearchInWorkspaceOptions): Promise<number> {
        const id = this.nextId++;
        const shared = rootUris.filter(uri => new URI(uri).scheme === COLLAB_SCHEME);
        const own = rootUris.filter(uri => !shared.includes(uri));
        const search: RunningSearch = { parts: (shared.length > 0 ? 1 : 0) + (own.length > 0 ? 1 : 0), controller: new AbortController() };
        this.running.set(id, search);
        if (search.parts === 0) {
            setTimeout(() => this.finish(id), 0);
            return id;
        }
        if (own.length > 0) {
            try {
                const localId = await this.delegate.search(what, own, opts);
                search.localId = localId;
                this.relay.map(localId, id);
            } catch (error) {
                setTimeout(() => this.partDone(id, String(error)), 0);
            }
        }
        if (shared.length > 0) {
            // After the caller learnt the id: results of this search arrive from the network anyway.
            setTimeout(() => this.searchHost(id, search, what, shared, opts ?? {}), 0);
        }
        return id;
    }

    protected async searchHost(id: number, search: RunningSearch, what: string, rootUris: string[], opts: SearchInWorkspaceOptions): Promise<void> {
        const guest = this.guests.guest;
        const rootByName = new Map<string, string>();
        for (const uri of rootUris) {
            const root = splitWorkspacePath(workspacePathOfCollabUri({ scheme: new URI(uri).scheme, path: new URI(uri).path.toString() }) ?? '')?.root;
            if (root) {
                rootByName.set(root, uri);
            }
        }
        if (!guest || rootByName.size === 0 || !what) {
            this.partDone(id);
            return;
        }
        const globs = (patterns: string[] | undefined) => (patterns ?? [])
            .map(pattern => pattern.replace(/^collab:\/+[^/]+\//, ''))
            .filter(pattern => pattern.length > 0 && pattern.length <= SearchLimits.maxGlobLength)
            .slice(0, SearchLimits.maxGlobs);
        try {
            await guest.text({
                pattern: what.slice(0, SearchLimits.maxPatternLength),
                roots: [...rootByName.keys()],
                matchCase: !!opts.matchCase,
                matchWholeWord: !!opts.matchWholeWord,
                useRegExp: !!opts.useRegExp,
                includeIgnored: !!opts.includeIgnored,
                include: globs(opts.include),
                exclude: globs(opts.exclude),
                maxResults: Math.min(opts.maxResults ?? SearchLimits.maxTextMatches, SearchLimits.maxTextMatches)
            }, files => this.deliver(id, files, rootByName), search.controller.signal);
            this.partDone(id);
        } catch (error) {
            const { code, message } = CollaborationError.from(error);
            this.partDone(id, code === 'cancelled' ? undefined : message);
        }
    }

    protected deliver(id: number, files: FileMatches[], rootByName: Map<string, string>): void {
        if (!this.running.has(id)) {
            return;
        }
        for (const file of files) {
            const root = rootByName.get(file.path.split('/')[0]);
            if (!root) {
                continue;
            }
            const matches: SearchMatch[] = file.matches.map(match => ({
                line: match.line,
                character: match.character,
                length: match.length,
                lineText: match.previewCharacter === match.character ? match.lineText : { text: match.lineText, character: match.previewCharacter }
            }));
            this.client?.onResult(id, { root, fileUri: collabUriOfWorkspacePath(file.path), matches });
        }
    }

    protected partDone(id: number, error?: string): void {
        const search = this.running.get(id);
        if (!search) {
            return;
        }
        search.error ??= error;
        if (--search.parts <= 0) {
            this.finish(id);
        }
    }

    protected finish(id: number): void {
        const search = this.running.get(id);
        this.running.delete(id);
        this.client?.onDone(id, search?.error);
    }

    async cancel(id: number): Promise<void> {
        const search = this.running.get(id);
        this.running.delete(id);
        if (search) {
            search.controller.abort();
            if (search.localId !== undefined) {
                await this.delegate.cancel(search.localId).catch(() => undefined);
            }
        }
    }

    dispose(): void {
        for (const id of [...this.running.keys()]) {
            this.cancel(id);
        }
    }
}
