/**
 * The extension point: the collaboration extension calls `onSessionStarted` for every session this window hosts
 * or joins, and holds incoming messages until every contribution's `onSessionStarted` has run, so the handlers
 * the PollSession registers miss nothing. What it returns is disposed when the session ends.
 */
import { injectable } from '@theia/core/shared/inversify';
import { Emitter, Event } from '@theia/core/lib/common/event';
import { CollaborationContribution, CollaborationSession, Disposable, MessageDefinition } from '@theia-collab/extension/lib/browser';
import { PollMessages } from '../common/poll-messages';
import { PollSession, PollView } from '../common/poll-session';

@injectable()
export class PollContribution implements CollaborationContribution {
    /** What this feature speaks: lets other peers ask `session.isAvailable(PollMessages.CastVote)`. */
    readonly messages: readonly MessageDefinition[] = PollMessages.all;

    protected _poll: PollSession | undefined;

    protected readonly onDidChangeEmitter = new Emitter<PollView | undefined>();
    /** A session started or ended, a poll started, or its counts changed. */
    readonly onDidChange: Event<PollView | undefined> = this.onDidChangeEmitter.event;

    /** The poll of this window's session, while there is one. */
    get poll(): PollSession | undefined {
        return this._poll;
    }

    onSessionStarted(session: CollaborationSession): Disposable {
        const poll = this._poll = new PollSession(session);
        const listener = poll.onDidChange(view => this.onDidChangeEmitter.fire(view));
        // A guest joining late asks the host what is being voted on; the answer arrives once delivery starts.
        poll.refresh();
        this.onDidChangeEmitter.fire(poll.view);
        return Disposable.create(() => {
            listener.dispose();
            poll.dispose();
            if (this._poll === poll) {
                this._poll = undefined;
                this.onDidChangeEmitter.fire(undefined);
            }
        });
    }
}
