/**
 * Zod schemas for what the coordination server sends to clients: validated at the client's trust
 * boundary before anything acts on it.
 */
import { z } from 'zod';
import { JoinProof, Limits, PeerId, PeerInfo, Permission, RequestId, RoomId } from './wire';

const KeyId = z.number().int().nonnegative().max(2 ** 31);
const KeyMaterial = z.custom<Uint8Array | ArrayBuffer>(value =>
    (value instanceof Uint8Array || value instanceof ArrayBuffer) && value.byteLength <= Limits.maxKeyMaterialBytes,
    { message: 'expected key material' });
const Message = z.string().max(4096);

export const JoinRequestEventSchema = z.object({ roomId: RoomId, requestId: RequestId, peer: PeerInfo, proof: JoinProof.optional() });
export const JoinCancelledEventSchema = z.object({ roomId: RoomId, requestId: RequestId });
export const AdmittedEventSchema = z.object({
    roomId: RoomId,
    self: PeerInfo,
    peers: z.array(PeerInfo).max(Limits.maxPeersPerRoom),
    keyId: KeyId,
    keyMaterial: KeyMaterial,
    expiresAt: z.number().optional(),
    roomToken: z.string().max(8192).optional()
});
export const DeniedEventSchema = z.object({ roomId: RoomId, reason: z.string().max(4096).optional() });
export const PeerJoinedEventSchema = z.object({ roomId: RoomId, peer: PeerInfo });
export const PeerLeftEventSchema = z.object({ roomId: RoomId, peerId: PeerId, reason: z.enum(['left', 'removed', 'disconnected']).catch('left') });
export const PermissionChangedEventSchema = z.object({ roomId: RoomId, peerId: PeerId, permission: Permission });
export const KeyEventSchema = z.object({ roomId: RoomId, keyId: KeyId, from: PeerId, keyMaterial: KeyMaterial });
export const RoomClosedEventSchema = z.object({
    roomId: RoomId,
    reason: z.enum(['host-left', 'expired', 'idle', 'removed', 'shutdown', 'denied']).catch('shutdown'),
    message: Message.optional()
});
export const ResumedEventSchema = z.object({
    roomId: RoomId,
    self: PeerInfo,
    peers: z.array(PeerInfo).max(Limits.maxPeersPerRoom),
    expiresAt: z.number().optional(),
    pending: z.array(JoinRequestEventSchema).max(Limits.maxPeersPerRoom).catch([]),
    reconnecting: z.array(PeerId).max(Limits.maxPeersPerRoom).catch([])
});
export const ConnectionStatusSchema = z.enum(['reconnecting', 'connected']);
export const HostStatusEventSchema = z.object({ roomId: RoomId, status: ConnectionStatusSchema });
export const PeerStatusEventSchema = z.object({ roomId: RoomId, peerId: PeerId, status: ConnectionStatusSchema });
const RateSchema = z.object({ max: z.number().int().positive(), windowMs: z.number().int().positive() });
export const ServerHelloEventSchema = z.object({
    protocol: z.number().int(),
    limits: z.object({
        maxPayloadBytes: z.number().int().positive(),
        events: RateSchema,
        bytes: RateSchema,
        replayWindowMs: z.number().int().nonnegative()
    })
});
export const ReplayResultSchema = z.object({
    envelopes: z.array(z.unknown()).max(1_000_000),
    complete: z.boolean()
});
export const ServerShutdownEventSchema = z.object({ resume: z.boolean(), message: Message.optional() });
export const ErrorDataSchema = z.object({ code: z.string().min(1).max(64), message: Message });
export const CreateRoomResultSchema = z.object({ roomId: RoomId, peer: PeerInfo, expiresAt: z.number().optional(), roomToken: z.string().max(8192).optional() });
export const JoinRoomResultSchema = z.object({ requestId: RequestId, peerId: PeerId });
export const LoginResultSchema = z.object({
    token: z.string().min(1).max(16384),
    user: z.object({ id: z.string().max(256), name: z.string().max(256) }),
    expiresAt: z.number()
});

/** Server events that concern one room, keyed by the event name. */
export const RoomEventSchemas = {
    'room:join-request': JoinRequestEventSchema,
    'room:join-cancelled': JoinCancelledEventSchema,
    'room:admitted': AdmittedEventSchema,
    'room:denied': DeniedEventSchema,
    'room:peer-joined': PeerJoinedEventSchema,
    'room:peer-left': PeerLeftEventSchema,
    'room:permission-changed': PermissionChangedEventSchema,
    'room:key': KeyEventSchema,
    'room:closed': RoomClosedEventSchema,
    'room:resumed': ResumedEventSchema,
    'room:host-status': HostStatusEventSchema,
    'room:peer-status': PeerStatusEventSchema
} as const;
export type RoomEventName = keyof typeof RoomEventSchemas | 'relay';
export const ROOM_EVENT_NAMES = [...Object.keys(RoomEventSchemas), 'relay'] as RoomEventName[];
