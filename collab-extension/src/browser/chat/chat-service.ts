import { injectable } from '@theia/core/shared/inversify';
import { Emitter, Event } from '@theia/core/lib/common/event';
import { CollaborationError, CollaborationSession, Disposable, MessageDefinition } from '@theia-collab/protocol';
import { CollaborationContribution } from '../collaboration-contribution';
import { ChatChannel } from '../../common/chat/chat-channel';
import { ChatMessage, ChatMessages } from '../../common/chat/chat-protocol';

/** The chat of this window's session; keeps the last session's messages readable after it ends. */
@injectable()
export class CollaborationChatService implements CollaborationContribution {

    readonly messages: readonly MessageDefinition[] = ChatMessages.all;

    protected channel: ChatChannel | undefined;
    protected session: CollaborationSession | undefined;
    protected _unread = 0;

    protected readonly onDidChangeEmitter = new Emitter<void>();
    /** Messages, the session or the unread count changed. */
    readonly onDidChange: Event<void> = this.onDidChangeEmitter.event;
    protected readonly onDidReceiveEmitter = new Emitter<ChatMessage>();
    /** A new message from someone else. */
    readonly onDidReceive: Event<ChatMessage> = this.onDidReceiveEmitter.event;

    get history(): readonly ChatMessage[] {
        return this.channel?.messages ?? [];
    }

    get active(): boolean {
        return !!this.session && !this.session.closed;
    }

    get selfId(): string | undefined {
        return this.session?.self.id;
    }

    get unread(): number {
        return this._unread;
    }

    onSessionStarted(session: CollaborationSession): Disposable {
        this.channel?.dispose();
        this.session = session;
        this._unread = 0;
        const channel = this.channel = new ChatChannel(session);
        const toDispose = [
            channel.onDidChange(() => this.onDidChangeEmitter.fire()),
            channel.onDidReceive(message => {
                if (message.authorId !== session.self.id) {
                    this._unread++;
                    this.onDidReceiveEmitter.fire(message);
                    this.onDidChangeEmitter.fire();
                }
            })
        ];
        channel.start().catch(error => {
            if (!session.closed) {
                console.warn('collaboration: could not load the chat history', CollaborationError.from(error).message);
            }
        });
        this.onDidChangeEmitter.fire();
        return Disposable.create(() => {
            toDispose.forEach(disposable => disposable.dispose());
            // Unregisters from the session; the messages stay readable.
            channel.dispose();
            if (this.session === session) {
                // The history stays visible; only sending stops.
                this.session = undefined;
                this.onDidChangeEmitter.fire();
            }
        });
    }

    async send(text: string): Promise<ChatMessage> {
        if (!this.channel || !this.active) {
            throw new CollaborationError('not-member', 'Start or join a collaboration session to chat.');
        }
        return this.channel.send(text);
    }

    markRead(): void {
        if (this._unread) {
            this._unread = 0;
            this.onDidChangeEmitter.fire();
        }
    }
}
