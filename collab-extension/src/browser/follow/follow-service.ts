import { inject, injectable, postConstruct } from '@theia/core/shared/inversify';
import { DisposableCollection } from '@theia/core/lib/common/disposable';
import { Emitter, Event } from '@theia/core/lib/common/event';
import { ILogger } from '@theia/core/lib/common/logger';
import { MessageService } from '@theia/core/lib/common/message-service';
import { nls } from '@theia/core/lib/common/nls';
import { FrontendApplicationContribution } from '@theia/core/lib/browser/frontend-application-contribution';
import { EditorManager } from '@theia/editor/lib/browser/editor-manager';
import { MonacoEditor } from '@theia/monaco/lib/browser/monaco-editor';
import { CollaborationError } from '@theia-collab/protocol/lib/errors';
import { Peer } from '@theia-collab/protocol/lib/session';
import { FollowMessages, mayAnnouncePresenter, mayOfferPresenter, PresenterRole } from '../../common/editor/editor-follow-protocol';
import { AwarenessState } from '../../common/editor/editor-protocol';
import { toAbsoluteIndex } from '../../common/editor/editor-text-binding';
import { EditorCollaborationService, EditorSessionContext } from '../editor/editor-collaboration-service';

/**
 * Follow mode: this window shows the document, caret and visible range of the followed participant as they
 * move and switch files, until its user moves the caret or switches editors. Also the presenter role and
 * "focus participants" (the presenter asks everyone to follow them).
 */
@injectable()
export class FollowService implements FrontendApplicationContribution {

    @inject(EditorCollaborationService)
    protected readonly service: EditorCollaborationService;

    @inject(EditorManager)
    protected readonly editorManager: EditorManager;

    @inject(MessageService)
    protected readonly messageService: MessageService;

    @inject(ILogger)
    protected readonly logger: ILogger;

    protected _following: string | undefined;
    /** The presenter role in the current session (offers, announcements, re-synchronisation). */
    protected role: PresenterRole | undefined;
    protected readonly toDisposeOnSession = new DisposableCollection();
    protected readonly toDisposeOnEditor = new DisposableCollection();
    /** While this window itself opens or scrolls editors for following, its events are not the user's. */
    protected navigating = 0;
    protected lastApplied: string | undefined;
    protected applying: Promise<void> = Promise.resolve();

    protected readonly onDidChangeEmitter = new Emitter<void>();
    /** Whom this window follows or who presents changed. */
    readonly onDidChange: Event<void> = this.onDidChangeEmitter.event;

    @postConstruct()
    protected init(): void {
        this.service.onDidChangeSession(context => this.startSession(context));
        this.service.onDidChangeAwareness(() => this.applySoon());
        this.service.onDidChangeBindings(() => this.applySoon());
        this.editorManager.onCurrentEditorChanged(() => this.onCurrentEditorChanged());
    }

    onStart(): void {
        // Constructed at start-up so it listens from the beginning.
    }

    get following(): string | undefined {
        return this._following;
    }

    get presenter(): string | undefined {
        return this.role?.presenter;
    }

    get followedPeer(): Peer | undefined {
        return this._following ? this.service.current?.session.getPeer(this._following) : undefined;
    }

    follow(peerId: string): void {
        const context = this.service.current;
        if (!context || peerId === context.session.self.id || !context.session.getPeer(peerId)) {
            return;
        }
        this._following = peerId;
        this.lastApplied = undefined;
        context.awareness.setLocal({ following: peerId });
        this.onDidChangeEmitter.fire(undefined);
        this.applySoon();
    }

    unfollow(): void {
        if (this._following === undefined) {
            return;
        }
        this._following = undefined;
        this.lastApplied = undefined;
        this.service.current?.awareness.setLocal({ following: undefined });
        this.onDidChangeEmitter.fire(undefined);
    }

    /** Asks everyone to follow this window's user. */
    async focusParticipants(): Promise<void> {
        const context = this.requireSession();
        if (!this.mayFocus(context.session.self.id, context)) {
            throw new CollaborationError('forbidden', nls.localize('collaboration/follow/notPresenter', 'Only the presenter or the host can focus participants.'));
        }
        this.unfollow();
        await context.session.sendBroadcast(FollowMessages.Focus, {});
    }

    async offerPresenter(peerId: string): Promise<void> {
        const context = this.requireSession();
        if (!mayOfferPresenter(context.session.self.id, this.roleState(context))) {
            throw new CollaborationError('forbidden', nls.localize('collaboration/follow/cannotOffer', 'Only the host or the presenter can offer the presenter role.'));
        }
        this.role?.offer(peerId, context.session.self.id);
        await context.session.sendBroadcast(FollowMessages.PresenterOffer, { to: peerId });
    }

