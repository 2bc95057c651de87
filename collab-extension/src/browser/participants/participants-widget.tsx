import * as React from '@theia/core/shared/react';
import { inject, injectable, postConstruct } from '@theia/core/shared/inversify';
import { codicon } from '@theia/core/lib/browser/widgets/widget';
import { ReactWidget } from '@theia/core/lib/browser/widgets/react-widget';
import { ConfirmDialog, Dialog } from '@theia/core/lib/browser/dialogs';
import { MessageService } from '@theia/core/lib/common/message-service';
import { nls } from '@theia/core/lib/common/nls';
import { EditorManager } from '@theia/editor/lib/browser/editor-manager';
import { CollaborationError } from '@theia-collab/protocol/lib/errors';
import { Peer } from '@theia-collab/protocol/lib/session';
import { colorOf } from '../../common/editor/editor-awareness';
import { AwarenessState } from '../../common/editor/editor-protocol';
import { EditorCollaborationService, EditorSessionContext } from '../editor/editor-collaboration-service';
import { FollowService } from '../follow/follow-service';

/** Everyone in the session with colour, role, permission and current file; follow, presenter and host actions. */
@injectable()
export class ParticipantsWidget extends ReactWidget {
    static readonly ID = 'collaboration-participants';
    static readonly LABEL = nls.localize('collaboration/participants', 'Participants');

    @inject(EditorCollaborationService)
    protected readonly service: EditorCollaborationService;

    @inject(FollowService)
    protected readonly followService: FollowService;

    @inject(EditorManager)
    protected readonly editorManager: EditorManager;

    @inject(MessageService)
    protected readonly messageService: MessageService;

    protected readonly peerListeners: { dispose(): void }[] = [];

    @postConstruct()
    protected init(): void {
        this.id = ParticipantsWidget.ID;
        this.title.label = ParticipantsWidget.LABEL;
        this.title.caption = ParticipantsWidget.LABEL;
        this.title.iconClass = codicon('organization');
        this.title.closable = true;
        this.addClass('collab-participants');
        this.node.tabIndex = 0;
        const update = () => this.update();
        const listenToPeers = (context: EditorSessionContext | undefined) => {
            this.peerListeners.splice(0).forEach(d => d.dispose());
            if (context) {
                const session = context.session;
                this.peerListeners.push(session.onPeerJoined(update), session.onPeerLeft(update), session.onPeerChanged(update));
            }
        };
        // The view is usually created once a session runs (it opens with it): listen to that session's peers too.
        listenToPeers(this.service.current);
        this.toDispose.push(this.service.onDidChangeSession(context => {
            listenToPeers(context);
            update();
        }));
        // Awareness changes with every caret move: re-render only when what the view shows (each peer's file and
        // whom it follows) changed, not on every keystroke (a React render and a scrollbar layout each time).
        this.toDispose.push(this.service.onDidChangeAwareness(() => {
            const shown = this.shownAwareness();
            if (shown !== this.lastShownAwareness) {
                this.lastShownAwareness = shown;
                update();
            }
        }));
        this.toDispose.push(this.followService.onDidChange(update));
        this.toDispose.push({ dispose: () => this.peerListeners.splice(0).forEach(d => d.dispose()) });
        this.update();
    }

    protected lastShownAwareness = '';

    /** What the view shows of the awareness states, as one string to compare. */
    protected shownAwareness(): string {
        const states = this.service.current?.awareness.states;
        if (!states) {
            return '';
        }
        return [...states].map(([id, state]) => `${id}:${state?.document ?? ''}:${state?.following ?? ''}`).sort().join('|');
    }

    protected render(): React.ReactNode {
        const context = this.service.current;
        if (!context) {
            return <div className='collab-participants-empty theia-widget-noInfo'>
                {nls.localize('collaboration/participants/none', 'Start or join a collaboration session to see its participants here.')}
            </div>;
        }
        const { session, awareness } = context;
        const states = awareness.states;
        const self = session.self;
        const presenter = this.followService.presenter;
        return <div className='collab-participants-content'>
            <div className='collab-participants-toolbar'>
                {/* Guests see only what they can use: Focus Participants is for the host and the presenter. */}
                {this.followService.canFocus() && session.peers.length > 1 &&
                    <button className='theia-button collab-focus-participants' title={nls.localize('collaboration/focusParticipantsTitle', 'Ask everyone to follow you')}
                        onClick={() => this.run(() => this.followService.focusParticipants())}>
                        <i className={codicon('broadcast')} /> {nls.localize('collaboration/focusParticipantsShort', 'Focus Participants')}
                    </button>}
                {presenter === self.id &&
                    <button className='theia-button secondary' onClick={() => this.run(() => this.followService.stopPresenting())}>
                        {nls.localize('collaboration/stopPresenting', 'Stop Presenting')}
                    </button>}
            </div>
            <ul className='collab-participant-list'>
                {session.peers.map(peer => this.renderPeer(peer, states.get(peer.id), peer.id === self.id, session.isHost))}
            </ul>
        </div>;
    }

