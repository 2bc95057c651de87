import { inject, injectable, named } from '@theia/core/shared/inversify';
import { ILogger } from '@theia/core/lib/common/logger';
import { MessageService } from '@theia/core/lib/common/message-service';
import { nls } from '@theia/core/lib/common/nls';
import { CollaborationError, CollaborationSession, Disposable, JoinRequest, MessageDefinition } from '@theia-collab/protocol';
import { CollaborationContribution } from './collaboration-contribution';
import { CollaborationJoinRequestDialog, JoinRequestDecision } from './collaboration-dialogs';

/**
 * Host side: one dialog per guest asking to join, shown one after the other, with the guest's name and
 * key fingerprint, and Allow read-write / Allow read-only / Deny.
 */
@injectable()
export class CollaborationJoinRequestHandler implements CollaborationContribution {

    @inject(MessageService)
    protected readonly messageService: MessageService;

    @inject(ILogger) @named('collaboration')
    protected readonly logger: ILogger;

    /** It answers join requests, an event of the host's session: no messages. */
    readonly messages: readonly MessageDefinition[] = [];

    /** Dialogs are modal and share one DOM id: show them in turn. */
    protected queue: Promise<void> = Promise.resolve();

    onSessionStarted(session: CollaborationSession): Disposable | void {
        if (!session.isHost) {
            return;
        }
        let active = true;
        const listener = session.onJoinRequest(request => {
            this.queue = this.queue.then(() => active && !session.closed ? this.handle(request) : request.deny().catch(() => undefined));
        });
        return {
            dispose: () => {
                active = false;
                listener.dispose();
            }
        };
    }

    protected async handle(request: JoinRequest): Promise<void> {
        let decision: JoinRequestDecision | undefined;
        try {
            decision = await this.ask(request);
        } catch (error) {
            this.logger.error('collaboration: join request dialog failed', error);
        }
        try {
            if (decision === 'readwrite' || decision === 'readonly') {
                await request.admit(decision);
            } else {
                await request.deny(nls.localize('collaboration/deniedByHost', 'The host declined your request.'));
            }
        } catch (error) {
            const collaborationError = CollaborationError.from(error);
            this.messageService.warn(nls.localize('collaboration/admitFailed', 'Could not answer the join request of {0}: {1}',
                request.name, collaborationError.message));
        }
    }

    protected ask(request: JoinRequest): Promise<JoinRequestDecision | undefined> {
        return new CollaborationJoinRequestDialog({ name: request.name, fingerprint: request.fingerprint, program: request.program === true }).open();
    }
}
