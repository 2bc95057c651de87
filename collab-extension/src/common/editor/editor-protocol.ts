/**
 * Co-editing wire contract. One Yjs document per shared text file, keyed by its workspace path
 * (`<rootName>/<relative>`). The host is the hub and the authority: guests open documents at the host,
 * send it their updates, and receive everyone else's updates from it only. Awareness (names, colours,
 * cursors, selections, visible ranges) is broadcast by every peer. Every payload is validated on arrival.
 */
import { z } from 'zod';
import { Broadcast, Notification, Request } from '@theia-collab/protocol/lib/messages';
import { StoredContentRef } from '@theia-collab/protocol/lib/stored-content';
import { Binary, Limits, PeerId } from '@theia-collab/protocol/lib/wire';
import { splitWorkspacePath } from '../collaboration-uri';

export const EditorLimits = {
    /**
     * Largest Yjs payload in one message; larger ones are split into parts of this size. Large parts keep
     * the per-message cost (sealing, relaying, a request each) small next to the bytes; servers accept
     * at least `Limits.minPayloadBytes`.
     */
    chunkBytes: 512 * 1024,
    /** `editor/fetch` requests a guest keeps in flight for one document. */
    fetchConcurrency: 8,
    /** Largest Yjs update (reassembled) or document state accepted. */
    maxUpdateBytes: 32 * 1024 * 1024,
    /** Largest shared text, in UTF-16 code units. */
    maxTextLength: 16 * 1024 * 1024,
    maxStateVectorBytes: 64 * 1024,
    maxAwarenessBytes: 32 * 1024,
    maxPathLength: 4096,
    /** Documents one guest may have open at the host. */
    maxOpenDocumentsPerPeer: 512,
    /** Partially received split updates kept per sender. */
    maxPartialUpdatesPerPeer: 8,
    /** Yjs client ids one peer may author. */
    maxClientIdsPerPeer: 4096,
    /** A pending `editor/fetch` transfer or a partial update is dropped after this long. */
    transferTtlMs: 2 * 60 * 1000,
    maxSelections: 64,
    maxColorLength: 32
} as const;

export const EditorPath = z.string().min(1).max(EditorLimits.maxPathLength)
    .refine(path => splitWorkspacePath(path) !== undefined, { message: 'invalid workspace path' });

const Generation = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/);
const TransferId = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/);
const Count = z.number().int().min(1).max(Math.ceil(EditorLimits.maxUpdateBytes / EditorLimits.chunkBytes));
const Index = z.number().int().min(0).max(Math.ceil(EditorLimits.maxUpdateBytes / EditorLimits.chunkBytes));

/** Yjs bytes: a Buffer in Node, a Uint8Array in browsers; at most one chunk per message. */
export const ChunkBytes = Binary(EditorLimits.chunkBytes + 1024);

// ---- editor/open: a peer starts editing a document (request to the host) ----

export const OpenParams = z.object({
    path: EditorPath,
    /** What the peer already has (Yjs state vector); empty for a fresh document. */
    stateVector: Binary(EditorLimits.maxStateVectorBytes),
    /** The host document generation the peer's state belongs to, if it has state. */
    generation: Generation.optional(),
    /** The stored state named in the last answer could not be fetched: the host sends all of it. */
    skipStored: z.literal(true).optional()
}).strict();
export type OpenParams = z.infer<typeof OpenParams>;

export const OpenResult = z.object({
    generation: Generation,
    /** The host's state vector: the peer sends what the host misses. */
    stateVector: Binary(EditorLimits.maxStateVectorBytes),
    /**
     * A large document's state, stored on the server by the host (`CollaborationSession.storeContent`): the
     * peer fetches it from there, then applies `update` (what changed since).
     */
    stored: StoredContentRef.optional(),
    /** What the peer misses, when it fits one message... */
    update: ChunkBytes.optional(),
    /** ... otherwise fetched in parts with `editor/fetch`. */
    transfer: z.object({ id: TransferId, count: Count }).strict().optional()
}).strict();
export type OpenResult = z.infer<typeof OpenResult>;

export const FetchParams = z.object({ id: TransferId, index: Index }).strict();
export type FetchParams = z.infer<typeof FetchParams>;
export const FetchResult = z.object({ data: ChunkBytes }).strict();
export type FetchResult = z.infer<typeof FetchResult>;

// ---- editor/update: a Yjs update (guest -> host, host -> guests) ----

export const UpdatePart = z.object({ id: TransferId, index: Index, count: Count }).strict();
export const UpdateParams = z.object({
    path: EditorPath,
    update: ChunkBytes,
    /** Set when the update was split; parts are reassembled before they are applied. */
    part: UpdatePart.optional()
}).strict();
export type UpdateParams = z.infer<typeof UpdateParams>;

