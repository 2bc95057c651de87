/**
 * The wire contract between clients and the coordination server: socket.io event names, their
 * payloads, and the zod schemas the server (and clients) validate them with at the trust boundary.
 *
 * The server only ever sees what is declared here. Everything feature-specific (method names,
 * params, results) travels inside `Envelope.data`, sealed end to end (see crypto.ts).
 */
import { z } from 'zod';
import { CollaborationErrorData } from './errors';

export const PROTOCOL_VERSION = 1;

/** Limits shared by server defaults and clients (the server may be configured lower). */
export const Limits = {
    /** Largest relayed envelope `data`, in bytes. Large files are chunked below this. */
    maxPayloadBytes: 1024 * 1024,
    /** The lowest a server may set its payload limit: features send parts of up to 512 KiB plus overhead. */
    minPayloadBytes: 576 * 1024,
    /** Size of file transfer chunks; leaves headroom for the encryption and encoding overhead. */
    chunkBytes: 256 * 1024,
    maxNameLength: 64,
    maxIdLength: 64,
    /** Raw P-256 public key, base64url: 65 bytes -> 87 chars. Generous bound for other curves. */
    maxPublicKeyLength: 256,
    maxKeyMaterialBytes: 1024,
    maxReasonLength: 256,
    maxPeersPerRoom: 256,
    /** Parts of one stored content (see ContentPut). */
    maxContentParts: 128
} as const;

export const Permission = z.enum(['readonly', 'readwrite']);
export type Permission = z.infer<typeof Permission>;

export const Role = z.enum(['host', 'guest']);
export type Role = z.infer<typeof Role>;

/** Room ids: 128 random bits or more, base64url. */
export const RoomId = z.string().min(22).max(Limits.maxIdLength).regex(/^[A-Za-z0-9_-]+$/);
export const PeerId = z.string().min(1).max(Limits.maxIdLength).regex(/^[A-Za-z0-9_-]+$/);
export const RequestId = z.string().min(1).max(Limits.maxIdLength).regex(/^[A-Za-z0-9_-]+$/);
export const DisplayName = z.string().trim().min(1).max(Limits.maxNameLength);
export const PublicKey = z.string().min(1).max(Limits.maxPublicKeyLength).regex(/^[A-Za-z0-9_-]+$/);
/** Binary blobs: a Buffer on Node, a Uint8Array or ArrayBuffer in browsers. */
export const Binary = (maxBytes: number) => z.custom<Uint8Array>(value => {
    const bytes = value instanceof ArrayBuffer ? value.byteLength : value instanceof Uint8Array ? value.byteLength : -1;
    return bytes >= 0 && bytes <= maxBytes;
}, { message: `expected binary data of at most ${maxBytes} bytes` });

export const PeerInfo = z.object({
    id: PeerId,
    userId: z.string().max(256),
    name: DisplayName,
    role: Role,
    permission: Permission,
    /** The peer's per-session ECDH public key (raw, base64url). */
    publicKey: PublicKey,
    /**
     * Set when the peer said, asking to join, that it is a program (a bot or an AI agent), not a person. What the
     * joiner says of itself, passed on unchecked: informational, never a permission.
     */
    program: z.boolean().optional()
});
export type PeerInfo = z.infer<typeof PeerInfo>;

export type EnvelopeKind = 'broadcast' | 'request' | 'response' | 'notification';

/**
 * What the server routes. `sender` is always set by the server from the authenticated socket, and
 * is part of the additional data of the encryption, so a server that rewrites it breaks decryption.
 */
export const Envelope = z.object({
    room: RoomId,
    kind: z.enum(['broadcast', 'request', 'response', 'notification']),
    /** Peer the envelope is for. Requests and notifications default to the host; responses must name the requester. */
    target: PeerId.optional(),
    /** Request id, echoed by the response. Unique per requester. */
    id: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
    /** Per-sender sequence number, strictly increasing; receivers reject replays. */
    seq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    /** Id of the room content key the data is sealed with. */
    key: z.number().int().nonnegative().max(2 ** 31),
    data: Binary(Limits.maxPayloadBytes)
}).strict();
export type ClientEnvelope = z.infer<typeof Envelope>;

