import { inject, injectable } from '@theia/core/shared/inversify';
import { MessageService } from '@theia/core/lib/common/message-service';
import { nls } from '@theia/core/lib/common/nls';
import { FrontendApplicationContribution } from '@theia/core/lib/browser/frontend-application-contribution';
import { FileNavigatorContribution } from '@theia/navigator/lib/browser/navigator-contribution';
import { CollaborationSession, Disposable, MessageDefinition } from '@theia-collab/protocol';
import { CollaborationContribution } from './collaboration-contribution';

/** How long the short "joined / left" notices stay. */
const PEER_NOTICE_TIMEOUT_MS = 6000;

/**
 * What a newcomer should be told or shown without asking:
 * - the Explorer is open on a fresh layout, and a guest's opens when it joins (so it sees the host's files);
 * - the host hears who joined and who left (or was disconnected);
 * - a guest hears when the host changes its permission.
 */
@injectable()
export class CollaborationPeerNotifier implements CollaborationContribution, FrontendApplicationContribution {

    /** It reads the session's peer events only. */
    readonly messages: readonly MessageDefinition[] = [];

    @inject(MessageService)
    protected readonly messageService: MessageService;

    @inject(FileNavigatorContribution)
    protected readonly navigator: FileNavigatorContribution;

    onDidInitializeLayout(): Promise<void> {
        return this.showExplorer();
    }

    protected async showExplorer(): Promise<void> {
        try {
            await this.navigator.openView({ activate: false, reveal: true });
        } catch (error) {
            console.warn('collaboration: could not open the Explorer', error);
        }
    }

    onSessionStarted(session: CollaborationSession): Disposable[] {
        const disposables: Disposable[] = [];
        if (session.isHost) {
            disposables.push(session.onPeerJoined(peer => {
                if (peer.id !== session.self.id) {
                    this.messageService.info(peer.permission === 'readwrite'
                        ? nls.localize('collaboration/peerJoinedReadWrite', '{0} joined the session (can edit).', peer.name)
                        : nls.localize('collaboration/peerJoinedReadOnly', '{0} joined the session (read-only).', peer.name),
                    { timeout: PEER_NOTICE_TIMEOUT_MS });
                }
            }));
            disposables.push(session.onPeerLeft(({ peer, reason }) => {
                if (peer.id === session.self.id || session.closed) {
                    return;
                }
                // 'removed': the host did it and knows.
                if (reason === 'left') {
                    this.messageService.info(nls.localize('collaboration/peerLeft', '{0} left the session.', peer.name), { timeout: PEER_NOTICE_TIMEOUT_MS });
                } else if (reason === 'disconnected') {
                    this.messageService.info(nls.localize('collaboration/peerDisconnected', '{0} lost the connection and left the session.', peer.name),
                        { timeout: PEER_NOTICE_TIMEOUT_MS });
                }
            }));
        } else {
            this.showExplorer();
            let permission = session.self.permission;
            disposables.push(session.onPeerChanged(peer => {
                if (peer.id !== session.self.id || peer.permission === permission) {
                    return;
                }
                permission = peer.permission;
                if (permission === 'readonly') {
                    this.messageService.warn(nls.localize('collaboration/madeReadOnly', 'The host made you read-only: you can look but not edit.'));
                } else {
                    this.messageService.info(nls.localize('collaboration/madeReadWrite', 'The host made you read-write: you can edit now.'));
                }
            }));
        }
        return disposables;
    }
}