    protected renderPeer(peer: Peer, state: AwarenessState | undefined, isSelf: boolean, selfIsHost: boolean): React.ReactNode {
        const color = state?.color ?? colorOf(peer.id);
        const following = this.followService.following === peer.id;
        const presenter = this.followService.presenter === peer.id;
        const followsName = state?.following ? this.service.current?.session.getPeer(state.following)?.name : undefined;
        return <li key={peer.id} className={`collab-participant${following ? ' following' : ''}`} data-peer-id={peer.id} data-peer-name={peer.name}>
            <div className='collab-participant-header'>
                <span className='collab-participant-color' style={{ backgroundColor: color }} />
                <span className='collab-participant-name'>
                    {peer.name}{isSelf ? ` ${nls.localize('collaboration/participants/you', '(you)')}` : ''}
                </span>
                {/* An icon, not a word: the side bar is narrow and the name comes first. */}
                {peer.program && <i className={`${codicon('robot')} collab-participant-program`} role='img'
                    aria-label={nls.localize('collaboration/participants/program', 'Program')}
                    title={nls.localize('collaboration/participants/programTitle', 'A program (a bot or an AI agent), as it says of itself')} />}
                <span className='collab-participant-badge' title={nls.localize('collaboration/participants/role', 'Role')}>
                    {peer.role === 'host' ? nls.localize('collaboration/participants/host', 'Host') : nls.localize('collaboration/participants/guest', 'Guest')}
                </span>
                {presenter && <span className='collab-participant-badge presenter'>{nls.localize('collaboration/participants/presenter', 'Presenter')}</span>}
            </div>
            <div className='collab-participant-detail'>
                <span className='collab-participant-permission' title={nls.localize('collaboration/participants/permission', 'Permission')}>
                    <i className={codicon(peer.permission === 'readwrite' ? 'edit' : 'lock')} /> {peer.permission === 'readwrite'
                        ? nls.localize('collaboration/participants/canEdit', 'can edit')
                        : nls.localize('collaboration/participants/readOnly', 'read-only')}
                </span>
                {state?.document
                    ? <a className='collab-participant-file' title={state.document} onClick={() => this.openDocument(state.document!)}>
                        <i className={codicon('file')} /> {state.document.substring(state.document.lastIndexOf('/') + 1)}
                    </a>
                    : <span className='collab-participant-file none'>{nls.localize('collaboration/participants/noFile', 'no shared file open')}</span>}
                {followsName && <span className='collab-participant-follows'>
                    <i className={codicon('eye')} /> {followsName}
                </span>}
            </div>
            {!isSelf && <div className='collab-participant-actions'>
                {following
                    ? <button className='theia-button secondary collab-unfollow' onClick={() => this.followService.unfollow()}>
                        {nls.localize('collaboration/unfollow', 'Stop Following')}
                    </button>
                    : <button className='theia-button collab-follow' onClick={() => this.followService.follow(peer.id)}>
                        <i className={codicon('eye')} /> {nls.localize('collaboration/follow', 'Follow')}
                    </button>}
                {/* The host can always present, so nobody offers it the role; only the host or the presenter offers it. */}
                {this.followService.canOfferPresenter() && !presenter && peer.role !== 'host' &&
                    <button className='theia-button secondary collab-offer-presenter' onClick={() => this.run(() => this.followService.offerPresenter(peer.id))}>
                        {nls.localize('collaboration/offerPresenterShort', 'Offer Presenter')}
                    </button>}
                {selfIsHost && peer.role !== 'host' && <>
                    <button className='theia-button secondary collab-toggle-permission' onClick={() => this.togglePermission(peer)}>
                        {peer.permission === 'readwrite'
                            ? nls.localize('collaboration/participants/makeReadOnly', 'Make Read-Only')
                            : nls.localize('collaboration/participants/allowEditing', 'Allow Editing')}
                    </button>
                    <button className='theia-button secondary collab-remove' onClick={() => this.remove(peer)}>
                        {nls.localize('collaboration/participants/remove', 'Remove')}
                    </button>
                </>}
            </div>}
        </li>;
    }

    protected async openDocument(path: string): Promise<void> {
        const uri = this.service.uriOf(path);
        if (uri) {
            await this.run(async () => { await this.editorManager.open(uri); });
        }
    }

    protected togglePermission(peer: Peer): Promise<void> {
        const session = this.service.current?.session;
        return this.run(async () => {
            await session?.setPermission(peer.id, peer.permission === 'readwrite' ? 'readonly' : 'readwrite');
        });
    }

    protected async remove(peer: Peer): Promise<void> {
        const session = this.service.current?.session;
        const confirmed = await new ConfirmDialog({
            title: nls.localize('collaboration/participants/removeTitle', 'Remove Participant'),
            msg: nls.localize('collaboration/participants/removeMessage', 'Remove {0} from the session?', peer.name),
            ok: Dialog.YES,
            cancel: Dialog.NO
        }).open();
        if (confirmed && session) {
            await this.run(() => session.removePeer(peer.id));
        }
    }

    protected async run(action: () => Promise<void>): Promise<void> {
        try {
            await action();
        } catch (error) {
            this.messageService.error(CollaborationError.from(error).message);
        }
        this.update();
    }
}
