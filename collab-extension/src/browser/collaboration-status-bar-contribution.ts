import { inject, injectable } from '@theia/core/shared/inversify';
import { DisposableCollection } from '@theia/core/lib/common/disposable';
import { nls } from '@theia/core/lib/common/nls';
import { FrontendApplicationContribution } from '@theia/core/lib/browser/frontend-application-contribution';
import { StatusBar, StatusBarAlignment, StatusBarEntry } from '@theia/core/lib/browser/status-bar/status-bar-types';
import { CollaborationSession } from '@theia-collab/protocol';
import { CollaborationSessionService } from './collaboration-session-service';
import { CollaborationCommands } from './collaboration-frontend-contribution';

export const COLLABORATION_STATUS_BAR_ID = 'collaboration-status';

/** One status bar item: the session state and participant count; a click opens the collaboration quick menu. */
@injectable()
export class CollaborationStatusBarContribution implements FrontendApplicationContribution {

    @inject(StatusBar)
    protected readonly statusBar: StatusBar;

    @inject(CollaborationSessionService)
    protected readonly sessionService: CollaborationSessionService;

    protected readonly sessionListeners = new DisposableCollection();

    onStart(): void {
        this.sessionService.onDidChangeState(() => this.update());
        this.sessionService.onDidChangeSession(session => this.watch(session));
        this.watch(this.sessionService.session);
    }

    protected watch(session: CollaborationSession | undefined): void {
        this.sessionListeners.dispose();
        if (session) {
            const update = () => this.update();
            this.sessionListeners.push(session.onPeerJoined(update));
            this.sessionListeners.push(session.onPeerLeft(update));
            this.sessionListeners.push(session.onPeerChanged(update));
            this.sessionListeners.push(session.onDidChangeHostConnection(update));
        }
        this.update();
    }

    protected update(): void {
        this.statusBar.setElement(COLLABORATION_STATUS_BAR_ID, this.entry());
    }

    protected entry(): StatusBarEntry {
        const base = {
            alignment: StatusBarAlignment.LEFT,
            priority: 5,
            name: nls.localize('collaboration/statusName', 'Collaboration'),
            command: CollaborationCommands.SHOW_MENU.id,
            className: 'collaboration-status'
        };
        const session = this.sessionService.session;
        switch (this.sessionService.state) {
            case 'connecting':
                return { ...base, text: `$(sync~spin) ${nls.localize('collaboration/status/connecting', 'Connecting…')}`,
                    tooltip: nls.localize('collaboration/status/connectingTooltip', 'Connecting to the collaboration server') };
            case 'waiting-for-approval':
                return { ...base, text: `$(loading~spin) ${nls.localize('collaboration/status/waiting', 'Waiting for the host…')}`,
                    tooltip: nls.localize('collaboration/status/waitingTooltip', 'The host has to allow you in. Click to cancel.') };
            case 'reconnecting':
                return { ...base, text: `$(sync~spin) ${nls.localize('collaboration/status/reconnecting', 'Reconnecting…')}`,
                    tooltip: nls.localize('collaboration/status/reconnectingTooltip', 'The connection to the collaboration server was lost') };
            case 'connected':
                if (session && !session.isHost && session.hostConnectionState === 'reconnecting') {
                    return { ...base, text: `$(sync~spin) ${nls.localize('collaboration/status/hostReconnecting', 'Host reconnecting…')}`,
                        tooltip: nls.localize('collaboration/status/hostReconnectingTooltip',
                            '{0} lost the connection. The session goes on when the host is back; your changes are kept meanwhile.', session.host.name) };
                }
                if (session) {
                    return { ...base, text: `$(broadcast) ${statusText(session)}`, tooltip: tooltip(session) };
                }
                break;
        }
        return { ...base, text: `$(broadcast) ${nls.localize('collaboration/status/idle', 'Collaborate')}`,
            tooltip: nls.localize('collaboration/status/idleTooltip', 'Start or join a collaboration session') };
    }
}

export function statusText(session: CollaborationSession): string {
    const count = session.peers.length;
    const participants = count === 1
        ? nls.localize('collaboration/status/oneParticipant', '1 participant')
        : nls.localize('collaboration/status/participants', '{0} participants', count);
    return `${nls.localize('collaboration/status/collaborating', 'Collaborating')} · ${participants}`;
}

function tooltip(session: CollaborationSession): string {
    const role = session.isHost
        ? nls.localize('collaboration/status/hosting', 'You are hosting this session.')
        : nls.localize('collaboration/status/guestOf', 'You are a guest of {0} ({1}).', session.host.name,
            session.self.permission === 'readwrite' ? nls.localize('collaboration/readWrite', 'read-write') : nls.localize('collaboration/readOnly', 'read-only'));
    const names = session.peers.map(peer => peer.id === session.self.id ? `${peer.name} (${nls.localize('collaboration/you', 'you')})` : peer.name);
    return `${role}\n${names.join(', ')}`;
}
