import { inject, injectable, named, optional } from '@theia/core/shared/inversify';
import { ContributionProvider } from '@theia/core/lib/common/contribution-provider';
import { Disposable as TheiaDisposable, DisposableCollection } from '@theia/core/lib/common/disposable';
import { Emitter } from '@theia/core/lib/common/event';
import { ILogger } from '@theia/core/lib/common/logger';
import { MessageService } from '@theia/core/lib/common/message-service';
import { Progress } from '@theia/core/lib/common/message-service-protocol';
import { nls } from '@theia/core/lib/common/nls';
import { FrontendApplicationContribution } from '@theia/core/lib/browser/frontend-application-contribution';
import {
    CollaborationClient, CollaborationError, CollaborationErrorData, CollaborationSession, DisplayName, Disposable, parseInvite, SessionClosed
} from '@theia-collab/protocol';
import { CollaborationContribution } from './collaboration-contribution';
import { CollaborationSessionService, SessionState } from './collaboration-session-service';
import { CollaborationLoginService } from './collaboration-login-service';
import { COLLABORATION_DISPLAY_NAME, COLLABORATION_SERVER_URL, CollaborationPreferences } from '../common/collaboration-preferences';
import { CollaborationServerConfigService } from '../common/collaboration-server-config';
import { scopeSession } from './contribution-session-scope';

/** The longest the contributions' start holds incoming messages back. */
const HOLD_DELIVERY_MS = 1000;

/** Thrown by `startSession`/`joinSession` when `leaveSession` cancelled them; never notified. */
export const CANCELLED = 'cancelled';

@injectable()
export class CollaborationSessionServiceImpl implements CollaborationSessionService, FrontendApplicationContribution {

    @inject(ContributionProvider) @named(CollaborationContribution)
    protected readonly contributions: ContributionProvider<CollaborationContribution>;

    @inject(MessageService)
    protected readonly messageService: MessageService;

    @inject(ILogger) @named('collaboration')
    protected readonly logger: ILogger;

    @inject(CollaborationPreferences)
    protected readonly preferences: CollaborationPreferences;

    @inject(CollaborationServerConfigService)
    protected readonly serverConfig: CollaborationServerConfigService;

    @inject(CollaborationLoginService) @optional()
    protected readonly loginService: CollaborationLoginService | undefined;

    protected readonly onDidChangeSessionEmitter = new Emitter<CollaborationSession | undefined>();
    readonly onDidChangeSession = this.onDidChangeSessionEmitter.event;

    protected readonly onDidChangeStateEmitter = new Emitter<SessionState>();
    readonly onDidChangeState = this.onDidChangeStateEmitter.event;

    protected currentSession: CollaborationSession | undefined;
    protected currentState: SessionState = 'idle';
    /** The connection of the session being established or running. */
    protected client: CollaborationClient | undefined;
    /** Everything tied to the running session: contribution results, listeners, the connection. */
    protected sessionDisposables = new DisposableCollection();
    /** Bumped whenever an attempt is cancelled or a session ends, so stale async work knows to stop. */
    protected generation = 0;
    /** Set while `leaveSession` waits for the server. */
    protected leaving = false;
    /** Aborts the attempt under way (withdraws a join request). */
    protected attempt: AbortController | undefined;
    /**
     * While waiting for the host: the short fingerprint of this window's session key, which the host sees
     * in its join request dialog.
     */
    pendingFingerprint: string | undefined;

    get session(): CollaborationSession | undefined {
        return this.currentSession;
    }

    get state(): SessionState {
        return this.currentState;
    }

    startSession(displayName?: string): Promise<CollaborationSession> {
        return this.establish(async (client, generation) => {
            // Messages wait until every contribution has registered its handlers (see activate).
            const session = await client.createSession({ holdDelivery: true });
            this.checkCurrent(generation);
            return session;
        }, displayName ?? (this.defaultDisplayName || nls.localize('collaboration/defaultHostName', 'Host')));
    }

