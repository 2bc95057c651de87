/**
 * The poll's messages. A definition is a value: a method name, a zod validator for what arrives from other
 * peers (checked before any handler runs) and, where it matters, the permission a sender needs. Both sides
 * import the same values, so payload and result types flow into `sendRequest`, `onRequest` and friends.
 */
import { z } from 'zod';
import { Broadcast, Request } from '@theia-collab/extension/lib/common';

export namespace PollLimits {
    export const maxQuestion = 200;
    export const maxOption = 80;
    export const minOptions = 2;
    export const maxOptions = 6;
    export const maxVoters = 1000;
}

const Question = z.string().trim().min(1, 'a poll needs a question').max(PollLimits.maxQuestion);
const OptionText = z.string().trim().min(1, 'an option may not be empty').max(PollLimits.maxOption);
const PollId = z.string().min(1).max(64);
const OptionIndex = z.number().int().min(0).max(PollLimits.maxOptions - 1);

export const StartPollParams = z.object({
    question: Question,
    options: z.array(OptionText).min(PollLimits.minOptions).max(PollLimits.maxOptions)
        .refine(options => new Set(options.map(option => option.toLowerCase())).size === options.length, 'options must differ'),
    /** Whether everyone sees who voted for what (default: only the counts). */
    showVoters: z.boolean().optional()
}).strict();
export type StartPollParams = z.infer<typeof StartPollParams>;

/** What everyone sees of the current poll. `revision` grows with every change, so older news is ignored. */
export const PollState = z.object({
    id: PollId,
    revision: z.number().int().nonnegative(),
    question: Question,
    options: z.array(OptionText).min(PollLimits.minOptions).max(PollLimits.maxOptions),
    counts: z.array(z.number().int().nonnegative()).max(PollLimits.maxOptions),
    showVoters: z.boolean(),
    /** Who voted for which option; only when the host started the poll with `showVoters`. */
    voters: z.array(z.object({ name: z.string().max(200), option: OptionIndex })).max(PollLimits.maxVoters).optional()
}).strict();
export type PollState = z.infer<typeof PollState>;

export const CastVoteParams = z.object({ pollId: PollId, option: OptionIndex }).strict();
export type CastVoteParams = z.infer<typeof CastVoteParams>;

/** The current poll (none yet: `poll` is null) and the asking peer's own vote in it. */
export const PollSnapshot = z.object({ poll: PollState.nullable(), vote: OptionIndex.nullable() }).strict();
export type PollSnapshot = z.infer<typeof PollSnapshot>;

export namespace PollMessages {
    /** To the host: start a poll, replacing the current one. The host answers only itself unless it allows guests. */
    export const StartPoll = Request.define<StartPollParams, PollState>('example-poll/start', {
        params: StartPollParams, result: PollState, requires: 'readwrite'
    });
    /** To the host: one vote per peer and poll. Read-only peers are refused with `forbidden` before the handler runs. */
    export const CastVote = Request.define<CastVoteParams, PollState>('example-poll/vote', {
        params: CastVoteParams, result: PollState, requires: 'readwrite'
    });
    /** From the host to everyone else, after every change. */
    export const PollChanged = Broadcast.define<PollState>('example-poll/changed', { params: PollState });
    /** To the host: the current poll, for late joiners and after missed messages. Anyone may ask. */
    export const GetPoll = Request.define<{}, PollSnapshot>('example-poll/get', {
        params: z.object({}).strict(), result: PollSnapshot
    });

    export const all = [StartPoll, CastVote, PollChanged, GetPoll];
}