/** An envelope as delivered by the server. */
export interface RelayedEnvelope extends Omit<ClientEnvelope, 'data'> {
    sender: string;
    data: Uint8Array | ArrayBuffer;
    /** Only on server-generated responses, e.g. a request that timed out or a target that left. */
    error?: CollaborationErrorData;
}

/**
 * The socket.io handshake `auth` of a client. `token` is a login token; with a valid `roomToken` it
 * may be missing or expired (the room token then identifies the user, and the connection is bound to
 * that room). `previousSocketId`: the id of this client's connection that dropped, so the server lets
 * this one take over the membership even if it has not noticed the drop yet.
 */
export interface HandshakeAuth {
    token?: string;
    roomToken?: string;
    previousSocketId?: string;
}

// ---- client -> server requests (each acknowledged with an Ack) ----

export const CreateRoom = z.object({ publicKey: PublicKey }).strict();
/** Invite proofs: HMAC-SHA-256 over the room and the guest's key with the invite's secret, base64url (see invite.ts). */
export const JoinProof = z.string().min(1).max(128).regex(/^[A-Za-z0-9_-]+$/);
/** `program`: the joiner says it is a program, not a person (see `PeerInfo.program`). */
export const JoinRoom = z.object({ roomId: RoomId, publicKey: PublicKey, proof: JoinProof.optional(), program: z.boolean().optional() }).strict();
export const Admit = z.object({
    roomId: RoomId,
    requestId: RequestId,
    permission: Permission,
    /** The room content key wrapped for this guest; opaque to the server. */
    keyMaterial: Binary(Limits.maxKeyMaterialBytes),
    keyId: z.number().int().nonnegative().max(2 ** 31)
}).strict();
export const Deny = z.object({ roomId: RoomId, requestId: RequestId, reason: z.string().max(Limits.maxReasonLength).optional() }).strict();
export const SetPermission = z.object({ roomId: RoomId, peerId: PeerId, permission: Permission }).strict();
export const RemovePeer = z.object({ roomId: RoomId, peerId: PeerId }).strict();
export const Rekey = z.object({
    roomId: RoomId,
    keyId: z.number().int().nonnegative().max(2 ** 31),
    keys: z.array(z.object({ peerId: PeerId, keyMaterial: Binary(Limits.maxKeyMaterialBytes) }).strict()).max(Limits.maxPeersPerRoom)
}).strict();
export const LeaveRoom = z.object({ roomId: RoomId }).strict();
/**
 * Asks for what this member missed while its connection was down (see `ReplayResult`). `after` holds, per
 * sender, the highest sequence number this member has opened; envelopes of senders not listed are all sent.
 */
export const Replay = z.object({
    roomId: RoomId,
    after: z.record(PeerId, z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER))
        .refine(after => Object.keys(after).length <= Limits.maxPeersPerRoom, { message: 'too many senders' })
}).strict();

/**
 * Stored content: sealed parts the host leaves on the server, for members to fetch without the host (a large
 * document's state for each guest that opens it: the host uploads it once, not once per guest). The server
 * cannot read it; it is a cache: evicted under its limits, dropped on rekey and when the room closes.
 */
export const ContentId = z.string().min(16).max(Limits.maxIdLength).regex(/^[A-Za-z0-9_-]+$/);
const ContentIndex = z.number().int().nonnegative().max(Limits.maxContentParts - 1);
/** Host only. Parts may arrive in any order; the content can be fetched once all `count` are in. */
export const ContentPut = z.object({
    roomId: RoomId,
    contentId: ContentId,
    index: ContentIndex,
    count: z.number().int().min(1).max(Limits.maxContentParts),
    data: Binary(Limits.maxPayloadBytes)
}).strict();
/** Members. Acknowledged with `{ data }`, or 'not-found' while the content is incomplete, evicted or unknown. */
export const ContentGet = z.object({ roomId: RoomId, contentId: ContentId, index: ContentIndex }).strict();
/** Host only. Acknowledged even when the content is already gone. */
export const ContentDelete = z.object({ roomId: RoomId, contentId: ContentId }).strict();