    joinSession(invite: string, displayName: string): Promise<CollaborationSession> {
        return this.establish(async (client, generation, signal) => {
            let progress: Progress | undefined;
            try {
                const session = await client.joinSession(invite, {
                    holdDelivery: true,
                    signal,
                    onPending: ({ fingerprint }) => {
                        if (generation === this.generation) {
                            this.pendingFingerprint = fingerprint;
                            this.setState('waiting-for-approval');
                            this.showWaiting(fingerprint, generation).then(shown => {
                                progress = shown;
                                if (generation !== this.generation || this.currentState !== 'waiting-for-approval') {
                                    shown.cancel();
                                }
                            });
                        }
                    }
                });
                this.checkCurrent(generation);
                return session;
            } finally {
                progress?.cancel();
            }
        }, displayName, invite);
    }

    /** Tells the guest to wait for the host, with the fingerprint the host sees; Cancel withdraws the request. */
    protected showWaiting(fingerprint: string, generation: number): Promise<Progress> {
        return this.messageService.showProgress({
            text: nls.localize('collaboration/waitingForHost',
                'Waiting for the host to let you in. The host sees your key fingerprint as {0}.', fingerprint),
            options: { cancelable: true }
        }, () => {
            if (generation === this.generation && this.currentState === 'waiting-for-approval') {
                this.leaveSession();
            }
        });
    }

    async leaveSession(): Promise<void> {
        const session = this.currentSession;
        if (!session) {
            // Cancel an attempt under way (connecting or waiting for the host).
            if (this.currentState !== 'idle') {
                this.generation++;
                this.attempt?.abort();
                this.disconnect();
                this.setState('idle');
            }
            return;
        }
        // Keep the connection until the server has our `room:leave`, so guests see "left", not "disconnected".
        const client = this.client;
        this.leaving = true;
        try {
            await session.leave();
        } catch (error) {
            this.logger.warn('collaboration: leaving the session failed', error);
        } finally {
            this.leaving = false;
            // `leave` normally fires `onClose`; make sure we end up idle even if it did not.
            this.endSession({ reason: 'left', message: '' });
            this.disposeClient(client);
        }
    }

    onStop(): void {
        // Best effort when the window closes: the server also notices the socket going away.
        this.currentSession?.leave().catch(() => { /* the window is going away */ });
    }

    /** The display name to use when the caller gave none. */
    protected get defaultDisplayName(): string {
        return this.preferences[COLLABORATION_DISPLAY_NAME].trim();
    }

    /** The coordination server: the invite link's, else the preference, else what the backend provides. */
    async resolveServerUrl(invite?: string): Promise<string> {
        const fromInvite = invite !== undefined ? parseInvite(invite).serverUrl : undefined;
        if (fromInvite) {
            return fromInvite;
        }
        const configured = this.preferences[COLLABORATION_SERVER_URL].trim();
        if (configured) {
            return configured.replace(/\/+$/, '');
        }
        try {
            return await this.serverConfig.getDefaultServerUrl();
        } catch (error) {
            throw new CollaborationError('internal', nls.localize('collaboration/noServer',
                'No collaboration server is available: {0}', CollaborationError.from(error).message));
        }
    }

    protected async establish(
        open: (client: CollaborationClient, generation: number, signal: AbortSignal) => Promise<CollaborationSession>, displayName: string, invite?: string
    ): Promise<CollaborationSession> {
        if (this.currentState !== 'idle') {
            const error = new CollaborationError('bad-request', nls.localize('collaboration/alreadyInSession',
                'This window is already in a collaboration session. Leave it first.'));
            this.notifyError(error);
            throw error;
        }
        const generation = ++this.generation;
        const attempt = this.attempt = new AbortController();
        this.pendingFingerprint = undefined;
        this.setState('connecting');
        try {
            const name = DisplayName.safeParse(displayName);
            if (!name.success) {
                throw new CollaborationError('bad-request', nls.localize('collaboration/invalidName',
                    'Display names have 1 to 64 characters.'));
            }
            const serverUrl = await this.resolveServerUrl(invite);
            this.checkCurrent(generation);
            // A token when the server wants a (chosen) login; without one the client logs in anonymously with the name.
            const token = await this.loginService?.getToken(serverUrl, attempt.signal);
            this.checkCurrent(generation);
            const client = await CollaborationClient.connect({ serverUrl, name: name.data, token, logger: this.clientLogger }).catch(error => {
                if (token && CollaborationError.from(error).code === 'unauthorized') {
                    this.loginService?.forget(serverUrl);
                }
                throw error;
            });
            if (generation !== this.generation) {
                client.dispose();
                throw new CollaborationError(CANCELLED, 'cancelled');
            }
            this.client = client;
            const session = await open(client, generation, attempt.signal);
            await this.activate(session, generation);
            return session;
        } catch (error) {
            const collaborationError = CollaborationError.from(error);
            if (generation === this.generation) {
                this.generation++;
                this.disconnect();
                this.setState('idle');
            }
            if (collaborationError.code !== CANCELLED && !attempt.signal.aborted) {
                this.notifyError(collaborationError);
            }
            throw collaborationError;
        } finally {
            if (this.attempt === attempt) {
                this.attempt = undefined;
                this.pendingFingerprint = undefined;
            }
        }
    }

