import * as React from '@theia/core/shared/react';
import { inject, injectable, postConstruct } from '@theia/core/shared/inversify';
import { Message } from '@theia/core/shared/@lumino/messaging';
import { ReactWidget } from '@theia/core/lib/browser/widgets/react-widget';
import { codicon } from '@theia/core/lib/browser/widgets/widget';
import { BadgeWidget } from '@theia/core/lib/browser/view-container';
import { Emitter } from '@theia/core/lib/common/event';
import { MessageService } from '@theia/core/lib/common/message-service';
import { nls } from '@theia/core/lib/common/nls';
import { CollaborationError } from '@theia-collab/protocol';
import { authorColor } from '../../common/chat/chat-colors';
import { ChatLimits, ChatMessage, utf8Length } from '../../common/chat/chat-protocol';
import { CollaborationChatService } from './chat-service';

/** The session chat. Messages are rendered as React text only: markup in them stays text. */
@injectable()
export class CollaborationChatWidget extends ReactWidget implements BadgeWidget {
    static readonly ID = 'collaboration-chat';
    static readonly LABEL = nls.localize('collaboration/chat/title', 'Collaboration Chat');

    @inject(CollaborationChatService) protected readonly chat: CollaborationChatService;
    @inject(MessageService) protected readonly messageService: MessageService;

    protected readonly onDidChangeBadgeEmitter = new Emitter<void>();
    readonly onDidChangeBadge = this.onDidChangeBadgeEmitter.event;
    protected readonly onDidChangeBadgeTooltipEmitter = new Emitter<void>();
    readonly onDidChangeBadgeTooltip = this.onDidChangeBadgeTooltipEmitter.event;

    protected lastBadge = 0;

    @postConstruct()
    protected init(): void {
        this.id = CollaborationChatWidget.ID;
        this.title.label = CollaborationChatWidget.LABEL;
        this.title.caption = CollaborationChatWidget.LABEL;
        this.title.iconClass = codicon('comment-discussion');
        this.title.closable = true;
        this.addClass('collaboration-chat');
        // The message list scrolls by itself; the input stays in place.
        this.scrollOptions = undefined;
        this.node.tabIndex = -1;
        this.toDispose.pushAll([
            this.onDidChangeBadgeEmitter,
            this.onDidChangeBadgeTooltipEmitter,
            this.chat.onDidChange(() => {
                if (this.isVisible && this.chat.unread) {
                    this.chat.markRead();
                }
                this.updateBadge();
                this.update();
            })
        ]);
        this.update();
    }

    get badge(): number | undefined {
        return this.chat.unread || undefined;
    }

    get badgeTooltip(): string | undefined {
        return this.chat.unread ? nls.localize('collaboration/chat/unread', '{0} unread messages', this.chat.unread) : undefined;
    }

    protected updateBadge(): void {
        if (this.lastBadge !== this.chat.unread) {
            this.lastBadge = this.chat.unread;
            this.onDidChangeBadgeEmitter.fire();
            this.onDidChangeBadgeTooltipEmitter.fire();
        }
    }

    protected override onAfterShow(msg: Message): void {
        super.onAfterShow(msg);
        this.chat.markRead();
    }

    protected override onActivateRequest(msg: Message): void {
        super.onActivateRequest(msg);
        this.chat.markRead();
        const input = this.node.querySelector('textarea');
        (input ?? this.node).focus();
    }

    protected render(): React.ReactNode {
        return <ChatView
            messages={this.chat.history}
            selfId={this.chat.selfId}
            active={this.chat.active}
            onSend={text => this.send(text)} />;
    }

    protected async send(text: string): Promise<boolean> {
        try {
            await this.chat.send(text);
            return true;
        } catch (error) {
            this.messageService.error(nls.localize('collaboration/chat/sendFailed', 'Your message was not sent: {0}',
                CollaborationError.from(error).message));
            return false;
        }
    }
}

interface ChatViewProps {
    messages: readonly ChatMessage[];
    selfId: string | undefined;
    active: boolean;
    onSend(text: string): Promise<boolean>;
}

function formatTime(time: number): string {
    return new Date(time).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function ChatView({ messages, selfId, active, onSend }: ChatViewProps): React.ReactElement {
    const [draft, setDraft] = React.useState('');
    const [sending, setSending] = React.useState(false);
    const list = React.useRef<HTMLDivElement>(null);
    const stickToBottom = React.useRef(true);

    React.useLayoutEffect(() => {
        const element = list.current;
        if (element && stickToBottom.current) {
            element.scrollTop = element.scrollHeight;
        }
    }, [messages.length, messages[messages.length - 1]?.id]);

    const bytes = utf8Length(draft);
    const tooLong = bytes > ChatLimits.maxMessageBytes;
    const canSend = active && !sending && !tooLong && draft.trim().length > 0;

    const submit = async () => {
        if (!canSend) {
            return;
        }
        setSending(true);
        stickToBottom.current = true;
        const sent = await onSend(draft);
        setSending(false);
        if (sent) {
            setDraft('');
        }
    };

    return <div className='collaboration-chat-body'>
        <div className='collaboration-chat-messages' ref={list} role='log' aria-live='polite'
            onScroll={event => {
                const element = event.currentTarget;
                stickToBottom.current = element.scrollHeight - element.scrollTop - element.clientHeight < 24;
            }}>
            {messages.length === 0 && <div className='collaboration-chat-empty'>
                {active
                    ? nls.localize('collaboration/chat/empty', 'No messages yet. Say hello to the participants.')
                    : nls.localize('collaboration/chat/noSession', 'Start or join a collaboration session to chat.')}
            </div>}
            {messages.map(message => <div key={message.id}
                className={'collaboration-chat-message' + (message.authorId === selfId ? ' collaboration-chat-message-own' : '')}>
                <div className='collaboration-chat-header'>
                    <span className='collaboration-chat-author' style={{ color: authorColor(message.authorId) }}>{message.authorName}</span>
                    <span className='collaboration-chat-time' title={new Date(message.time).toLocaleString()}>{formatTime(message.time)}</span>
                </div>
                <div className='collaboration-chat-text'>{message.text}</div>
            </div>)}
        </div>
        <div className='collaboration-chat-compose'>
            <textarea className='theia-input collaboration-chat-input'
                rows={2}
                value={draft}
                disabled={!active}
                placeholder={active
                    ? nls.localize('collaboration/chat/placeholder', 'Message (Enter to send, Shift+Enter for a new line)')
                    : nls.localize('collaboration/chat/noSessionShort', 'Not in a session')}
                aria-label={nls.localize('collaboration/chat/inputLabel', 'Chat message')}
                onChange={event => setDraft(event.currentTarget.value)}
                onKeyDown={event => {
                    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
                        event.preventDefault();
                        event.stopPropagation();
                        submit();
                    }
                }} />
            <div className='collaboration-chat-actions'>
                <span className={'collaboration-chat-counter' + (tooLong ? ' collaboration-chat-counter-over' : '')}>
                    {bytes > ChatLimits.maxMessageBytes * 0.75 ? `${bytes} / ${ChatLimits.maxMessageBytes}` : ''}
                </span>
                <button className='theia-button collaboration-chat-send' disabled={!canSend} onClick={() => submit()}>
                    {nls.localize('collaboration/chat/send', 'Send')}
                </button>
            </div>
        </div>
    </div>;
}
