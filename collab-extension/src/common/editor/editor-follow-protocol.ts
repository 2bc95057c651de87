/**
 * Following and presenting. Who follows whom is part of each peer's awareness state (`following`); these
 * messages are the requests around it: "focus participants" (everyone, follow me) and the presenter role,
 * which the host or the current presenter offers and the offered participant accepts.
 */
import { z } from 'zod';
import { CollaborationError } from '@theia-collab/protocol/lib/errors';
import { Disposable, Emitter, Event } from '@theia-collab/protocol/lib/events';
import { Broadcast, Request } from '@theia-collab/protocol/lib/messages';
import { CollaborationSession, Peer } from '@theia-collab/protocol/lib/session';
import { PeerId } from '@theia-collab/protocol/lib/wire';

export const FocusParams = z.object({}).strict();
export type FocusParams = z.infer<typeof FocusParams>;

export const PresenterOfferParams = z.object({ to: PeerId }).strict();
export type PresenterOfferParams = z.infer<typeof PresenterOfferParams>;

export const PresenterParams = z.object({ presenter: PeerId.nullable() }).strict();
export type PresenterParams = z.infer<typeof PresenterParams>;

export const PresenterStateParams = z.object({}).strict();

export namespace FollowMessages {
    /** The sender asks everyone to follow them. */
    export const Focus = Broadcast.define<FocusParams>('follow/focus', { params: FocusParams });
    /** The host or the presenter offers the presenter role to `to` (broadcast, so everyone can check an acceptance). */
    export const PresenterOffer = Broadcast.define<PresenterOfferParams>('follow/presenterOffer', { params: PresenterOfferParams });
    /** Who presents from now on (`null`: nobody). */
    export const Presenter = Broadcast.define<PresenterParams>('follow/presenter', { params: PresenterParams });
    /**
     * Who presents, as the asked peer knows it: guests ask the host when they join or lost messages for good; a
     * host that lost messages asks the presenter it knows (who may change the role anyway).
     */
    export const PresenterState = Request.define<{}, PresenterParams>('follow/presenterState', { params: PresenterStateParams, result: PresenterParams });
    export const all = [Focus, PresenterOffer, Presenter, PresenterState] as const;
}

/**
 * Who may change the presenter: the host, the current presenter (handing over or stepping down), or a
 * participant taking the role it was offered (`offers`: offered peer -> who offered, recorded only when
 * `mayOfferPresenter` allowed the offer).
 */
export function mayAnnouncePresenter(
    announcement: { sender: string; presenter: string | null },
    state: { host: string; presenter: string | undefined; offers: ReadonlyMap<string, string> }
): boolean {
    if (announcement.sender === state.host || (state.presenter !== undefined && announcement.sender === state.presenter)) {
        return true;
    }
    if (announcement.presenter !== announcement.sender) {
        return false;
    }
    return state.offers.has(announcement.sender);
}

/** Who may offer the role: the host, or the presenter; anyone while nobody presents. */
export function mayOfferPresenter(sender: string, state: { host: string; presenter: string | undefined }): boolean {
    return sender === state.host || state.presenter === undefined || sender === state.presenter;
}

export interface PresenterChange { previous: string | undefined; presenter: string | undefined }
export interface PresenterOffer { to: string; from: Peer }

/**
 * The presenter role as one peer keeps it, free of DOM and Theia: checked offers and announcements, the presenter
 * leaving, and re-synchronisation: a guest asks the host who presents when it starts and whenever messages were
 * lost for good (`onMissedMessages`); a host that lost messages asks the presenter it knows. Only changes fire.
 */
export class PresenterRole implements Disposable {
    protected _presenter: string | undefined;
    /** Offered peer -> who offered, for checking acceptances. */
    protected readonly _offers = new Map<string, string>();
    /** Announcements taken so far: an answer to a state request asked before one of them is older. */
    protected announcements = 0;
    protected readonly toDispose: Disposable[] = [];
    protected disposed = false;