    /** Routes the protocol client's diagnostics to Theia's log. */
    protected readonly clientLogger = {
        info: (...args: unknown[]) => this.logger.info(...args as [string]),
        warn: (...args: unknown[]) => this.logger.warn(...args as [string]),
        error: (...args: unknown[]) => this.logger.error(...args as [string])
    };

    protected checkCurrent(generation: number): void {
        if (generation !== this.generation) {
            throw new CollaborationError(CANCELLED, 'cancelled');
        }
    }

    protected async activate(session: CollaborationSession, generation: number): Promise<void> {
        const toDispose = this.sessionDisposables = new DisposableCollection();
        toDispose.push(toTheia(session.onClose(event => this.endSession(event))));
        toDispose.push(toTheia(session.onMessageError(error => this.reportMessageError(error))));
        // The connection dropped: the client reconnects and resumes the session (or it ends, see endSession).
        toDispose.push(toTheia(session.onDidChangeConnection(state => {
            if (this.currentSession === session) {
                this.setState(state === 'reconnecting' ? 'reconnecting' : 'connected');
            }
        })));
        this.currentSession = session;
        this.setState(session.connectionState === 'reconnecting' ? 'reconnecting' : 'connected');
        this.onDidChangeSessionEmitter.fire(session);
        // Everything that arrives while the contributions start goes to their handlers once they have registered
        // them, in order. A contribution that takes long to start (it waits for the host's workspace, say) must not
        // hold everyone else's messages back: delivery starts after HOLD_DELIVERY_MS at the latest.
        const started = this.startContributions(session, generation, toDispose);
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([started, new Promise<void>(resolve => timer = setTimeout(resolve, HOLD_DELIVERY_MS))]).finally(() => {
            clearTimeout(timer);
            session.startDelivery();
        });
        await started;
        this.checkCurrent(generation);
        if (session.closed) {
            throw new CollaborationError('room-closed', nls.localize('collaboration/closedWhileStarting', 'The session ended while it was starting.'));
        }
    }

    protected async startContributions(session: CollaborationSession, generation: number, toDispose: DisposableCollection): Promise<void> {
        await Promise.all(this.contributions.getContributions().map(async contribution => {
            try {
                const result = await contribution.onSessionStarted(this.sessionFor(contribution, session));
                const disposables = result === undefined ? [] : Array.isArray(result) ? result : [result];
                if (generation !== this.generation || session.closed) {
                    disposables.forEach(disposable => safeDispose(disposable, this.logger));
                } else {
                    disposables.forEach(disposable => toDispose.push(toTheia(disposable)));
                }
            } catch (error) {
                this.logger.error('collaboration: a contribution failed to start', error);
                this.notifyError(new CollaborationError('internal', nls.localize('collaboration/contributionFailed',
                    'A collaboration feature failed to start: {0}', CollaborationError.from(error).message)));
            }
        }));
    }

    /**
     * What `contribution` gets: a view of the session limited to the messages it declared, or, when it declared
     * none, the session itself (full access, with a warning once: declaring is what keeps features apart).
     */
    protected sessionFor(contribution: CollaborationContribution, session: CollaborationSession): CollaborationSession {
        const owner = contribution.constructor?.name || 'A collaboration contribution';
        if (contribution.messages) {
            return scopeSession(session, owner, contribution.messages);
        }
        if (!this.undeclaredContributions.has(contribution)) {
            this.undeclaredContributions.add(contribution);
            this.logger.warn(`collaboration: ${owner} declares no 'messages', so it may use every method of every feature; `
                + 'declare the definitions it handles and sends (an empty list if none).');
        }
        return session;
    }
    protected readonly undeclaredContributions = new WeakSet<CollaborationContribution>();