export type CreateRoom = z.infer<typeof CreateRoom>;
export type JoinRoom = z.infer<typeof JoinRoom>;
export type Admit = z.infer<typeof Admit>;
export type Deny = z.infer<typeof Deny>;
export type SetPermission = z.infer<typeof SetPermission>;
export type RemovePeer = z.infer<typeof RemovePeer>;
export type Rekey = z.infer<typeof Rekey>;
export type LeaveRoom = z.infer<typeof LeaveRoom>;
export type Replay = z.infer<typeof Replay>;
export type ContentPut = z.infer<typeof ContentPut>;
export type ContentGet = z.infer<typeof ContentGet>;
export type ContentDelete = z.infer<typeof ContentDelete>;

export type Ack<T = {}> = ({ ok: true } & T) | { ok: false; error: CollaborationErrorData };
export type AckCallback<T = {}> = (response: Ack<T>) => void;

export interface CreateRoomResult { roomId: string; peer: PeerInfo; expiresAt: number; roomToken: string }
export interface JoinRoomResult { requestId: string; peerId: string }
export interface ContentGetResult { data: Uint8Array }
/**
 * The answer to `room:replay`: the envelopes the server relayed in this room within its replay window that
 * were meant for the asking member (broadcasts from others, and messages targeted at it) with a sequence
 * number above `after[sender]`, in the order the server relayed them, still sealed end to end. `complete`:
 * nothing relayed since this member's connection dropped has left the window (otherwise it missed messages
 * for good, and its features re-synchronise their state).
 */
export interface ReplayResult { envelopes: RelayedEnvelope[]; complete: boolean }

/**
 * What the server allows one connection, sent in `server:hello` right after it connected: clients pace
 * themselves under these so that legitimate work (a host storing large documents) is never rate-limited.
 */
export interface ClientLimits {
    /** Largest relayed envelope `data` (and stored content part), in bytes. */
    maxPayloadBytes: number;
    /** Events (relay, content:*, room:*) a connection may send per window. */
    events: { max: number; windowMs: number };
    /** Bytes a connection may send per window. */
    bytes: { max: number; windowMs: number };
    /** How long the server keeps relayed envelopes for members that reconnect (0: no replay). */
    replayWindowMs: number;
}
export interface ServerHelloEvent { protocol: number; limits: ClientLimits }

// ---- server -> client events ----

export interface JoinRequestEvent { roomId: string; requestId: string; peer: PeerInfo; proof?: string }
export interface JoinCancelledEvent { roomId: string; requestId: string }
export interface AdmittedEvent {
    roomId: string;
    self: PeerInfo;
    peers: PeerInfo[];
    keyId: number;
    keyMaterial: Uint8Array | ArrayBuffer;
    expiresAt: number;
    roomToken: string;
}
export interface DeniedEvent { roomId: string; reason: string }
export interface PeerJoinedEvent { roomId: string; peer: PeerInfo }
export type PeerLeftReason = 'left' | 'removed' | 'disconnected';
export interface PeerLeftEvent { roomId: string; peerId: string; reason: PeerLeftReason }
export interface PermissionChangedEvent { roomId: string; peerId: string; permission: Permission }
export interface KeyEvent { roomId: string; keyId: number; from: string; keyMaterial: Uint8Array | ArrayBuffer }
export type RoomClosedReason = 'host-left' | 'expired' | 'idle' | 'removed' | 'shutdown' | 'denied';
export interface RoomClosedEvent { roomId: string; reason: RoomClosedReason; message: string }
/**
 * Sent right after connecting with `auth.roomToken` when that member's previous connection is gone
 * (e.g. its server instance restarted, or its connection dropped and the server still keeps its place),
 * or is the one named by `auth.previousSocketId` (the client reconnecting before the server noticed the
 * drop): this connection is that member again. `pending` (host only) lists join requests still waiting
 * for an answer.
 */
