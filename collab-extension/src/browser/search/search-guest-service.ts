import { injectable } from '@theia/core/shared/inversify';
import { CollaborationSession, Disposable } from '@theia-collab/protocol';
import { CollaborationContribution } from '../collaboration-contribution';
import { SearchGuest } from '../../common/search/search-guest';
import { SearchMessages } from '../../common/search/search-messages';

/** Guest side of search: the SearchGuest of the session this window joined, while it lasts. */
@injectable()
export class SearchGuestService implements CollaborationContribution {

    readonly messages = SearchMessages.all;

    protected current: SearchGuest | undefined;

    /** The joined session's search client; `undefined` when this window is no guest. */
    get guest(): SearchGuest | undefined {
        return this.current && !this.current.session.closed ? this.current : undefined;
    }

    onSessionStarted(session: CollaborationSession): Disposable | void {
        if (session.isHost) {
            return;
        }
        const guest = new SearchGuest(session);
        this.current?.dispose();
        this.current = guest;
        return {
            dispose: () => {
                guest.dispose();
                if (this.current === guest) {
                    this.current = undefined;
                }
            }
        };
    }
}