    protected endSession(event: SessionClosed): void {
        const session = this.currentSession;
        if (!session) {
            return;
        }
        // Read before disposing: a host that did not come back in time closes the room as 'host-left'.
        const hostWasAway = !session.isHost && session.hostConnectionState === 'reconnecting';
        this.generation++;
        this.currentSession = undefined;
        const toDispose = this.sessionDisposables;
        this.sessionDisposables = new DisposableCollection();
        try {
            toDispose.dispose();
        } catch (error) {
            this.logger.error('collaboration: disposing the session failed', error);
        }
        if (this.leaving) {
            this.client = undefined; // leaveSession closes it once the server has been told
        } else {
            this.disconnect();
        }
        this.setState('idle');
        this.onDidChangeSessionEmitter.fire(undefined);
        this.notifyClosed(session, event, hostWasAway);
    }

    protected disconnect(): void {
        const client = this.client;
        this.client = undefined;
        this.disposeClient(client);
    }

    protected disposeClient(client: CollaborationClient | undefined): void {
        if (client) {
            try {
                client.dispose();
            } catch (error) {
                this.logger.warn('collaboration: closing the connection failed', error);
            }
        }
    }

    protected setState(state: SessionState): void {
        if (this.currentState !== state) {
            this.currentState = state;
            this.onDidChangeStateEmitter.fire(state);
        }
    }

    protected notifyClosed(session: CollaborationSession, event: SessionClosed, hostWasAway = false): void {
        if (event.reason === 'left') {
            return;
        }
        const message = event.reason === 'host-left' && hostWasAway
            ? nls.localize('collaboration/closed/hostLost', '{0} lost the connection and did not come back in time; the collaboration session ended.', session.host.name)
            : closedMessage(session, event);
        if (event.reason === 'shutdown' || event.reason === 'disconnected' || event.reason === 'removed') {
            this.messageService.warn(message);
        } else {
            this.messageService.info(message);
        }
    }

    protected readonly reportedMessageErrors = new Set<string>();
    protected reportMessageError(error: CollaborationErrorData & { sender?: string }): void {
        this.logger.warn(`collaboration: message error ${error.code}: ${error.message}`);
        // Tampering and key problems matter to the user; once per code per window is enough.
        if ((error.code === 'decrypt-failed' || error.code === 'fingerprint-mismatch') && !this.reportedMessageErrors.has(error.code)) {
            this.reportedMessageErrors.add(error.code);
            this.notifyError(new CollaborationError(error.code, error.message));
        }
    }

    protected notifyError(error: CollaborationErrorData): void {
        const message = nls.localize('collaboration/error', 'Collaboration: {0}', error.message);
        if (error.code === 'denied') {
            this.messageService.warn(message);
        } else {
            this.messageService.error(message);
        }
    }
}

function closedMessage(session: CollaborationSession, event: SessionClosed): string {
    switch (event.reason) {
        case 'host-left':
            return nls.localize('collaboration/closed/hostLeft', '{0} ended the collaboration session.', session.host.name);
        case 'removed':
            return nls.localize('collaboration/closed/removed', 'The host removed you from the collaboration session.');
        case 'expired':
            return nls.localize('collaboration/closed/expired', 'The collaboration session expired.');
        case 'idle':
            return nls.localize('collaboration/closed/idle', 'The collaboration session ended after being idle.');
        case 'shutdown':
            return nls.localize('collaboration/closed/shutdown', 'The collaboration server shut down; the session ended.');
        case 'disconnected':
            return nls.localize('collaboration/closed/disconnected', 'Lost the connection to the collaboration server; the session ended.')
                + (event.message ? ` (${event.message})` : '');
        default:
            return event.message || nls.localize('collaboration/closed/other', 'The collaboration session ended.');
    }
}

function toTheia(disposable: Disposable): TheiaDisposable {
    return TheiaDisposable.create(() => disposable.dispose());
}

function safeDispose(disposable: Disposable, logger: ILogger): void {
    try {
        disposable.dispose();
    } catch (error) {
        logger.error('collaboration: dispose failed', error);
    }
}