    /** Takes the presenter role (host, or when offered) and asks everyone to follow. */
    async becomePresenter(): Promise<void> {
        const context = this.requireSession();
        const self = context.session.self.id;
        if (!mayAnnouncePresenter({ sender: self, presenter: self }, this.roleState(context))) {
            throw new CollaborationError('forbidden', nls.localize('collaboration/follow/notOffered', 'The presenter role was not offered to you.'));
        }
        this.setPresenter(self);
        await context.session.sendBroadcast(FollowMessages.Presenter, { presenter: self });
        await context.session.sendBroadcast(FollowMessages.Focus, {});
    }

    async stopPresenting(): Promise<void> {
        const context = this.requireSession();
        if (this.presenter === undefined || !mayAnnouncePresenter({ sender: context.session.self.id, presenter: null }, this.roleState(context))) {
            return;
        }
        this.setPresenter(undefined);
        await context.session.sendBroadcast(FollowMessages.Presenter, { presenter: null });
    }

    /**
     * What the UI offers (menus, the Participants view): the host, or the presenter, may offer the role. The
     * protocol also accepts an offer from anyone while nobody presents, but a guest is not shown that action:
     * it is the host's session to run.
     */
    canOfferPresenter(): boolean {
        const context = this.service.current;
        return !!context && this.leads(context) && mayOfferPresenter(context.session.self.id, this.roleState(context));
    }

    /** The host, or the participant presenting now. */
    protected leads(context: EditorSessionContext): boolean {
        return context.session.isHost || this.presenter === context.session.self.id;
    }

    /** The host may take the presenter role at any time (unless it presents already). */
    canStartPresenting(): boolean {
        const context = this.service.current;
        return !!context && context.session.isHost && this.presenter !== context.session.self.id;
    }

    /** Someone presents and this window's user may end it (the presenter or the host). */
    canStopPresenting(): boolean {
        const context = this.service.current;
        return !!context && this.presenter !== undefined
            && mayAnnouncePresenter({ sender: context.session.self.id, presenter: null }, this.roleState(context));
    }

    /** What the UI offers: the host or the presenter asks everyone to follow (see `canOfferPresenter`). */
    canFocus(): boolean {
        const context = this.service.current;
        return !!context && this.leads(context) && this.mayFocus(context.session.self.id, context);
    }

    // ---- session ----

    protected requireSession(): EditorSessionContext {
        const context = this.service.current;
        if (!context) {
            throw new CollaborationError('disconnected', nls.localize('collaboration/follow/noSession', 'Not in a collaboration session.'));
        }
        return context;
    }

    protected roleState(context: EditorSessionContext): { host: string; presenter: string | undefined; offers: ReadonlyMap<string, string> } {
        return this.role?.state ?? { host: context.session.host.id, presenter: undefined, offers: new Map() };
    }

    protected mayFocus(peer: string, context: EditorSessionContext): boolean {
        return this.presenter === undefined || peer === this.presenter || peer === context.session.host.id;
    }

    protected startSession(context: EditorSessionContext | undefined): void {
        this.toDisposeOnSession.dispose();
        this.role = undefined;
        this._following = undefined;
        this.lastApplied = undefined;
        this.onDidChangeEmitter.fire(undefined);
        if (!context) {
            return;
        }
        const session = context.session;
        const role = this.role = new PresenterRole(session, { warn: (message: unknown, ...args: unknown[]) => this.logger.warn(message, ...args) });
        this.toDisposeOnSession.push(role);
        this.toDisposeOnSession.push({ dispose: () => this.role === role && (this.role = undefined) });
        // Announced, taken over after lost messages, or the presenter left.
        this.toDisposeOnSession.push(role.onDidChange(({ previous, presenter }) => this.presenterChanged(previous, presenter, context)));
        this.toDisposeOnSession.push(session.onBroadcast(FollowMessages.Focus, (_, sender) => {
            if (!this.mayFocus(sender.id, context) || this.service.current !== context) {
                return;
            }
            this.follow(sender.id);
            this.messageService.info(nls.localize('collaboration/follow/focused', '{0} asked everyone to follow them.', sender.name),
                nls.localize('collaboration/follow/stop', 'Stop Following')).then(action => {
                    if (action && this._following === sender.id) {
                        this.unfollow();
                    }
                });
        }));
        this.toDisposeOnSession.push(role.onDidOffer(async ({ to, from }) => {
            if (to !== session.self.id) {
                return;
            }
            const accept = nls.localize('collaboration/follow/accept', 'Accept');
            const answer = await this.messageService.info(
                nls.localize('collaboration/follow/offered', '{0} offers you the presenter role: everyone will follow you.', from.name),
                accept, nls.localize('collaboration/follow/decline', 'Decline'));
            if (answer === accept && this.service.current === context) {
                this.becomePresenter().catch(error => this.messageService.error(CollaborationError.from(error).message));
            }
        }));
        this.toDisposeOnSession.push(session.onPeerLeft(({ peer }) => {
            if (this._following === peer.id) {
                this.unfollow();
                this.messageService.info(nls.localize('collaboration/follow/left', '{0} left; you no longer follow them.', peer.name));
            }
        }));
        if (!session.isHost) {
            // Joining while someone presents: follow them too.
            role.start();
        }
    }

