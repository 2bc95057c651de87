/**
 * Chat: guests send text to the host, which stamps author and time from the authenticated sender and
 * rebroadcasts, so nobody can speak under another name. The host keeps a bounded history.
 */
import { z } from 'zod';
import { Broadcast, Limits, Request } from '@theia-collab/protocol';

export const ChatLimits = {
    /** Longest message, in UTF-8 bytes. */
    maxMessageBytes: 4096,
    /** Messages the host keeps for late joiners. */
    maxHistory: 500
} as const;

export function utf8Length(text: string): number {
    return new TextEncoder().encode(text).byteLength;
}

export const ChatText = z.string()
    .refine(text => text.trim().length > 0, { message: 'empty message' })
    .refine(text => text.length <= ChatLimits.maxMessageBytes && utf8Length(text) <= ChatLimits.maxMessageBytes,
        { message: `messages are limited to ${ChatLimits.maxMessageBytes} bytes` });

export const ChatMessage = z.object({
    /** Assigned by the host, increasing. */
    id: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    authorId: z.string().min(1).max(Limits.maxIdLength),
    authorName: z.string().max(Limits.maxNameLength),
    /** Milliseconds since the epoch, by the host's clock. */
    time: z.number().int().nonnegative().max(8.64e15),
    text: ChatText
}).strict();
export type ChatMessage = z.infer<typeof ChatMessage>;

export const ChatSendParams = z.object({ text: ChatText }).strict();
export type ChatSendParams = z.infer<typeof ChatSendParams>;

export const ChatHistoryParams = z.object({}).strict();
export const ChatHistoryResult = z.object({ messages: z.array(ChatMessage).max(ChatLimits.maxHistory) }).strict();
export type ChatHistoryResult = z.infer<typeof ChatHistoryResult>;

export namespace ChatMessages {
    /** Guest → host: post a message; answered with the message as stamped. */
    export const Send = Request.define<ChatSendParams, ChatMessage>('chat/send', { params: ChatSendParams, result: ChatMessage });
    /** Host → everyone: a stamped message. */
    export const Posted = Broadcast.define<ChatMessage>('chat/message', { params: ChatMessage });
    /** Guest → host: the kept history, for late joiners. */
    export const History = Request.define<{}, ChatHistoryResult>('chat/history', { params: ChatHistoryParams, result: ChatHistoryResult });

    export const all = [Send, Posted, History] as const;
}
