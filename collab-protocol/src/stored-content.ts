/**
 * Content the host stores on the server once, for members to fetch without the host (see `ContentPut` in
 * wire.ts). Every content is sealed with a key of its own, which travels in its reference, and references
 * travel only inside sealed session messages: so the room key may rotate (someone left) without making stored
 * content useless, and a peer that was removed never gets a reference to what is stored after. The additional
 * data binds every part to the room, the content id, its index and the whole content's size, so the server can
 * neither read, swap, reorder nor truncate parts.
 */
import { z } from 'zod';
import { ContentKey, decrypt, encrypt, fromBase64Url, randomBytes, toBase64Url, toBytes } from './crypto';
import { forEachIndex } from './concurrency';
import { CollaborationError } from './errors';
import type { SessionConnection } from './session-impl';
import { ContentGetResult, ContentId, Limits } from './wire';

/** Plaintext bytes per part: sealed, a part stays under every server's payload limit (`Limits.minPayloadBytes`). */
export const STORED_PART_BYTES = 512 * 1024;
/** Parts uploaded or fetched at a time. */
const PARALLEL_PARTS = 8;

/**
 * Names stored content and holds its key: plain data, to send inside session messages (which are sealed), never
 * anywhere else. Validate it on arrival.
 */
export const StoredContentRef = z.object({
    id: ContentId,
    bytes: z.number().int().nonnegative().max(Limits.maxContentParts * STORED_PART_BYTES),
    /** The AES-256-GCM key it is sealed with (base64url). */
    key: z.string().length(43).regex(/^[A-Za-z0-9_-]+$/)
}).strict();
export type StoredContentRef = z.infer<typeof StoredContentRef>;

const encoder = new TextEncoder();

function partCount(bytes: number): number {
    return Math.max(1, Math.ceil(bytes / STORED_PART_BYTES));
}

function partAad(roomId: string, ref: StoredContentRef, index: number): Uint8Array {
    return encoder.encode(JSON.stringify(['theia-collab/content/1', roomId, ref.id, index, partCount(ref.bytes), ref.bytes]));
}

export class StoredContent {
    constructor(
        protected readonly roomId: string,
        protected readonly connection: Pick<SessionConnection, 'request'>
    ) { }

    async store(data: Uint8Array): Promise<StoredContentRef> {
        if (data.byteLength > Limits.maxContentParts * STORED_PART_BYTES) {
            throw new CollaborationError('too-large', 'The content is too large to store on the server.');
        }
        const raw = randomBytes(32);
        const key = await ContentKey.fromRaw(raw);
        const ref: StoredContentRef = { id: toBase64Url(randomBytes(18)), bytes: data.byteLength, key: toBase64Url(raw) };
        raw.fill(0);
        const count = partCount(data.byteLength);
        try {
            await forEachIndex(count, PARALLEL_PARTS, async index => {
                const part = data.subarray(index * STORED_PART_BYTES, (index + 1) * STORED_PART_BYTES);
                const sealed = await encrypt(key, part, partAad(this.roomId, ref, index), false);
                await this.connection.request('content:put', { roomId: this.roomId, contentId: ref.id, index, count, data: sealed });
            });
        } catch (error) {
            // The parts already sent would hold server memory until they go stale.
            this.delete(ref).catch(() => { /* the connection is gone: so is the room's content, in time */ });
            throw error;
        }
        return ref;
    }

    async fetch(candidate: StoredContentRef): Promise<Uint8Array> {
        const parsed = StoredContentRef.safeParse(candidate);
        if (!parsed.success) {
            throw new CollaborationError('bad-request', 'Malformed stored content reference.');
        }
        const ref = parsed.data;
        const key = await ContentKey.fromRaw(fromBase64Url(ref.key));
        const whole = new Uint8Array(ref.bytes);
        const count = partCount(ref.bytes);
        await forEachIndex(count, PARALLEL_PARTS, async index => {
            const { data } = await this.connection.request<ContentGetResult>('content:get', { roomId: this.roomId, contentId: ref.id, index });
            const part = await decrypt(key, toBytes(data), partAad(this.roomId, ref, index), false);
            const offset = index * STORED_PART_BYTES;
            if (part.byteLength !== Math.min(STORED_PART_BYTES, ref.bytes - offset)) {
                throw new CollaborationError('bad-request', 'A stored content part has the wrong size.');
            }
            whole.set(part, offset);
        });
        return whole;
    }

    async delete(ref: StoredContentRef): Promise<void> {
        await this.connection.request('content:delete', { roomId: this.roomId, contentId: ref.id });
    }
}
