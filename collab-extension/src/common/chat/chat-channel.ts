/**
 * Chat over a collaboration session, free of DOM and Theia. The host stamps and keeps messages;
 * guests post through the host and fetch the history when they join.
 */
import { CollaborationError, CollaborationSession, Disposable, Emitter, Event, Peer } from '@theia-collab/protocol';
import { ChatAuthor, ChatHistory } from './chat-history';
import { ChatLimits, ChatMessage, ChatMessages, ChatText } from './chat-protocol';
import { ResendQueue } from '../resend-queue';

export interface ChatChannelOptions {
    historyLimit?: number;
    /** Messages one participant may post per `rateWindow` milliseconds. */
    rateLimit?: number;
    rateWindow?: number;
    now?: () => number;
}

export class ChatChannel implements Disposable {
    readonly history: ChatHistory;
    protected readonly toDispose: Disposable[] = [];
    protected readonly recentPosts = new Map<string, number[]>();
    protected disposed = false;
    protected readonly broadcasts: ResendQueue;

    protected readonly onDidReceiveEmitter = new Emitter<ChatMessage>();
    /** A new message, including this participant's own (not those of the history fetched on joining). */
    readonly onDidReceive: Event<ChatMessage> = this.onDidReceiveEmitter.event;
    protected readonly onDidChangeEmitter = new Emitter<void>();
    /** The history changed (new messages or the history of a session joined late). */
    readonly onDidChange: Event<void> = this.onDidChangeEmitter.event;

    constructor(protected readonly session: CollaborationSession, protected readonly options: ChatChannelOptions = {}) {
        this.history = new ChatHistory(options.historyLimit ?? ChatLimits.maxHistory);
        this.broadcasts = new ResendQueue(session, 'chat broadcast');
        this.toDispose.push(this.broadcasts);
        if (session.isHost) {
            this.toDispose.push(
                session.onRequest(ChatMessages.Send, (params, sender) => this.post(session.getPeer(sender.id), params.text)),
                session.onRequest(ChatMessages.History, () => ({ messages: [...this.history.messages] }))
            );
        } else {
            this.toDispose.push(session.onBroadcast(ChatMessages.Posted, (message, sender) => {
                if (sender.id === session.host.id) {
                    this.receive([message]);
                }
            }), session.onMissedMessages(() => this.resync()));
        }
    }

    get messages(): readonly ChatMessage[] {
        return this.history.messages;
    }

    /** Guests: fetches what was said before they joined. */
    async start(): Promise<void> {
        if (!this.session.isHost) {
            const { messages } = await this.session.sendRequest(ChatMessages.History, {});
            this.receive(messages, false);
        }
    }

    /**
     * Guests: after messages were lost for good (a long outage), fetches the host's history again and merges it:
     * messages already shown are not shown twice (by id), those missed arrive as new ones, in order.
     */
    protected resync(): void {
        if (this.disposed || this.session.closed) {
            return;
        }
        this.session.sendRequest(ChatMessages.History, {}).then(({ messages }) => {
            if (!this.disposed) {
                this.receive(messages);
            }
        }, error => {
            if (!this.session.closed && !this.disposed) {
                console.warn('collaboration: could not re-synchronise the chat', CollaborationError.from(error).message);
            }
        });
    }

    /** Posts `text`; resolves with the message as the host stamped it. */
    async send(text: string): Promise<ChatMessage> {
        const checked = ChatText.safeParse(text);
        if (!checked.success) {
            throw new CollaborationError('invalid-params', checked.error.issues[0]?.message ?? 'invalid message');
        }
        if (this.session.isHost) {
            return this.post(this.session.self, text);
        }
        const message = await this.session.sendRequest(ChatMessages.Send, { text });
        this.receive([message]);
        return message;
    }

    dispose(): void {
        if (!this.disposed) {
            this.disposed = true;
            this.toDispose.forEach(disposable => disposable.dispose());
            this.onDidReceiveEmitter.dispose();
            this.onDidChangeEmitter.dispose();
        }
    }

    /** Host: stamps a message from `author` (as the session knows it), keeps and broadcasts it. */
    protected post(author: Peer | undefined, text: string): ChatMessage {
        if (!author) {
            throw new CollaborationError('not-member', 'Only participants of the session can chat.');
        }
        this.checkRate(author.id);
        const stamped: ChatAuthor = { id: author.id, name: author.name };
        const message = this.history.post(stamped, text, (this.options.now ?? Date.now)());
        // Sent again after a dropped connection: guests recognise a message they have by its id.
        this.broadcasts.send(() => this.session.sendBroadcast(ChatMessages.Posted, message));
        this.onDidReceiveEmitter.fire(message);
        this.onDidChangeEmitter.fire();
        return message;
    }

    protected checkRate(peerId: string): void {
        const limit = this.options.rateLimit ?? 30;
        const window = this.options.rateWindow ?? 10_000;
        const now = (this.options.now ?? Date.now)();
        const recent = (this.recentPosts.get(peerId) ?? []).filter(time => now - time < window);
        if (recent.length >= limit) {
            this.recentPosts.set(peerId, recent);
            throw new CollaborationError('rate-limited', 'You are sending messages too fast; wait a moment.');
        }
        recent.push(now);
        this.recentPosts.set(peerId, recent);
    }

    protected receive(messages: readonly ChatMessage[], live = true): void {
        let changed = false;
        for (const message of messages) {
            if (this.history.add(message)) {
                changed = true;
                if (live) {
                    this.onDidReceiveEmitter.fire(message);
                }
            }
        }
        if (changed) {
            this.onDidChangeEmitter.fire();
        }
    }
}