export const PathParams = z.object({ path: EditorPath }).strict();
export type PathParams = z.infer<typeof PathParams>;

/** Host -> guest: an update was refused; the guest re-synchronises the document to the host state. */
export const RejectedParams = z.object({
    path: EditorPath,
    code: z.string().min(1).max(64),
    message: z.string().max(1024)
}).strict();
export type RejectedParams = z.infer<typeof RejectedParams>;

// ---- editor/moved, editor/removed: the host's file of an open document was renamed or deleted ----

/** Host -> guests that have the document open: it now lives at `to` (same state, same generation). */
export const MovedParams = z.object({ from: EditorPath, to: EditorPath }).strict();
export type MovedParams = z.infer<typeof MovedParams>;

/** Host -> guests that have the document open: its file was deleted; the document is gone. */
export const RemovedParams = z.object({ path: EditorPath }).strict();
export type RemovedParams = z.infer<typeof RemovedParams>;

export const SaveResult = z.object({ saved: z.boolean() }).strict();
export type SaveResult = z.infer<typeof SaveResult>;

// ---- awareness ----

export const AwarenessParams = z.object({ update: Binary(EditorLimits.maxAwarenessBytes) }).strict();
export type AwarenessParams = z.infer<typeof AwarenessParams>;

const YId = z.object({ client: z.number().int().nonnegative().max(2 ** 53), clock: z.number().int().nonnegative().max(2 ** 53) }).strict();
/** `Y.relativePositionToJSON` output: stays attached to the text under concurrent edits. */
export const RelativePositionJson = z.object({
    type: YId.nullish(),
    tname: z.string().max(64).nullish(),
    item: YId.nullish(),
    assoc: z.number().int().min(-1).max(0).optional()
}).strict();
export type RelativePositionJson = z.infer<typeof RelativePositionJson>;

export const AwarenessSelection = z.object({ anchor: RelativePositionJson, head: RelativePositionJson }).strict();
export type AwarenessSelection = z.infer<typeof AwarenessSelection>;

export const AwarenessState = z.object({
    /** The session peer id; checked against the sender. */
    peer: PeerId,
    name: z.string().max(Limits.maxNameLength),
    color: z.string().max(EditorLimits.maxColorLength).regex(/^#[0-9a-fA-F]{6}$/),
    /** Workspace path of the document in the peer's active editor. */
    document: EditorPath.optional(),
    /** All selections; the head of the first one is the primary caret. */
    selections: z.array(AwarenessSelection).max(EditorLimits.maxSelections).optional(),
    /** The visible part of the active editor, for followers. */
    visible: z.object({ start: RelativePositionJson, end: RelativePositionJson }).strict().optional(),
    /** The peer the state's owner currently follows. */
    following: PeerId.optional()
}).strict();
export type AwarenessState = z.infer<typeof AwarenessState>;

// ---- definitions ----

export namespace EditorMessages {
    export const Open = Request.define<OpenParams, OpenResult>('editor/open', { params: OpenParams, result: OpenResult });
    export const Fetch = Request.define<FetchParams, FetchResult>('editor/fetch', { params: FetchParams, result: FetchResult });
    export const Update = Notification.define<UpdateParams>('editor/update', { params: UpdateParams });
    /** The host's updates when several peers have the document open: one message instead of one per peer. */
    export const BroadcastUpdate = Broadcast.define<UpdateParams>('editor/broadcast-update', { params: UpdateParams });
    export const Close = Notification.define<PathParams>('editor/close', { params: PathParams });
    export const Rejected = Notification.define<RejectedParams>('editor/rejected', { params: RejectedParams });
    export const Save = Request.define<PathParams, SaveResult>('editor/save', { params: PathParams, result: SaveResult });
    export const Moved = Notification.define<MovedParams>('editor/moved', { params: MovedParams });
    export const Removed = Notification.define<RemovedParams>('editor/removed', { params: RemovedParams });
    export const Awareness = Broadcast.define<AwarenessParams>('editor/awareness', { params: AwarenessParams });
    export const all = [Open, Fetch, Update, BroadcastUpdate, Close, Rejected, Save, Moved, Removed, Awareness] as const;
}

/** Normalises what the transport delivers (Buffer, Uint8Array, ArrayBuffer) to a plain Uint8Array view. */
export function toUint8Array(value: Uint8Array | ArrayBuffer): Uint8Array {
    return value instanceof Uint8Array ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength) : new Uint8Array(value);
}
