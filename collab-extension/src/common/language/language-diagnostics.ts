import { CollaborationError } from '@theia-collab/protocol/lib/errors';
import { Disposable } from '@theia-collab/protocol/lib/events';
import { CollaborationSession } from '@theia-collab/protocol/lib/session';
import { batchesWithinBudget } from '../message-batches';
import { fit } from './language-host';
import { HostPathMapper } from './language-locations';
import { AllDiagnosticsResult, Diagnostic, FileDiagnostics, LanguageLimits, LanguageMessages } from './language-protocol';

/** The host's diagnostics (Theia's problem manager in the app), by host URI. */
export interface DiagnosticsSource {
    /** Fires with the URI whose diagnostics changed. */
    onDidChange(listener: (uri: string) => void): Disposable;
    get(uri: string): Diagnostic[];
    /** URIs that have diagnostics now. */
    uris(): string[];
}

export interface DiagnosticsHostOptions {
    debounceMs?: number;
    logger?: { warn(...args: unknown[]): void };
}

/**
 * Host: announces the diagnostics of shared, visible files to guests (debounced, in bounded broadcasts) and
 * answers a joining guest's request for all of them.
 */
export class DiagnosticsHost implements Disposable {

    protected readonly toDispose: Disposable[] = [];
    protected readonly pending = new Set<string>();
    /** Paths announced with diagnostics, so a file whose diagnostics went away is announced empty. */
    protected readonly announced = new Set<string>();
    protected timer: ReturnType<typeof setTimeout> | undefined;
    protected disposed = false;

    constructor(
        protected readonly session: CollaborationSession,
        protected readonly source: DiagnosticsSource,
        protected readonly paths: HostPathMapper,
        protected readonly options: DiagnosticsHostOptions = {}
    ) { }

    start(): void {
        this.toDispose.push(this.source.onDidChange(uri => this.changed(uri)));
        this.toDispose.push(this.session.onRequest(LanguageMessages.AllDiagnostics, async ({ cursor }, sender) => {
            if (!this.session.getPeer(sender.id) || this.disposed) {
                throw new CollaborationError('forbidden', 'You are not a participant of this session any more.');
            }
            return this.page(cursor ?? 0);
        }));
    }

    protected changed(uri: string): void {
        if (this.disposed || this.pending.size >= 10_000) {
            return;
        }
        this.pending.add(uri);
        if (!this.timer) {
            this.timer = setTimeout(() => this.flush(), this.options.debounceMs ?? LanguageLimits.diagnosticsDebounceMs);
        }
    }

    protected async flush(): Promise<void> {
        this.timer = undefined;
        const uris = [...this.pending];
        this.pending.clear();
        if (this.disposed || this.session.closed) {
            return;
        }
        try {
            const byPath = new Map<string, string>();
            for (const uri of uris) {
                const path = this.paths.toWorkspacePath(uri);
                if (path !== undefined) {
                    byPath.set(path, uri);
                }
            }
            const visible = new Set(await this.paths.filterVisible([...byPath.keys()]));
            const files: FileDiagnostics[] = [];
            for (const [path, uri] of byPath) {
                const diagnostics = visible.has(path) ? this.diagnosticsOf(uri) : [];
                if (diagnostics.length === 0 && !this.announced.has(path)) {
                    continue;
                }
                if (diagnostics.length > 0) {
                    this.announced.add(path);
                } else {
                    this.announced.delete(path);
                }
                files.push({ path, diagnostics });
            }
            for (const batch of batches(files)) {
                if (this.session.closed) {
                    break;
                }
                await this.session.sendBroadcast(LanguageMessages.DidChangeDiagnostics, { files: batch });
            }
        } catch (error) {
            if (!this.session.closed) {
                this.options.logger?.warn('collaboration: announcing diagnostics failed', error);
            }
        }
    }

    protected async page(cursor: number): Promise<AllDiagnosticsResult> {
        const entries = new Map<string, string>();
        for (const uri of this.source.uris()) {
            const path = this.paths.toWorkspacePath(uri);
            if (path !== undefined) {
                entries.set(path, uri);
            }
        }
        const visible = (await this.paths.filterVisible([...entries.keys()])).sort();
        const files: FileDiagnostics[] = [];
        let index = cursor;
        for (; index < visible.length && files.length < LanguageLimits.maxFilesPerDiagnostics; index++) {
            const diagnostics = this.diagnosticsOf(entries.get(visible[index])!);
            if (diagnostics.length > 0) {
                files.push({ path: visible[index], diagnostics });
                this.announced.add(visible[index]);
            }
        }
        const [first] = batches(files);
        const sent = first ?? [];
        if (sent.length < files.length) {
            // Over the budget: the rest comes with the next page.
            index = cursor + visible.slice(cursor).indexOf(files[sent.length].path);
        }
        return index < visible.length ? { files: sent, next: index } : { files: sent };
    }

    protected diagnosticsOf(uri: string): Diagnostic[] {
        return fit(this.source.get(uri).slice(0, LanguageLimits.maxMarkersPerFile), LanguageLimits.resultBudget / 2);
    }

    dispose(): void {
        this.disposed = true;
        clearTimeout(this.timer);
        this.pending.clear();
        this.toDispose.splice(0).forEach(disposable => disposable.dispose());
    }
}

/** Splits files into broadcasts within the file count and size budget (each file fits on its own). */
function batches(files: FileDiagnostics[]): FileDiagnostics[][] {
    return batchesWithinBudget(files, LanguageLimits.resultBudget, LanguageLimits.maxFilesPerDiagnostics);
}

/** Where a guest shows the host's diagnostics (its problem manager, for `collab:` URIs, in the app). */
export interface DiagnosticsSink {
    set(path: string, diagnostics: Diagnostic[]): void;
    /** Removes every diagnostic this session put there. */
    clear(): void;
}

/** Guest: takes the host's diagnostics, all of them at the start and then every change. */
export class DiagnosticsGuest implements Disposable {

    protected readonly toDispose: Disposable[] = [];
    /** Paths a broadcast already updated: a page asked for earlier must not overwrite them. */
    protected readonly updated = new Set<string>();
    protected disposed = false;

    constructor(
        protected readonly session: CollaborationSession,
        protected readonly sink: DiagnosticsSink,
        protected readonly options: { logger?: { warn(...args: unknown[]): void } } = {}
    ) { }

    async start(): Promise<void> {
        this.toDispose.push(this.session.onBroadcast(LanguageMessages.DidChangeDiagnostics, ({ files }, sender) => {
            if (sender.id !== this.session.host.id || this.disposed) {
                return;
            }
            for (const { path, diagnostics } of files) {
                this.updated.add(path);
                this.sink.set(path, diagnostics);
            }
        }));
        try {
            let cursor: number | undefined = 0;
            for (let pages = 0; cursor !== undefined && pages < 1000 && !this.disposed; pages++) {
                const result: AllDiagnosticsResult = await this.session.sendRequest(LanguageMessages.AllDiagnostics, { cursor });
                for (const { path, diagnostics } of result.files) {
                    if (!this.updated.has(path) && !this.disposed) {
                        this.sink.set(path, diagnostics);
                    }
                }
                cursor = result.next !== undefined && result.next > cursor ? result.next : undefined;
            }
        } catch (error) {
            if (!this.session.closed && !this.disposed) {
                this.options.logger?.warn('collaboration: could not get the host\'s diagnostics', error);
            }
        }
    }

    dispose(): void {
        if (this.disposed) {
            return;
        }
        this.disposed = true;
        this.toDispose.splice(0).forEach(disposable => disposable.dispose());
        this.sink.clear();
    }
}
