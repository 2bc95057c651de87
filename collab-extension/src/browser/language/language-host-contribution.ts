import { inject, injectable } from '@theia/core/shared/inversify';
import { ILogger } from '@theia/core/lib/common/logger';
import URI from '@theia/core/lib/common/uri';
import { ProblemManager } from '@theia/markers/lib/browser/problem/problem-manager';
import { MonacoTextModelService } from '@theia/monaco/lib/browser/monaco-text-model-service';
import { Disposable } from '@theia-collab/protocol/lib/events';
import { MessageDefinition } from '@theia-collab/protocol/lib/messages';
import { CollaborationSession } from '@theia-collab/protocol/lib/session';
import { CollaborationContribution } from '../collaboration-contribution';
import { HostFileSystemService } from '../../common/fs/host-file-system-protocol';
import { DiagnosticsHost, DiagnosticsSource } from '../../common/language/language-diagnostics';
import { LanguageHost } from '../../common/language/language-host';
import { withGuestResolver } from '../../common/fs/host-path-mapper';
import { LanguageMessages } from '../../common/language/language-protocol';
import { HostModelCache, MonacoLanguageHostBackend } from './language-host-backend';
import { toDiagnostic } from './language-monaco-converter';
import { HostPathMapperProvider } from './language-path-mapper';

/** Owner of the markers a guest shows for the host's diagnostics. */
export const COLLABORATION_MARKER_OWNER = 'collaboration';

/**
 * Host: guests' language questions about shared files are answered by this window's own language providers,
 * on its own models of those files; its problems (diagnostics) of shared files are announced to guests.
 */
@injectable()
export class LanguageHostContribution implements CollaborationContribution {

    readonly messages: readonly MessageDefinition[] = LanguageMessages.all;

    @inject(MonacoTextModelService)
    protected readonly textModelService: MonacoTextModelService;

    @inject(HostPathMapperProvider)
    protected readonly pathMapperProvider: HostPathMapperProvider;

    @inject(HostFileSystemService)
    protected readonly hostFileSystem: HostFileSystemService;

    @inject(ProblemManager)
    protected readonly problemManager: ProblemManager;

    @inject(ILogger)
    protected readonly logger: ILogger;

    protected readonly consoleLogger = { warn: (...args: unknown[]) => this.logger.warn(...args as [string]) };

    onSessionStarted(session: CollaborationSession): Disposable[] | void {
        if (!session.isHost) {
            return;
        }
        // Every file a guest names is resolved by the host's backend (real path, links, exclusions) before it is used.
        const paths = withGuestResolver(this.pathMapperProvider.create(), this.hostFileSystem);
        const models = new HostModelCache(this.textModelService);
        const host = new LanguageHost(session, new MonacoLanguageHostBackend(models, paths), paths, { logger: this.consoleLogger, yieldToEditing: afterNextPaint });
        host.start();
        const diagnostics = new DiagnosticsHost(session, this.createDiagnosticsSource(), paths, { logger: this.consoleLogger });
        diagnostics.start();
        return [host, diagnostics, models];
    }

    protected createDiagnosticsSource(): DiagnosticsSource {
        return {
            onDidChange: listener => {
                const disposable = this.problemManager.onDidChangeMarkers(uri => listener(uri.toString()));
                return { dispose: () => disposable.dispose() };
            },
            get: uri => this.problemManager.findMarkers({ uri: new URI(uri) })
                .filter(marker => marker.owner !== COLLABORATION_MARKER_OWNER)
                .map(marker => toDiagnostic(marker.data)),
            uris: () => [...this.problemManager.getUris()]
        };
    }
}

/** Resolves once the window painted what is pending (at most a frame later; at once in a hidden window, which does not paint). */
function afterNextPaint(): Promise<void> {
    if (document.hidden) {
        return Promise.resolve();
    }
    return new Promise(resolve => {
        const fallback = setTimeout(resolve, 50);
        requestAnimationFrame(() => setTimeout(() => {
            clearTimeout(fallback);
            resolve();
        }));
    });
}
