import { ChatLimits, ChatMessage } from './chat-protocol';

export interface ChatAuthor { id: string; name: string }

/**
 * Messages ordered by their host-assigned id, without duplicates, keeping the newest `limit`.
 * The host stamps new messages with `post`; everyone merges what arrives with `add`.
 */
export class ChatHistory {
    protected items: ChatMessage[] = [];
    protected nextId = 1;

    constructor(readonly limit: number = ChatLimits.maxHistory) {
        if (!Number.isInteger(limit) || limit < 1) {
            throw new RangeError(`invalid chat history size ${limit}`);
        }
    }

    get messages(): readonly ChatMessage[] {
        return this.items;
    }

    get size(): number {
        return this.items.length;
    }

    /** Host: stamps `text` with the author and time and keeps it. */
    post(author: ChatAuthor, text: string, time: number = Date.now()): ChatMessage {
        const message: ChatMessage = { id: this.nextId, authorId: author.id, authorName: author.name, time: Math.max(0, Math.floor(time)), text };
        this.add(message);
        return message;
    }

    /** Keeps `message` in id order; returns false for a duplicate or one older than everything kept in a full history. */
    add(message: ChatMessage): boolean {
        this.nextId = Math.max(this.nextId, message.id + 1);
        const items = this.items;
        if (!items.length || items[items.length - 1].id < message.id) {
            items.push(message);
        } else {
            let low = 0;
            let high = items.length;
            while (low < high) {
                const middle = (low + high) >>> 1;
                if (items[middle].id < message.id) {
                    low = middle + 1;
                } else {
                    high = middle;
                }
            }
            if (items[low]?.id === message.id) {
                return false;
            }
            if (low === 0 && items.length >= this.limit) {
                return false;
            }
            items.splice(low, 0, message);
        }
        if (items.length > this.limit) {
            items.splice(0, items.length - this.limit);
        }
        return true;
    }

    clear(): void {
        this.items = [];
    }
}
