/**
 * Following and presenting. Who follows whom is part of each peer's awareness state (`following`); these
 * messages are the requests around it: "focus participants" (everyone, follow me) and the presenter role,
 * which the host or the current presenter offers and the offered participant accepts.
 */
import { z } from 'zod';
import { Broadcast } from '@theia-collab/protocol/lib/messages';
import { PeerId } from '@theia-collab/protocol/lib/wire';

export const FocusParams = z.object({}).strict();
export type FocusParams = z.infer<typeof FocusParams>;

export const PresenterOfferParams = z.object({ to: PeerId }).strict();
export type PresenterOfferParams = z.infer<typeof PresenterOfferParams>;

export const PresenterParams = z.object({ presenter: PeerId.nullable() }).strict();
export type PresenterParams = z.infer<typeof PresenterParams>;

export namespace FollowMessages {
    /** The sender asks everyone to follow them. */
    export const Focus = Broadcast.define<FocusParams>('follow/focus', { params: FocusParams });
    /** The host or the presenter offers the presenter role to `to` (broadcast, so everyone can check an acceptance). */
    export const PresenterOffer = Broadcast.define<PresenterOfferParams>('follow/presenterOffer', { params: PresenterOfferParams });
    /** Who presents from now on (`null`: nobody). */
    export const Presenter = Broadcast.define<PresenterParams>('follow/presenter', { params: PresenterParams });
    export const all = [Focus, PresenterOffer, Presenter] as const;
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
