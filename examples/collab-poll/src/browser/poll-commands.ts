/**
 * The poll's user interface: "Collaboration: Start Poll..." (host: a question, then the options, one at a time),
 * "Collaboration: Vote..." (a quick pick of the options), the counts in a status bar item and a notification
 * when someone else starts a poll.
 */
import { inject, injectable, postConstruct } from '@theia/core/shared/inversify';
import { Command, CommandContribution, CommandRegistry } from '@theia/core/lib/common/command';
import { MessageService } from '@theia/core/lib/common/message-service';
import { nls } from '@theia/core/lib/common/nls';
import { QuickInputService, QuickPickItem } from '@theia/core/lib/common/quick-pick-service';
import { StatusBar, StatusBarAlignment } from '@theia/core/lib/browser/status-bar/status-bar-types';
import { CollaborationError } from '@theia-collab/extension/lib/browser';
import { PollLimits, PollState } from '../common/poll-messages';
import { PollView } from '../common/poll-session';
import { PollContribution } from './poll-contribution';

export namespace PollCommands {
    const CATEGORY = 'Collaboration';
    export const START: Command = Command.toLocalizedCommand(
        { id: 'example-poll.start', category: CATEGORY, label: 'Start Poll...' }, 'theia-collab/poll/start', 'collaboration/category');
    export const VOTE: Command = Command.toLocalizedCommand(
        { id: 'example-poll.vote', category: CATEGORY, label: 'Vote...' }, 'theia-collab/poll/vote', 'collaboration/category');
}

export const POLL_STATUS_ID = 'example-poll-status';

/** "Pizza 2 · Salad 1" */
export function formatCounts(poll: PollState): string {
    return poll.options.map((option, index) => `${option} ${poll.counts[index] ?? 0}`).join(' · ');
}

@injectable()
export class PollCommandContribution implements CommandContribution {
    @inject(PollContribution) protected readonly polls: PollContribution;
    @inject(QuickInputService) protected readonly quickInput: QuickInputService;
    @inject(MessageService) protected readonly messages: MessageService;
    @inject(StatusBar) protected readonly statusBar: StatusBar;

    protected announced: string | undefined;

    @postConstruct()
    protected init(): void {
        this.polls.onDidChange(view => this.show(view));
    }

    registerCommands(commands: CommandRegistry): void {
        commands.registerCommand(PollCommands.START, {
            isEnabled: () => !!this.polls.poll?.isHost,
            isVisible: () => !!this.polls.poll?.isHost,
            execute: () => this.startPoll()
        });
        commands.registerCommand(PollCommands.VOTE, {
            isEnabled: () => !!this.polls.poll?.view,
            isVisible: () => !!this.polls.poll?.view,
            execute: () => this.vote()
        });
    }

    protected async startPoll(): Promise<void> {
        const poll = this.polls.poll;
        if (!poll) {
            return;
        }
        const title = nls.localize('theia-collab/poll/startTitle', 'Start Poll');
        const question = await this.quickInput.input({
            title,
            prompt: nls.localize('theia-collab/poll/question', 'The question to vote on'),
            ignoreFocusLost: true,
            validateInput: async value => value.trim().length === 0 || value.length > PollLimits.maxQuestion
                ? nls.localize('theia-collab/poll/questionInvalid', 'Enter a question of at most {0} characters.', PollLimits.maxQuestion) : undefined
        });
        if (!question?.trim()) {
            return;
        }
        const options: string[] = [];
        while (options.length < PollLimits.maxOptions) {
            const number = options.length + 1;
            const optional = options.length >= PollLimits.minOptions;
            const option = await this.quickInput.input({
                title: `${title}: ${question.trim()}`,
                prompt: optional
                    ? nls.localize('theia-collab/poll/optionOrStart', 'Option {0} (leave empty to start the poll)', number)
                    : nls.localize('theia-collab/poll/option', 'Option {0}', number),
                ignoreFocusLost: true,
                validateInput: async value => {
                    const text = value.trim();
                    if (!text && !optional) {
                        return nls.localize('theia-collab/poll/optionRequired', 'A poll needs at least {0} options.', PollLimits.minOptions);
                    }
                    if (options.some(existing => existing.toLowerCase() === text.toLowerCase())) {
                        return nls.localize('theia-collab/poll/optionTwice', 'That option is there already.');
                    }
                    return text.length > PollLimits.maxOption
                        ? nls.localize('theia-collab/poll/optionLong', 'At most {0} characters.', PollLimits.maxOption) : undefined;
                }
            });
            if (option === undefined) {
                return; // Escape: no poll.
            }
            if (!option.trim()) {
                break;
            }
            options.push(option.trim());
        }
        try {
            await poll.start({ question: question.trim(), options });
        } catch (error) {
            this.messages.error(nls.localize('theia-collab/poll/startFailed', 'Could not start the poll: {0}', CollaborationError.from(error).message));
        }
    }

    protected async vote(): Promise<void> {
        const poll = this.polls.poll;
        const view = poll?.view;
        if (!poll || !view) {
            return;
        }
        const items: (QuickPickItem & { index: number })[] = view.poll.options.map((option, index) => ({
            index,
            label: option,
            description: nls.localize('theia-collab/poll/votes', '{0} votes', view.poll.counts[index] ?? 0),
            detail: view.vote === index ? nls.localize('theia-collab/poll/yourVote', 'Your vote') : undefined
        }));
        const picked = await this.quickInput.showQuickPick(items, { title: view.poll.question, placeholder: nls.localize('theia-collab/poll/pick', 'Your vote') });
        if (!picked) {
            return;
        }
        try {
            const state = await poll.vote(picked.index);
            this.messages.info(nls.localize('theia-collab/poll/voted', 'You voted for {0}. {1}', picked.label, formatCounts(state)));
        } catch (error) {
            this.messages.error(nls.localize('theia-collab/poll/voteFailed', 'Your vote was not counted: {0}', CollaborationError.from(error).message));
        }
    }

    protected show(view: PollView | undefined): void {
        if (!view) {
            this.statusBar.removeElement(POLL_STATUS_ID);
            return;
        }
        this.statusBar.setElement(POLL_STATUS_ID, {
            text: `$(checklist) ${view.poll.question} ${formatCounts(view.poll)}`,
            tooltip: nls.localize('theia-collab/poll/statusTooltip', 'Poll: click to vote'),
            alignment: StatusBarAlignment.LEFT,
            priority: 10,
            className: POLL_STATUS_ID,
            command: PollCommands.VOTE.id
        });
        const poll = this.polls.poll;
        if (poll && !poll.isHost && this.announced !== view.poll.id) {
            this.announced = view.poll.id;
            this.messages.info(nls.localize('theia-collab/poll/started', 'New poll: {0}', view.poll.question), PollCommands.VOTE.label!).then(action => {
                if (action) {
                    this.vote();
                }
            });
        }
    }
}
