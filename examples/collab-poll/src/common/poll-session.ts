/**
 * The poll feature on the session API alone: no Theia, no DOM, no Node, so it runs in a spec with the test kit
 * exactly as in the browser. The host keeps the tally and decides; guests ask it and show what it broadcasts.
 */
import {
    CollaborationError, CollaborationSession, Disposable, Emitter, Event, Peer
} from '@theia-collab/extension/lib/common';
import { CastVoteParams, PollMessages, PollSnapshot, PollState, StartPollParams } from './poll-messages';

export { PollLimits, PollMessages, PollSnapshot, PollState, StartPollParams } from './poll-messages';

export interface PollSessionOptions {
    /** Whether read-write guests may start polls too (default: only the host). */
    guestsMayStart?: boolean;
}

/** The current poll as this peer sees it, with its own vote. */
export interface PollView {
    readonly poll: PollState;
    /** The option this peer voted for, if it did. */
    readonly vote?: number;
}

export class PollSession implements Disposable {
    protected readonly toDispose: Disposable[] = [];
    protected current: PollState | undefined;
    protected ownVote: number | undefined;
    /** Host: the votes of the current poll, by peer id. */
    protected readonly votes = new Map<string, { name: string; option: number }>();
    protected nextPoll = 1;
    protected revision = 0;
    protected disposed = false;

    protected readonly onDidChangeEmitter = new Emitter<PollView | undefined>();
    /** The poll or the counts changed (also when a late joiner learnt the current poll). */
    readonly onDidChange: Event<PollView | undefined> = this.onDidChangeEmitter.event;

    constructor(protected readonly session: CollaborationSession, protected readonly options: PollSessionOptions = {}) {
        if (session.isHost) {
            // Requests go to the host by default: its handlers are where the rules are enforced.
            this.toDispose.push(
                session.onRequest(PollMessages.StartPoll, (params, sender) => {
                    this.checkMember(sender);
                    if (!this.options.guestsMayStart) {
                        throw new CollaborationError('forbidden', 'Only the host starts polls.');
                    }
                    return this.startAsHost(params);
                }),
                session.onRequest(PollMessages.CastVote, (params, sender) => this.castAsHost(this.checkMember(sender), params)),
                session.onRequest(PollMessages.GetPoll, (_params, sender) => this.snapshotFor(this.checkMember(sender).id))
            );
        } else {
            this.toDispose.push(
                session.onBroadcast(PollMessages.PollChanged, (state, sender) => {
                    // Only the host speaks for the poll; anyone else's broadcast is ignored.
                    if (sender.id === session.host.id) {
                        this.receive(state);
                    }
                }),
                // Broadcasts lost for good during an outage: ask the host again.
                session.onMissedMessages(() => this.refresh()),
                session.onDidChangeHostConnection(state => state === 'connected' && this.refresh())
            );
        }
    }

    get view(): PollView | undefined {
        return this.current && { poll: this.current, vote: this.ownVote };
    }

    get isHost(): boolean {
        return this.session.isHost;
    }

    /** Guests: asks the host for the current poll (late joiners call this once the session started). */
    async refresh(): Promise<PollView | undefined> {
        if (this.session.isHost || this.disposed || this.session.closed) {
            return this.view;
        }
        try {
            const snapshot = await this.session.sendRequest(PollMessages.GetPoll, {});
            if (snapshot.poll) {
                this.receive(snapshot.poll, snapshot.vote ?? undefined);
            }
        } catch (error) {
            if (!this.disposed && !this.session.closed) {
                console.warn('example-poll: could not fetch the current poll', CollaborationError.from(error).message);
            }
        }
        return this.view;
    }

    /** Starts a poll (the host directly; a guest asks the host, which refuses unless it allows guests). */
    async start(params: StartPollParams): Promise<PollState> {
        const checked = this.validate(params);
        if (this.session.isHost) {
            return this.startAsHost(checked);
        }
        const state = await this.session.sendRequest(PollMessages.StartPoll, checked);
        this.receive(state, undefined);
        return state;
    }