    protected setPresenter(presenter: string | undefined): void {
        this.role?.set(presenter);
    }

    protected presenterChanged(previous: string | undefined, presenter: string | undefined, context: EditorSessionContext): void {
        // Following the presenter ends with the presentation (or hand-over); the presenter follows nobody.
        if ((previous !== undefined && previous !== presenter && this._following === previous) || presenter === context.session.self.id) {
            this.unfollow();
        }
        if (presenter !== undefined && presenter !== context.session.self.id) {
            this.follow(presenter);
        }
        this.onDidChangeEmitter.fire(undefined);
    }

    // ---- following ----

    protected applySoon(): void {
        if (this._following === undefined) {
            return;
        }
        this.applying = this.applying.then(() => this.apply()).catch(error => this.logger.warn('collaboration: following failed', error));
    }

    protected async apply(): Promise<void> {
        const context = this.service.current;
        const state = this._following ? context?.awareness.stateOf(this._following) : undefined;
        if (!context || !state?.document) {
            return;
        }
        const key = JSON.stringify([state.document, state.selections?.[0]?.head, state.visible]);
        if (key === this.lastApplied && this.currentPath() === state.document) {
            return;
        }
        const uri = this.service.uriOf(state.document);
        if (!uri) {
            return;
        }
        this.navigating++;
        try {
            let editor = MonacoEditor.get(this.editorManager.currentEditor);
            if (this.currentPath() !== state.document) {
                const widget = await this.editorManager.open(uri, { mode: 'reveal' });
                editor = MonacoEditor.get(widget);
            }
            if (!editor || this._following !== state.peer) {
                return;
            }
            const binding = this.service.bindingOf(editor.document);
            if (!binding) {
                return; // revealed once the binding exists (onDidChangeBindings)
            }
            this.reveal(editor, state, binding.shared);
            this.lastApplied = key;
        } finally {
            // Editor events caused by opening arrive shortly after.
            setTimeout(() => this.navigating--, 150);
        }
    }

    protected reveal(editor: MonacoEditor, state: AwarenessState, shared: Parameters<typeof toAbsoluteIndex>[0]): void {
        const control = editor.getControl();
        const model = control.getModel();
        if (!model) {
            return;
        }
        const start = state.visible ? toAbsoluteIndex(shared, state.visible.start) : undefined;
        if (start !== undefined) {
            control.setScrollTop(control.getTopForLineNumber(model.getPositionAt(start).lineNumber));
            return;
        }
        const head = state.selections?.[0] ? toAbsoluteIndex(shared, state.selections[0].head) : undefined;
        if (head !== undefined) {
            control.revealPositionInCenterIfOutsideViewport(model.getPositionAt(head));
        }
    }

    protected currentPath(): string | undefined {
        const editor = MonacoEditor.get(this.editorManager.currentEditor);
        return editor ? this.service.bindingOf(editor.document)?.shared.path : undefined;
    }

    protected onCurrentEditorChanged(): void {
        this.toDisposeOnEditor.dispose();
        const editor = MonacoEditor.get(this.editorManager.currentEditor);
        if (editor) {
            this.toDisposeOnEditor.push(editor.getControl().onDidChangeCursorSelection(event => {
                // Only this window's user moves the caret with the mouse or the keyboard (following reveals
                // without moving it, remote edits move it as 'collaboration'): stop following even while a
                // followed navigation is settling, or a click right after the followed peer moved is lost.
                if (this._following !== undefined && (event.source === 'mouse' || event.source === 'keyboard')) {
                    this.unfollow();
                }
            }));
        }
        if (this._following !== undefined && this.navigating === 0) {
            const state = this.service.current?.awareness.stateOf(this._following);
            const path = this.currentPath();
            if (this.editorManager.currentEditor && path !== state?.document) {
                this.unfollow();
            }
        }
    }
}