export interface ResumedEvent {
    roomId: string;
    self: PeerInfo;
    peers: PeerInfo[];
    expiresAt: number;
    pending: JoinRequestEvent[];
    /** Members whose connection is down at the moment (the server keeps their place). */
    reconnecting?: string[];
}
/**
 * The server instance is stopping. With `resume`, sessions go on elsewhere: reconnect (another
 * instance behind the same address) with `auth.roomToken` to resume; otherwise `room:closed` follows.
 */
export interface ServerShutdownEvent { resume: boolean; message: string }
/**
 * A member's connection dropped (`reconnecting`: the server keeps its place for a grace period and
 * it may resume with its room token) or it resumed (`connected`). Messages to a reconnecting peer
 * are refused with 'disconnected' (broadcasts simply miss it).
 */
export type ConnectionStatus = 'reconnecting' | 'connected';
/** To the guests: the host's connection status. */
export interface HostStatusEvent { roomId: string; status: ConnectionStatus }
/** To the other members: a member's connection status (the host's too). */
export interface PeerStatusEvent { roomId: string; peerId: string; status: ConnectionStatus }

export interface ServerToClientEvents {
    'room:join-request': (event: JoinRequestEvent) => void;
    'room:join-cancelled': (event: JoinCancelledEvent) => void;
    'room:admitted': (event: AdmittedEvent) => void;
    'room:denied': (event: DeniedEvent) => void;
    'room:peer-joined': (event: PeerJoinedEvent) => void;
    'room:peer-left': (event: PeerLeftEvent) => void;
    'room:permission-changed': (event: PermissionChangedEvent) => void;
    'room:key': (event: KeyEvent) => void;
    'room:closed': (event: RoomClosedEvent) => void;
    'room:resumed': (event: ResumedEvent) => void;
    'room:host-status': (event: HostStatusEvent) => void;
    'room:peer-status': (event: PeerStatusEvent) => void;
    'server:shutdown': (event: ServerShutdownEvent) => void;
    'server:hello': (event: ServerHelloEvent) => void;
    'relay': (envelope: RelayedEnvelope) => void;
    /** Sent for events that carried no ack callback but were refused. */
    'server:error': (error: CollaborationErrorData) => void;
}

export interface ClientToServerEvents {
    'room:create': (request: CreateRoom, ack: AckCallback<CreateRoomResult>) => void;
    'room:join': (request: JoinRoom, ack: AckCallback<JoinRoomResult>) => void;
    'room:admit': (request: Admit, ack: AckCallback) => void;
    'room:deny': (request: Deny, ack: AckCallback) => void;
    'room:set-permission': (request: SetPermission, ack: AckCallback) => void;
    'room:remove': (request: RemovePeer, ack: AckCallback) => void;
    'room:rekey': (request: Rekey, ack: AckCallback) => void;
    'room:leave': (request: LeaveRoom, ack: AckCallback) => void;
    'room:replay': (request: Replay, ack: AckCallback<ReplayResult>) => void;
    'relay': (envelope: ClientEnvelope, ack?: AckCallback) => void;
    'content:put': (request: ContentPut, ack: AckCallback) => void;
    'content:get': (request: ContentGet, ack: AckCallback<ContentGetResult>) => void;
    'content:delete': (request: ContentDelete, ack: AckCallback) => void;
}

// ---- HTTP API ----

export type LoginProviderId = 'anonymous' | 'token' | 'oidc';
export interface ServerInfo {
    protocol: number;
    version: string;
    providers: { id: LoginProviderId; label: string }[];
    limits: { maxPayloadBytes: number };
}
export interface LoginResult { token: string; user: { id: string; name: string }; expiresAt: number }

export const HttpPaths = {
    info: '/api/info',
    loginAnonymous: '/api/login/anonymous',
    loginToken: '/api/login/token',
    oidcStart: '/api/login/oidc/start',
    oidcCallback: '/api/login/oidc/callback',
    oidcPoll: '/api/login/oidc/poll',
    health: '/health',
    metrics: '/metrics',
    socket: '/socket.io'
} as const;
