import { inject, injectable } from '@theia/core/shared/inversify';
import { ILogger } from '@theia/core/lib/common/logger';
import { DebugSessionManager } from '@theia/debug/lib/browser/debug-session-manager';
import { Disposable } from '@theia-collab/protocol/lib/events';
import { MessageDefinition } from '@theia-collab/protocol/lib/messages';
import { CollaborationSession } from '@theia-collab/protocol/lib/session';
import { CollaborationContribution } from '../collaboration-contribution';
import { HostPathMapperProvider } from '../language/language-path-mapper';
import { DebugSessionMessages } from '../../common/debug/debug-session-protocol';
import { DebugSessionGuest, DebugSessionHost } from '../../common/debug/debug-session-sync';
import { DebugGuestService } from './debug-guest-service';
import { createDebugController } from './debug-session-controller';

/** The host's debug sessions for guests: where it stopped, and continue/step/pause for read-write guests. */
@injectable()
export class DebugSessionContribution implements CollaborationContribution {

    readonly messages: readonly MessageDefinition[] = DebugSessionMessages.all;

    @inject(DebugSessionManager)
    protected readonly debugSessions: DebugSessionManager;

    @inject(HostPathMapperProvider)
    protected readonly pathMapperProvider: HostPathMapperProvider;

    @inject(DebugGuestService)
    protected readonly guestService: DebugGuestService;

    @inject(ILogger)
    protected readonly logger: ILogger;

    protected readonly consoleLogger = { warn: (...args: unknown[]) => this.logger.warn(...args as [string]) };

    onSessionStarted(session: CollaborationSession): Disposable[] {
        if (session.isHost) {
            const host = new DebugSessionHost(session, createDebugController(this.debugSessions), this.pathMapperProvider.create(), { logger: this.consoleLogger });
            host.start();
            return [host];
        }
        const guest = new DebugSessionGuest(session, { logger: this.consoleLogger });
        const detach = this.guestService.attach(guest);
        guest.start();
        return [Disposable.create(detach), guest];
    }
}