    protected readonly onDidChangeEmitter = new Emitter<PresenterChange>();
    readonly onDidChange: Event<PresenterChange> = this.onDidChangeEmitter.event;
    protected readonly onDidOfferEmitter = new Emitter<PresenterOffer>();
    /** A valid offer of the role (to anyone; `to` says whom). */
    readonly onDidOffer: Event<PresenterOffer> = this.onDidOfferEmitter.event;

    constructor(protected readonly session: CollaborationSession, protected readonly logger: { warn(...args: unknown[]): void } = console) {
        this.toDispose.push(
            session.onBroadcast(FollowMessages.PresenterOffer, (params, sender) => {
                if (!mayOfferPresenter(sender.id, this.state) || !session.getPeer(params.to)) {
                    return;
                }
                this._offers.set(params.to, sender.id);
                this.onDidOfferEmitter.fire({ to: params.to, from: sender });
            }),
            session.onBroadcast(FollowMessages.Presenter, (params, sender) => {
                if (!mayAnnouncePresenter({ sender: sender.id, presenter: params.presenter }, this.state)) {
                    return;
                }
                if (params.presenter !== null && !session.getPeer(params.presenter)) {
                    return;
                }
                this.announcements++;
                this.set(params.presenter ?? undefined);
            }),
            session.onRequest(FollowMessages.PresenterState, (_params, sender) => {
                if (!session.getPeer(sender.id)) {
                    throw new CollaborationError('not-member', 'Only participants of the session can ask who presents.');
                }
                return { presenter: this._presenter ?? null };
            }),
            session.onPeerLeft(({ peer }) => {
                this._offers.delete(peer.id);
                if (this._presenter === peer.id) {
                    this.set(undefined);
                }
            }),
            session.onMissedMessages(() => this.resync())
        );
    }

    get presenter(): string | undefined {
        return this._presenter;
    }

    get offers(): ReadonlyMap<string, string> {
        return this._offers;
    }

    /** What `mayOfferPresenter` and `mayAnnouncePresenter` check against. */
    get state(): { host: string; presenter: string | undefined; offers: ReadonlyMap<string, string> } {
        return { host: this.session.host.id, presenter: this._presenter, offers: this._offers };
    }

    /** Guests: asks the host who presents (a late joiner learns it). */
    start(): Promise<void> {
        return this.resync();
    }

    /** Records an offer this peer made itself (its own broadcasts do not come back to it). */
    offer(to: string, from: string): void {
        this._offers.set(to, from);
    }

    /** Sets the presenter as this peer knows it (its own announcements, checked by the caller); fires on a change. */
    set(presenter: string | undefined): void {
        if (this.disposed) {
            return;
        }
        const previous = this._presenter;
        this._presenter = presenter;
        this._offers.clear();
        if (previous !== presenter) {
            this.onDidChangeEmitter.fire({ previous, presenter });
        }
    }

    /**
     * Asks who presents now: guests ask the host; the host asks the presenter it knows (nobody when it knows none
     * or presents itself). An announcement taken meanwhile is newer and stands.
     */
    async resync(): Promise<void> {
        if (this.disposed || this.session.closed) {
            return;
        }
        const target = this.session.isHost ? this._presenter : this.session.host.id;
        if (target === undefined || target === this.session.self.id) {
            return;
        }
        const announcements = this.announcements;
        try {
            const { presenter } = await this.session.sendRequest(FollowMessages.PresenterState, {}, { target });
            if (this.disposed || this.announcements !== announcements) {
                return;
            }
            if (this.session.isHost && this._presenter !== target) {
                return; // the role changed meanwhile
            }
            if (presenter === null || this.session.getPeer(presenter)) {
                this.set(presenter ?? undefined);
            }
        } catch (error) {
            if (!this.disposed && !this.session.closed) {
                this.logger.warn('collaboration: could not learn who presents', CollaborationError.from(error).message);
            }
        }
    }

    dispose(): void {
        if (!this.disposed) {
            this.disposed = true;
            this.toDispose.splice(0).forEach(disposable => disposable.dispose());
            this.onDidChangeEmitter.dispose();
            this.onDidOfferEmitter.dispose();
        }
    }
}
