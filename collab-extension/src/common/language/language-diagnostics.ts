import { Disposable } from '@theia-collab/protocol/lib/events';
import { CollaborationSession } from '@theia-collab/protocol/lib/session';
import { FileStateChannel } from '../file-state/file-state-protocol';
import { FileStateGuest, FileStateHost, FileStateSink, FileStateSource, FileStateSyncOptions } from '../file-state/file-state-sync';
import { fit } from './language-host';
import { HostPathMapper } from '../fs/host-path-mapper';
import { Diagnostic, LanguageLimits, LanguageMessages } from './language-protocol';

/** The diagnostics of shared files as a per-file state: announced by the host, paged through by joining guests. */
export const DiagnosticsFiles: FileStateChannel<'diagnostics', Diagnostic> = {
    field: 'diagnostics',
    all: LanguageMessages.AllDiagnostics,
    didChange: LanguageMessages.DidChangeDiagnostics,
    limits: {
        maxItemsPerFile: LanguageLimits.maxMarkersPerFile,
        maxFilesPerMessage: LanguageLimits.maxFilesPerDiagnostics,
        budget: LanguageLimits.resultBudget,
        debounceMs: LanguageLimits.diagnosticsDebounceMs
    }
};

/** The host's diagnostics (Theia's problem manager in the app), by host URI. */
export type DiagnosticsSource = FileStateSource<Diagnostic>;

export type DiagnosticsHostOptions = FileStateSyncOptions;

/** What guests get of a file's diagnostics: the first ones, within half a result (so each file fits a message). */
function shareable(diagnostics: Diagnostic[]): Diagnostic[] {
    return fit(diagnostics.slice(0, LanguageLimits.maxMarkersPerFile), LanguageLimits.resultBudget / 2);
}

/**
 * Host: announces the diagnostics of shared, visible files to guests (debounced, in bounded broadcasts) and
 * answers a joining guest's request for all of them.
 */
export class DiagnosticsHost extends FileStateHost<'diagnostics', Diagnostic> {
    constructor(session: CollaborationSession, source: DiagnosticsSource, paths: HostPathMapper, options: DiagnosticsHostOptions = {}) {
        super(session, DiagnosticsFiles, source, paths, { ...options, read: shareable });
    }
}

/** Where a guest shows the host's diagnostics (its problem manager, for `collab:` URIs, in the app). */
export interface DiagnosticsSink extends FileStateSink<Diagnostic> {
    /** Removes every diagnostic this session put there. */
    clear(): void;
}

/** Guest: takes the host's diagnostics, all of them at the start and then every change; leaving clears them. */
export class DiagnosticsGuest implements Disposable {

    protected readonly fromHost: FileStateGuest<'diagnostics', Diagnostic>;
    protected disposed = false;

    constructor(
        session: CollaborationSession,
        protected readonly sink: DiagnosticsSink,
        options: Pick<FileStateSyncOptions, 'logger'> = {}
    ) {
        this.fromHost = new FileStateGuest(session, DiagnosticsFiles, sink, options);
    }

    async start(): Promise<void> {
        await this.fromHost.start();
    }

    dispose(): void {
        if (this.disposed) {
            return;
        }
        this.disposed = true;
        this.fromHost.dispose();
        this.sink.clear();
    }
}
