import { inject, injectable } from '@theia/core/shared/inversify';
import { ILogger } from '@theia/core/lib/common/logger';
import { MessageService } from '@theia/core/lib/common/message-service';
import { nls } from '@theia/core/lib/common/nls';
import URI from '@theia/core/lib/common/uri';
import { BreakpointManager } from '@theia/debug/lib/browser/breakpoint/breakpoint-manager';
import { SourceBreakpoint } from '@theia/debug/lib/browser/breakpoint/breakpoint-marker';
import { Disposable } from '@theia-collab/protocol/lib/events';
import { MessageDefinition } from '@theia-collab/protocol/lib/messages';
import { CollaborationSession } from '@theia-collab/protocol/lib/session';
import { CollaborationContribution } from '../collaboration-contribution';
import { HostPathMapperProvider } from '../language/language-path-mapper';
import { HostFileSystemService } from '../../common/fs/host-file-system-protocol';
import { withGuestResolver } from '../../common/fs/host-path-mapper';
import { BreakpointMessages, SharedBreakpoint } from '../../common/debug/debug-breakpoint-protocol';
import { BreakpointGuest, BreakpointHost, BreakpointStore } from '../../common/debug/debug-breakpoint-sync';

/**
 * Shared breakpoints: the host's breakpoints in shared files show on guests' `collab:` editors, and what a
 * read-write guest sets, changes or removes there is set on the host (a read-only guest's change is undone).
 */
@injectable()
export class DebugBreakpointContribution implements CollaborationContribution {

    readonly messages: readonly MessageDefinition[] = BreakpointMessages.all;

    @inject(BreakpointManager)
    protected readonly breakpoints: BreakpointManager;

    @inject(HostPathMapperProvider)
    protected readonly pathMapperProvider: HostPathMapperProvider;

    @inject(HostFileSystemService)
    protected readonly hostFileSystem: HostFileSystemService;

    @inject(MessageService)
    protected readonly messageService: MessageService;

    @inject(ILogger)
    protected readonly logger: ILogger;

    protected readonly consoleLogger = { warn: (...args: unknown[]) => this.logger.warn(...args as [string]) };

    async onSessionStarted(session: CollaborationSession): Promise<Disposable> {
        const store = this.createStore();
        if (session.isHost) {
            // Files guests name are resolved by the host's backend (real path, links, exclusions) before breakpoints are set.
            const paths = withGuestResolver(this.pathMapperProvider.create(), this.hostFileSystem);
            const host = new BreakpointHost(session, store, paths, { logger: this.consoleLogger });
            host.start();
            return host;
        }
        const guest = new BreakpointGuest(session, store, {
            logger: this.consoleLogger,
            onDidRefuse: (path, error) => this.messageService.warn(nls.localize('collaboration/debug/breakpointRefused',
                'The host did not take your breakpoint change in {0}: {1}', path, error.message))
        });
        guest.start();
        return guest;
    }

    /** Theia's breakpoint manager as the sync sees it: only what can be shared (valid, within limits). */
    protected createStore(): BreakpointStore {
        const manager = this.breakpoints;
        return {
            get: uri => manager.getBreakpoints(new URI(uri)).map(breakpoint => toShared(breakpoint.origin)).filter((bp): bp is SharedBreakpoint => !!bp),
            set: (uri, breakpoints) => manager.setBreakpoints(new URI(uri), breakpoints.map(bp => toSource(uri, bp))),
            uris: () => [...manager.getUris()],
            onDidChange: listener => {
                const disposable = manager.onDidChangeBreakpoints(event => listener(event.uri.toString()));
                return { dispose: () => disposable.dispose() };
            }
        };
    }
}

function toShared(origin: SourceBreakpoint): SharedBreakpoint | undefined {
    const { line, column, condition, hitCondition, logMessage } = origin.raw;
    const candidate: SharedBreakpoint = { id: origin.id, line, enabled: origin.enabled };
    if (column !== undefined) {
        candidate.column = column;
    }
    if (condition) {
        candidate.condition = condition;
    }
    if (hitCondition) {
        candidate.hitCondition = hitCondition;
    }
    if (logMessage) {
        candidate.logMessage = logMessage;
    }
    return SharedBreakpoint.safeParse(candidate).success ? candidate : undefined;
}

function toSource(uri: string, bp: SharedBreakpoint): SourceBreakpoint {
    return {
        id: bp.id,
        uri,
        enabled: bp.enabled,
        raw: {
            line: bp.line,
            ...(bp.column !== undefined ? { column: bp.column } : {}),
            ...(bp.condition !== undefined ? { condition: bp.condition } : {}),
            ...(bp.hitCondition !== undefined ? { hitCondition: bp.hitCondition } : {}),
            ...(bp.logMessage !== undefined ? { logMessage: bp.logMessage } : {})
        }
    };
}