    /** Votes for option number `option` of the current poll. */
    async vote(option: number): Promise<PollState> {
        if (!this.current) {
            throw new CollaborationError('not-found', 'There is no poll to vote in.');
        }
        const params: CastVoteParams = { pollId: this.current.id, option };
        if (this.session.isHost) {
            return this.castAsHost(this.session.self, params);
        }
        const state = await this.session.sendRequest(PollMessages.CastVote, params);
        this.receive(state, option);
        return state;
    }

    dispose(): void {
        if (!this.disposed) {
            this.disposed = true;
            this.toDispose.forEach(disposable => disposable.dispose());
            this.onDidChangeEmitter.dispose();
        }
    }

    protected validate(params: StartPollParams): StartPollParams {
        const result = StartPollParams.safeParse(params);
        if (!result.success) {
            throw new CollaborationError('invalid-params', result.error.issues[0]?.message ?? 'invalid poll');
        }
        return result.data;
    }

    /** Host: the sender as the session knows it now; someone who left (or never was) gets `not-member`. */
    protected checkMember(sender: Peer): Peer {
        const peer = this.session.getPeer(sender.id);
        if (!peer) {
            throw new CollaborationError('not-member', 'Only participants of the session take part in its poll.');
        }
        return peer;
    }

    protected startAsHost(params: StartPollParams): PollState {
        const checked = this.validate(params);
        this.votes.clear();
        this.ownVote = undefined;
        this.current = {
            id: `poll-${this.nextPoll++}`,
            revision: ++this.revision,
            question: checked.question,
            options: checked.options,
            counts: checked.options.map(() => 0),
            showVoters: checked.showVoters ?? false,
            voters: checked.showVoters ? [] : undefined
        };
        return this.publish();
    }

    protected castAsHost(voter: Peer, { pollId, option }: CastVoteParams): PollState {
        const poll = this.current;
        if (!poll || poll.id !== pollId) {
            throw new CollaborationError('not-found', 'That poll is over.');
        }
        if (option >= poll.options.length) {
            throw new CollaborationError('invalid-params', `The poll has ${poll.options.length} options.`);
        }
        if (this.votes.has(voter.id)) {
            throw new CollaborationError('already-voted', 'You already voted in this poll.');
        }
        this.votes.set(voter.id, { name: voter.name, option });
        if (voter.id === this.session.self.id) {
            this.ownVote = option;
        }
        const votes = [...this.votes.values()];
        this.current = {
            ...poll,
            revision: ++this.revision,
            counts: poll.options.map((_, index) => votes.filter(vote => vote.option === index).length),
            voters: poll.showVoters ? votes.map(({ name, option: chosen }) => ({ name, option: chosen })) : undefined
        };
        return this.publish();
    }

    protected snapshotFor(peerId: string): PollSnapshot {
        return { poll: this.current ?? null, vote: this.votes.get(peerId)?.option ?? null };
    }

    /** Host: tells everyone else and this window. A failed broadcast is logged: guests catch up with `GetPoll`. */
    protected publish(): PollState {
        const state = this.current!;
        this.session.sendBroadcast(PollMessages.PollChanged, state).catch(error => {
            if (!this.session.closed) {
                console.warn('example-poll: could not broadcast the poll', CollaborationError.from(error).message);
            }
        });
        this.onDidChangeEmitter.fire(this.view);
        return state;
    }

    /** Guests: keeps the newest state the host sent (answers and broadcasts may cross). */
    protected receive(state: PollState, vote?: number): void {
        if (this.disposed) {
            return;
        }
        const stale = this.current !== undefined && state.revision < this.current.revision;
        if (vote !== undefined && (stale ? this.current?.id === state.id : true)) {
            this.ownVote = vote;
        } else if (!stale && this.current?.id !== state.id) {
            this.ownVote = undefined;
        }
        if (!stale) {
            this.current = state;
        }
        this.onDidChangeEmitter.fire(this.view);
    }
}
