/**
 * The client-side implementation of `CollaborationSession`: one room, seen from one peer.
 *
 * Trust: the host is the only authority on who is in and with which permission. The host keeps its own
 * record of the guests it admitted (with the permission it gave), and publishes it as the roster
 * (session-roster.ts); guests believe only the roster. Server events may make a peer forget a member
 * (the server can always drop traffic), never add one or change a permission. Every envelope is
 * authenticated to its sender with pair keys (sender-auth.ts) derived from the public keys the roster
 * vouches for, so neither a member nor the server can speak as someone else. Join requests reach the
 * host's user only with a valid invite proof (invite-registry.ts).
 *
 * Ordering: everything the server sends for the room (room events and relayed envelopes) goes
 * through one inbound queue, so decryption and handlers see messages in arrival order; everything
 * sent goes through one outbound chain, so envelopes leave sealed in call order. Key operations of
 * the host (admit, rotate) are serialized on a third chain.
 */
import { z } from 'zod';
import {
    ContentKey, fingerprint, fingerprintsEqual, KeyRing, SessionKeyPair, unwrapContentKey
} from './crypto';
import { Deferred } from './concurrency';
import { DuplicateMessageError, EnvelopeCodec, OpenedEnvelope, RelayedEnvelopeSchema, SealedBody } from './envelope-codec';
import { CollaborationError, CollaborationErrorData } from './errors';
import { Disposable, Emitter, Event } from './events';
import { HeldEnvelopes } from './held-envelopes';
import { HostJoinRequests, JoinRequestEvent } from './host-join-requests';
import { HostRoomKeys } from './host-room-keys';
import { MissedMessages } from './missed-messages';
import { OrderedRelay } from './ordered-relay';
import { InviteRegistry } from './invite-registry';
import { Broadcast, MessageDefinition, Notification, Request } from './messages';
import { derivePairKey, PeerAuthenticator, UnaddressedMessageError } from './sender-auth';
import { SessionMessages, validationMessage } from './session-messages';
import { RosterPublisher, RosterReader } from './roster-exchange';
import { CancelRequest, HandledMethodsRequest, receiveOwnMessage } from './session-own-messages';
import { isSessionMethod, ROSTER_METHOD } from './session-roster';
import {
    AdmittedEventSchema, CreateRoomResultSchema, HostStatusEventSchema, KeyEventSchema,
    PeerLeftEventSchema, PeerStatusEventSchema, ResumedEventSchema, RoomClosedEventSchema, RoomEventName,
    RoomEventSchemas
} from './server-events';
import {
    BroadcastHandler, CollaborationSession, ConnectionState, Invite, InviteOptions, JoinRequest, NotificationHandler, Peer, PeerLeft,
    RequestHandler, RequestOptions, SessionClosed, TargetOptions
} from './session';
import { SessionPeers } from './session-peers';
import { StoredContent, StoredContentRef } from './stored-content';
import { ClientEnvelope, ClientToServerEvents, EnvelopeKind, Limits, Permission, PeerInfo, PeerLeftReason } from './wire';

export type ClientLogger = Pick<Console, 'warn' | 'error' | 'info'>;

/** What a session needs from the client's socket. */
export interface SessionConnection {
    readonly serverUrl: string;
    readonly logger: ClientLogger;
    readonly requestTimeout: number;
    readonly connected: boolean;
    /** Emits a client-to-server request and resolves with its acknowledgement (rejects on `ok: false`). */
    request<T = {}>(event: keyof ClientToServerEvents, payload: object, timeout?: number): Promise<T>;
    /** Emits an envelope; resolves when the server accepted it for relaying. */
    relay(envelope: ClientEnvelope, timeout: number): Promise<void>;
    /** Stops routing the room's events to `sink`. */
    detach(roomId: string, sink: RoomEventSink): void;
}

/** Receives the server events of one room. */
export interface RoomEventSink {
    handle(event: RoomEventName, payload: unknown): void;
    /** The connection is gone for good: the sink ends. */
    disconnected(message: string): void;
    /**
     * The connection dropped and the client is reconnecting. Returns whether the sink waits for it
     * (a session with a room token), or ended (a join waiting for the host, which the server cancelled).
     */
    suspended(message: string): boolean;
    /** What resumes this sink's membership on a new connection (`auth.roomToken`). */
    readonly roomToken?: string;
}

export type SessionSetup = (
    | { role: 'host'; created: z.infer<typeof CreateRoomResultSchema>; contentKey: ContentKey }
    | { role: 'guest'; admitted: z.infer<typeof AdmittedEventSchema>; hostFingerprint: string }
) & {
    /** Hold messages for features until `startDelivery()` (see `CollaborationSession.startDelivery`). */
    holdDelivery?: boolean;
};

const LEAVE_TIMEOUT_MS = 5000;
/** How long a guest waits, once admitted, for the host's roster before it gives up joining. */
const ROSTER_TIMEOUT_MS = 15_000;
/** Envelopes sealed with a room key up to this many rotations ahead of this peer's are held for the key. */
const MAX_KEY_LEAD = 4;

function noop(): void { }

export class CollaborationSessionImpl implements CollaborationSession, RoomEventSink {
    readonly roomId: string;
    readonly keys = new KeyRing();
    readonly codec: EnvelopeCodec;
    private readonly content: StoredContent;
    /** Resolves once the session is usable (keys in place, fingerprints checked). */
    readonly ready: Promise<void>;

    private _invite?: Invite;
    private inviteRegistry?: InviteRegistry;
    /** Pair keys of the peers this one may hear from and send to (sender-auth.ts). */
    readonly peerAuth = new PeerAuthenticator();
    /** Host only: numbers its rosters, remembers who went since the last one (roster-exchange.ts). */
    private readonly rosterPublisher = new RosterPublisher();
    /** Guest only: checks the host's rosters (roster-exchange.ts). */
    private readonly rosterReader = new RosterReader();
    private readonly rosterArrived = new Deferred();
    /** Envelopes waiting for the roster or key that opens them (held-envelopes.ts). */
    private readonly held = new HeldEnvelopes();
    /** Reconnected, the server's answer (`room:resumed` or `room:closed`) not yet here. */
    awaitingResume = false;
    /** What this peer missed while reconnecting (missed-messages.ts). */
    private readonly missed: MissedMessages;
    private _closed = false;
    private _connection: ConnectionState = 'connected';
    private _hostConnection: ConnectionState = 'connected';
    /** Proves this peer's membership to the server when it reconnects. */
    readonly roomToken?: string;
    private readonly selfId: string;
    private hostId = '';
    private selfPeer?: Peer;
    private hostPeer?: Peer;
    private readonly peerList = new SessionPeers();
    /** Peers that left or were removed; never re-added, never sent keys. */
    private readonly departed = new Set<string>();
    /**
     * Host only: the guests this host admitted, as it admitted them (the public key they asked to join with,
     * the permission it gave). This, not what the server says, is what the host enforces.
     */
    private readonly admittedGuests = new Map<string, PeerInfo>();
    /** Host only: join requests waiting for the host's user (host-join-requests.ts). */
    private readonly joinRequests: HostJoinRequests;
    /** Host only: the room key's rotations and hand-outs, and admissions, one at a time (host-room-keys.ts). */
    private readonly roomKeys: HostRoomKeys;

    private inbound: Promise<void> = Promise.resolve();
    /** Envelopes to the socket in the order they were sealed (ordered-relay.ts). */
    private readonly outbound = new OrderedRelay<ClientEnvelope>(
        envelope => this.connection.relay(envelope, this.connection.requestTimeout), () => this.assertConnected());

    private readonly messages: SessionMessages;

    private readonly onPeerJoinedEmitter = new Emitter<Peer>();
    private readonly onPeerLeftEmitter = new Emitter<PeerLeft>();
    private readonly onPeerChangedEmitter = new Emitter<Peer>();
    private readonly onJoinRequestEmitter = new Emitter<JoinRequest>();
    private readonly onCloseEmitter = new Emitter<SessionClosed>();
    private readonly onMessageErrorEmitter = new Emitter<CollaborationErrorData & { sender?: string }>();
    private readonly onDidChangeConnectionEmitter = new Emitter<ConnectionState>();
    private readonly onDidChangeHostConnectionEmitter = new Emitter<ConnectionState>();
    private readonly onMissedMessagesEmitter = new Emitter<void>();

    readonly onPeerJoined: Event<Peer> = this.onPeerJoinedEmitter.event;
    readonly onPeerLeft: Event<PeerLeft> = this.onPeerLeftEmitter.event;
    readonly onPeerChanged: Event<Peer> = this.onPeerChangedEmitter.event;
    readonly onJoinRequest: Event<JoinRequest> = this.onJoinRequestEmitter.event;
    readonly onClose: Event<SessionClosed> = this.onCloseEmitter.event;
    readonly onMessageError: Event<CollaborationErrorData & { sender?: string }> = this.onMessageErrorEmitter.event;
    readonly onDidChangeConnection: Event<ConnectionState> = this.onDidChangeConnectionEmitter.event;
    readonly onDidChangeHostConnection: Event<ConnectionState> = this.onDidChangeHostConnectionEmitter.event;
    readonly onMissedMessages: Event<void> = this.onMissedMessagesEmitter.event;

    constructor(private readonly connection: SessionConnection, private readonly keyPair: SessionKeyPair, setup: SessionSetup) {
        if (setup.role === 'host') {
            this.roomId = setup.created.roomId;
            this.selfId = setup.created.peer.id;
            this.roomToken = setup.created.roomToken;
        } else {
            this.roomId = setup.admitted.roomId;
            this.selfId = setup.admitted.self.id;
            this.roomToken = setup.admitted.roomToken;
        }
        this.messages = new SessionMessages({
            send: (kind, body, target, id) => this.send(kind, body, target, id),
            reportMessageError: (error, sender) => this.reportMessageError(error, sender),
            logger: this.connection.logger
        }, setup.holdDelivery);
        this.messages.onRequest(HandledMethodsRequest, () => this.messages.handledMethods(isSessionMethod));
        this.missed = new MissedMessages({
            roomId: this.roomId,
            connection,
            openedUpTo: () => this.codec.openedUpTo(Limits.maxPeersPerRoom),
            open: envelope => this.receiveEnvelope(envelope, undefined, true),
            isClosed: () => this._closed
        });
        this.roomKeys = new HostRoomKeys({
            roomId: this.roomId,
            connection,
            keys: this.keys,
            privateKey: keyPair.privateKey,
            isClosed: () => this._closed,
            guests: () => [...this.admittedGuests.values()].filter(info => !this.departed.has(info.id)),
            admitted: peerId => this.admittedGuests.get(peerId)
        });
        this.joinRequests = new HostJoinRequests({
            roomId: this.roomId,
            connection,
            invites: () => this.inviteRegistry,
            describe: info => this.peerList.describe(info),
            admit: (requestId, info, permission) => this.admit(requestId, info, permission),
            reportMessageError: error => this.reportMessageError(error),
            ask: request => this.onJoinRequestEmitter.fire(request)
        });
        this.peerAuth.setSelf(this.selfId);
        this.codec = new EnvelopeCodec(this.roomId, this.selfId, this.keys, this.peerAuth);
        this.content = new StoredContent(this.roomId, connection);
        const initialized = this.inbound.then(() => setup.role === 'host' ? this.initHost(setup) : this.initGuest(setup));
        // A session that failed to set up is closed before any queued event is looked at.
        this.inbound = initialized.catch(error => this.close('left', CollaborationError.from(error).message));
        // A guest is usable once the host's roster told it who is in (its own permission included).
        this.ready = setup.role === 'host' ? initialized : initialized.then(() => this.waitForRoster());
        this.ready.catch(error => this.close('left', CollaborationError.from(error).message));
    }

    // ---- CollaborationSession: state ----

    get self(): Peer {
        return this.selfPeer!;
    }

    get host(): Peer {
        return this.hostPeer!;
    }

    get isHost(): boolean {
        return this.hostId === this.selfId;
    }

    get peers(): readonly Peer[] {
        return this.peerList.list();
    }

    get invite(): Invite | undefined {
        return this._invite;
    }

    get invites(): readonly Invite[] {
        return this.inviteRegistry?.list() ?? [];
    }

    createInvite(options?: InviteOptions): Invite {
        this.assertHost();
        return this.inviteRegistry!.create(options);
    }

    revokeInvite(inviteId: string): boolean {
        this.assertHost();
        return this.inviteRegistry!.revoke(inviteId);
    }

    get closed(): boolean {
        return this._closed;
    }

    get connectionState(): ConnectionState {
        return this._connection;
    }

    get hostConnectionState(): ConnectionState {
        return this.isHost ? this._connection : this._hostConnection;
    }

    getPeer(id: string): Peer | undefined {
        return this.peerList.get(id);
    }

    // ---- setup ----

    private async initHost(setup: Extract<SessionSetup, { role: 'host' }>): Promise<void> {
        const self = setup.created.peer;
        if (self.publicKey !== this.keyPair.publicKeyEncoded || self.role !== 'host') {
            throw new CollaborationError('internal', 'The server registered this host with another key or role.');
        }
        this.keys.add(0, setup.contentKey);
        this.keys.activate(0);
        this.hostId = self.id;
        this.selfPeer = this.hostPeer = await this.peerList.describe(self);
        this.peerList.set(self, this.selfPeer);
        this.inviteRegistry = new InviteRegistry(this.connection.serverUrl, this.roomId, await fingerprint(self.publicKey));
        this._invite = this.inviteRegistry.create({}, 'default');
    }

    private async initGuest(setup: Extract<SessionSetup, { role: 'guest' }>): Promise<void> {
        const { admitted } = setup;
        const hosts = admitted.peers.filter(peer => peer.role === 'host');
        if (hosts.length !== 1) {
            throw new CollaborationError('bad-request', 'The server did not name exactly one host for this session.');
        }
        const hostInfo = hosts[0];
        if (!fingerprintsEqual(await fingerprint(hostInfo.publicKey), setup.hostFingerprint)) {
            throw new CollaborationError('fingerprint-mismatch',
                'The host\'s key does not match the fingerprint in the invite. The connection may be intercepted; ask the host for a new invite.');
        }
        if (admitted.self.publicKey !== this.keyPair.publicKeyEncoded) {
            throw new CollaborationError('decrypt-failed', 'The server registered this guest with another key.');
        }
        const key = await unwrapContentKey(admitted.keyMaterial, {
            privateKey: this.keyPair.privateKey,
            peerPublicKey: hostInfo.publicKey,
            roomId: this.roomId,
            guestPeerId: this.selfId,
            keyId: admitted.keyId
        });
        this.keys.add(admitted.keyId, key);
        this.keys.activate(admitted.keyId);
        this.hostId = hostInfo.id;
        // The host's key is the invite's; every other peer (and this one's permission) comes from its roster.
        this.peerAuth.set(hostInfo.id, await this.pairKeyWith(hostInfo));
        for (const info of [hostInfo, { ...admitted.self, permission: 'readonly' as const }]) {
            this.peerList.set(info, await this.peerList.describe(info));
        }
        this.selfPeer = this.peerList.get(this.selfId);
        this.hostPeer = this.peerList.get(this.hostId);
    }

    private pairKeyWith(info: PeerInfo): Promise<Uint8Array> {
        return derivePairKey({ privateKey: this.keyPair.privateKey, selfId: this.selfId, peerId: info.id, peerPublicKey: info.publicKey, roomId: this.roomId });
    }

    private async waitForRoster(): Promise<void> {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timeout = new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new CollaborationError('timeout', 'The host did not confirm who is in the session; try joining again.')),
                Math.min(ROSTER_TIMEOUT_MS, this.connection.requestTimeout));
        });
        try {
            await Promise.race([this.rosterArrived.promise, timeout]);
        } finally {
            clearTimeout(timer);
        }
    }

    // ---- inbound ----

    handle(event: RoomEventName, payload: unknown): void {
        if (this._closed) {
            return;
        }
        if (event === 'room:resumed' || event === 'room:closed') {
            // Answered: what follows (catching up on what was missed) may take a while, but the server did answer.
            this.awaitingResume = false;
        }
        const task = this.inbound.then(() => this._closed ? undefined : this.dispatch(event, payload));
        this.inbound = task.catch(error => this.connection.logger.error(`collaboration: failed to process '${event}'`, error));
    }

    disconnected(message: string): void {
        this.close('disconnected', message || 'Disconnected from the collaboration server.');
    }

    suspended(message: string): boolean {
        if (this._closed) {
            return false;
        }
        if (!this.roomToken) {
            this.disconnected(message);
            return false;
        }
        this.awaitingResume = true;
        // Responses to what we asked may have been relayed while we were gone: they will not come now.
        this.messages.rejectAll(new CollaborationError('disconnected', message || 'The connection to the collaboration server dropped.'));
        this.setConnection('reconnecting');
        return true;
    }

    private setConnection(state: ConnectionState): void {
        if (this._connection === state || this._closed) {
            return;
        }
        this._connection = state;
        this.onDidChangeConnectionEmitter.fire(state);
        if (this.isHost) {
            this.onDidChangeHostConnectionEmitter.fire(state);
        }
    }

    /** `connected` always fires: the host came back, possibly without this peer having seen it go (e.g. a server crash). */
    private setHostConnection(state: ConnectionState): void {
        if ((this._hostConnection === state && state !== 'connected') || this._closed || this.isHost) {
            return;
        }
        // Dropped, or back on a new connection (possibly without this peer having seen it go): requests sent to
        // the old connection will not be answered.
        this.messages.rejectTarget(this.hostId, new CollaborationError('disconnected', 'The host\'s connection dropped; try again.'));
        this._hostConnection = state;
        this.onDidChangeHostConnectionEmitter.fire(state);
    }

    private async dispatch(event: RoomEventName, payload: unknown): Promise<void> {
        if (event === 'relay') {
            return this.receiveEnvelope(payload);
        }
        const parsed = RoomEventSchemas[event].safeParse(payload);
        if (!parsed.success) {
            this.connection.logger.warn(`collaboration: ignored malformed '${event}' event: ${validationMessage(parsed.error)}`);
            return;
        }
        switch (event) {
            case 'room:join-request': return this.isHost ? this.joinRequests.received(parsed.data as JoinRequestEvent) : undefined;
            case 'room:join-cancelled': this.joinRequests.withdrawn((parsed.data as { requestId: string }).requestId); return;
            // Membership and permissions come from the host (admit / setPermission, the roster), not from the server.
            case 'room:peer-joined': return;
            case 'room:permission-changed': return;
            case 'room:peer-left': return this.onPeerLeftEvent(parsed.data as z.infer<typeof PeerLeftEventSchema>);
            case 'room:key': return this.onKeyEvent(parsed.data as z.infer<typeof KeyEventSchema>);
            case 'room:closed': {
                const closed = parsed.data as z.infer<typeof RoomClosedEventSchema>;
                this.close(closed.reason, closed.message || 'The session has ended.');
                return;
            }
            case 'room:resumed': return this.onResumedEvent(parsed.data as z.infer<typeof ResumedEventSchema>);
            case 'room:host-status': this.setHostConnection((parsed.data as z.infer<typeof HostStatusEventSchema>).status); return;
            case 'room:peer-status': return this.onPeerStatusEvent(parsed.data as z.infer<typeof PeerStatusEventSchema>);
            default: return; // room:admitted, room:denied concern pending joins only
        }
    }

    /**
     * This peer is back in the room on a new connection: catch up with what changed meanwhile (peers
     * that joined, left or changed, join requests waiting for the host), then tell the features.
     */
    private async onResumedEvent(event: z.infer<typeof ResumedEventSchema>): Promise<void> {
        if (event.self.id !== this.selfId || event.self.publicKey !== this.keyPair.publicKeyEncoded) {
            this.close('disconnected', 'The server resumed this session with another identity.');
            return;
        }
        // Peers the server no longer lists are gone (it could drop their traffic anyway); nothing else it says
        // about peers is taken: the host knows its guests, guests get the host's roster again.
        const listed = new Set(event.peers.map(peer => peer.id));
        for (const peer of this.peerList.list()) {
            if (peer.id !== this.selfId && peer.id !== this.hostId && !listed.has(peer.id)) {
                await this.onPeerLeftEvent({ roomId: this.roomId, peerId: peer.id, reason: 'disconnected' });
            }
        }
        if (this.isHost) {
            await this.joinRequests.resumed(event.pending);
        } else {
            const hostState = event.reconnecting.includes(this.hostId) ? 'reconnecting' : 'connected';
            if (hostState !== this._hostConnection) {
                this.setHostConnection(hostState);
            }
        }
        // Inside the inbound queue: what arrives live meanwhile is opened after what was missed.
        const complete = await this.missed.catchUp();
        this.setConnection('connected');
        if (this.isHost) {
            // Guests may have missed changes while the host was away.
            this.publishRoster();
        }
        if (!complete) {
            this.onMissedMessagesEmitter.fire();
        }
    }

    private async onPeerStatusEvent(event: z.infer<typeof PeerStatusEventSchema>): Promise<void> {
        if (event.peerId === this.hostId) {
            return; // `room:host-status` says it
        }
        if (event.status === 'reconnecting') {
            // The server refuses messages to it now: requests already sent will not be answered.
            const peer = this.peerList.get(event.peerId);
            this.messages.rejectTarget(event.peerId,
                new CollaborationError('disconnected', `${peer?.name ?? 'The peer'}'s connection dropped; try again once it is back.`));
        } else if (this.isHost && event.status === 'connected' && this.admittedGuests.has(event.peerId) && !this.departed.has(event.peerId)) {
            // It may have missed a key rotation or a roster while it was away.
            // The roster goes after the key: it is sealed with the current one.
            this.roomKeys.resend(event.peerId).catch(error => this.connection.logger.warn(
                `collaboration: could not send the room key to '${event.peerId}': ${CollaborationError.from(error).message}`))
                .then(() => this.publishRoster(event.peerId));
        }
    }

    private admit(requestId: string, info: PeerInfo, permission: Permission): Promise<void> {
        return this.roomKeys.serialize(async () => {
            this.assertOpen();
            const inviteId = await this.joinRequests.usableInvite(requestId);
            const current = this.keys.current!;
            const keyMaterial = await this.roomKeys.wrapFor(info, current.key, current.id);
            const admitted: PeerInfo = { ...info, role: 'guest', permission };
            // Before the server tells the guest: its first messages must already be recognised.
            this.peerAuth.set(info.id, await this.pairKeyWith(info));
            this.admittedGuests.set(info.id, admitted);
            try {
                await this.connection.request('room:admit', { roomId: this.roomId, requestId, permission, keyMaterial, keyId: current.id });
            } catch (error) {
                this.admittedGuests.delete(info.id);
                this.peerAuth.delete(info.id);
                throw error;
            } finally {
                this.joinRequests.forget(requestId);
            }
            this.inviteRegistry!.consume(inviteId);
            await this.upsertPeer(admitted);
            this.publishRoster();
        });
    }

    /** Host: tells the guests (or one of them) who is in, as this host admitted them. */
    private publishRoster(target?: string): void {
        if (!this.isHost || this._closed) {
            return;
        }
        const roster = this.rosterPublisher.next(this.peerList.info(this.selfId)!, [...this.admittedGuests.values()].filter(info => !this.departed.has(info.id)));
        const sent = target === undefined
            ? this.send('broadcast', { m: ROSTER_METHOD, p: roster })
            : this.send('notification', { m: ROSTER_METHOD, p: roster }, target);
        sent.catch(error => this.connection.logger.warn(`collaboration: could not send the roster: ${CollaborationError.from(error).message}`));
    }

    /** Guest: takes who is in, their permissions and keys from the host's roster. */
    private async applyRoster(params: unknown): Promise<void> {
        const reading = this.rosterReader.read(params, {
            selfId: this.selfId, selfPublicKey: this.keyPair.publicKeyEncoded, hostId: this.hostId, hostPublicKey: this.peerList.info(this.hostId)?.publicKey
        });
        if (reading.kind === 'refused') {
            this.reportMessageError(reading.error, this.hostId);
            return;
        }
        if (reading.kind === 'stale') {
            return;
        }
        if (reading.kind === 'removed') {
            this.close('removed', 'The host removed you from the session.');
            return;
        }
        for (const peer of this.peerList.list()) {
            if (!reading.listed.has(peer.id)) {
                this.removePeerLocally(peer.id, reading.reasonGone(peer.id));
            }
        }
        for (const info of reading.roster.peers) {
            if (info.id !== this.selfId && info.id !== this.hostId && !this.departed.has(info.id) && !this.peerAuth.has(info.id)) {
                this.peerAuth.set(info.id, await this.pairKeyWith(info));
            }
            await this.upsertPeer(info);
            if (this._closed) {
                return;
            }
        }
        this.rosterArrived.resolve();
        await this.openHeld();
    }

    private async upsertPeer(info: PeerInfo): Promise<void> {
        if (this.departed.has(info.id)) {
            return;
        }
        if (info.id === this.selfId) {
            const peer = await this.peerList.describe(info);
            if (this.peerList.set(info, peer) === 'changed') {
                this.selfPeer = peer;
                this.onPeerChangedEmitter.fire(peer);
            }
            this.selfPeer = peer;
            return;
        }
        if (info.role === 'host' && info.id !== this.hostId) {
            this.connection.logger.warn(`collaboration: ignored a second host '${info.id}'`);
            return;
        }
        const peer = await this.peerList.describe(info);
        if (this._closed || this.departed.has(info.id)) {
            return;
        }
        const change = this.peerList.set(info, peer);
        if (info.id === this.hostId) {
            this.hostPeer = peer;
        }
        if (change === 'added') {
            this.onPeerJoinedEmitter.fire(peer);
        } else if (change === 'changed') {
            this.onPeerChangedEmitter.fire(peer);
        }
    }

    private async onPeerLeftEvent(event: z.infer<typeof PeerLeftEventSchema>): Promise<void> {
        if (event.peerId === this.hostId) {
            return; // the session ends with the host: 'room:closed' says so
        }
        const wasAdmitted = this.admittedGuests.has(event.peerId) && !this.departed.has(event.peerId);
        this.removePeerLocally(event.peerId, event.reason);
        // A guest this host removed is departed already: `removePeer` rotates the key itself.
        if (this.isHost && wasAdmitted) {
            // The new roster is sealed with the new key: the peer that left cannot read who stays.
            this.rotateKey().catch(error => this.connection.logger.error('collaboration: key rotation failed', error))
                .then(() => this.publishRoster());
        }
    }

    /** Forgets a peer at once: from now on nothing it sends is heard, nothing is sent to it. */
    private removePeerLocally(peerId: string, reason: PeerLeftReason): void {
        if (peerId === this.selfId || peerId === this.hostId) {
            return;
        }
        this.departed.add(peerId);
        this.peerAuth.delete(peerId);
        if (this.isHost && this.admittedGuests.has(peerId)) {
            this.rosterPublisher.peerGone(peerId, reason);
        }
        this.held.dropFrom(peerId);
        const peer = this.peerList.delete(peerId);
        this.messages.rejectTarget(peerId, new CollaborationError('disconnected', `${peer?.name ?? 'The peer'} left the session.`));
        this.messages.abortIncomingFrom(peerId);
        if (peer) {
            this.onPeerLeftEmitter.fire({ peer, reason });
        }
    }

    private async onKeyEvent(event: z.infer<typeof KeyEventSchema>): Promise<void> {
        if (this.isHost) {
            return;
        }
        if (event.from !== this.hostId) {
            this.reportMessageError(new CollaborationError('forbidden', `Ignored a room key from '${event.from}', who is not the host.`), event.from);
            return;
        }
        if (event.keyId <= this.keys.currentKeyId) {
            return;
        }
        const hostInfo = this.peerList.info(this.hostId);
        if (!hostInfo) {
            return;
        }
        try {
            const key = await unwrapContentKey(event.keyMaterial, {
                privateKey: this.keyPair.privateKey,
                peerPublicKey: hostInfo.publicKey,
                roomId: this.roomId,
                guestPeerId: this.selfId,
                keyId: event.keyId
            });
            this.keys.add(event.keyId, key);
            this.keys.activate(event.keyId);
        } catch (error) {
            this.reportMessageError(error, event.from);
            return;
        }
        await this.openHeld();
    }

    /** Opens and dispatches one relayed envelope. Never throws: problems go to `onMessageError`. */
    async receiveEnvelope(payload: unknown, heldSince?: number, catchingUp = false): Promise<void> {
        const sender = typeof (payload as { sender?: unknown })?.sender === 'string' ? (payload as { sender: string }).sender : undefined;
        if ((payload as { error?: unknown })?.error != null) {
            this.receiveServerError(payload);
            return;
        }
        if (sender !== undefined && !this.peerAuth.has(sender) && !this.departed.has(sender) && sender !== this.selfId) {
            // Maybe a guest the host admitted a moment ago, whose roster entry is still on its way.
            this.hold(payload, sender, heldSince);
            return;
        }
        const keyId = (payload as { key?: unknown })?.key;
        if (!this.isHost && typeof keyId === 'number' && keyId > this.keys.currentKeyId && keyId <= this.keys.currentKeyId + MAX_KEY_LEAD) {
            // Sealed with a room key the host is still handing to this peer (it rotated while this peer was away).
            this.hold(payload, sender ?? '', heldSince);
            return;
        }
        if (sender === undefined || !this.peerList.has(sender) || !this.peerAuth.has(sender)) {
            this.reportMessageError(new CollaborationError('not-member', `Message from '${sender}', who is not in this session.`), sender);
            return;
        }
        let opened: OpenedEnvelope;
        try {
            opened = await this.codec.open(payload, catchingUp);
        } catch (error) {
            if ((error instanceof DuplicateMessageError && this.missed.expectsDuplicates()) || error instanceof UnaddressedMessageError) {
                // Delivered live and again in the replay after reconnecting (opened once); or a broadcast sent
                // before its sender knew this peer had joined. Neither is worth alarming anyone.
                this.connection.logger.info(`collaboration: ignored a message from '${sender}': ${error.message}`);
                return;
            }
            this.reportMessageError(error, sender);
            return;
        }
        const peer = this.peerList.get(sender);
        if (!peer) {
            return;
        }
        const body = opened.body as { m?: unknown; p?: unknown };
        if (typeof body.m === 'string' && isSessionMethod(body.m)) {
            return receiveOwnMessage({
                isHost: this.isHost,
                hostId: this.hostId,
                messages: this.messages,
                applyRoster: params => this.applyRoster(params),
                reportMessageError: (error, from) => this.reportMessageError(error, from)
            }, opened, body.m, body.p, peer);
        }
        this.messages.dispatch(opened, peer);
    }

    private hold(payload: unknown, sender: string, since?: number): void {
        if (!this.held.hold(payload, sender, since)) {
            this.reportMessageError(new CollaborationError('not-member', `Message from '${sender}', who is not in this session (or sealed with a key it never got).`), sender);
        }
    }

    /** Tries the held envelopes again (a roster or a key arrived), in arrival order; those still not openable stay held. */
    private async openHeld(): Promise<void> {
        for (const item of this.held.takeAll()) {
            await this.receiveEnvelope(item.payload, item.at);
        }
    }

    private receiveServerError(payload: unknown): void {
        const parsed = RelayedEnvelopeSchema.safeParse(payload);
        if (!parsed.success || parsed.data.kind !== 'response' || parsed.data.id == null || !parsed.data.error || parsed.data.room !== this.roomId) {
            this.reportMessageError(new CollaborationError('bad-request', 'Malformed error response from the server.'));
            return;
        }
        this.messages.serverError(parsed.data.id, parsed.data.error);
    }

    private reportMessageError(error: unknown, sender?: string): void {
        const data = CollaborationError.from(error, 'bad-request');
        this.connection.logger.warn(`collaboration: rejected a message${sender ? ` from '${sender}'` : ''}: [${data.code}] ${data.message}`);
        this.onMessageErrorEmitter.fire({ code: data.code, message: data.message, ...(sender ? { sender } : {}) });
    }

    // ---- outbound ----

    private assertOpen(): void {
        if (this._closed) {
            throw new CollaborationError('room-closed', 'The collaboration session has ended.');
        }
    }

    private assertConnected(): void {
        this.assertOpen();
        if (this._connection !== 'connected') {
            throw new CollaborationError('disconnected', 'Reconnecting to the collaboration server: try again once the connection is back.');
        }
    }

    private send(kind: EnvelopeKind, body: SealedBody, target?: string, id?: number): Promise<void> {
        if (this._closed) {
            return Promise.reject(new CollaborationError('room-closed', 'The collaboration session has ended.'));
        }
        // Sequence numbers are taken here, in call order, which is also the order the socket gets the envelopes.
        let sealed: ClientEnvelope | Promise<ClientEnvelope>;
        try {
            this.assertConnected();
            sealed = this.codec.seal(kind, body, target, id);
        } catch (error) {
            return Promise.reject(error);
        }
        return this.outbound.send(sealed);
    }

    private resolveTarget(target: string | undefined): string {
        const id = target ?? this.hostId;
        if (id === this.selfId) {
            throw new CollaborationError('bad-request', 'A peer cannot send a request or notification to itself.');
        }
        if (!this.peerList.has(id)) {
            throw new CollaborationError('not-found', `There is no peer '${id}' in this session.`);
        }
        return id;
    }

    /** Features may not handle or send the session's own messages. */
    private checkFeatureMethod(definition: MessageDefinition): void {
        if (isSessionMethod(definition.method)) {
            throw new CollaborationError('bad-request', `'${definition.method}' is reserved for the session itself: pick another method name.`);
        }
    }

    onBroadcast<P>(definition: Broadcast<P>, handler: BroadcastHandler<P>): Disposable {
        this.checkFeatureMethod(definition);
        return this.messages.onBroadcast(definition, handler);
    }

    onNotification<P>(definition: Notification<P>, handler: NotificationHandler<P>): Disposable {
        this.checkFeatureMethod(definition);
        return this.messages.onNotification(definition, handler);
    }

    onRequest<P, R>(definition: Request<P, R>, handler: RequestHandler<P, R>): Disposable {
        this.checkFeatureMethod(definition);
        return this.messages.onRequest(definition, handler);
    }

    sendBroadcast<P>(definition: Broadcast<P>, params: P): Promise<void> {
        return this.send('broadcast', { m: definition.method, p: params });
    }

    async sendNotification<P>(definition: Notification<P>, params: P, options?: TargetOptions | string): Promise<void> {
        this.assertOpen();
        const target = typeof options === 'string' ? options : options?.target;
        return this.send('notification', { m: definition.method, p: params }, this.resolveTarget(target));
    }

    async sendRequest<P, R>(definition: Request<P, R>, params: P, options: RequestOptions = {}): Promise<R> {
        this.assertOpen();
        const target = this.resolveTarget(options.target);
        return this.messages.request(definition, params, target, options.timeout ?? this.connection.requestTimeout, options.signal,
            id => this.send('notification', { m: CancelRequest.method, p: { id } }, target).catch(noop));
    }

    async isAvailable(definition: MessageDefinition, peerId?: string): Promise<boolean> {
        const methods = await this.messages.request(HandledMethodsRequest, {}, this.resolveTarget(peerId), this.connection.requestTimeout);
        const list = definition.kind === 'request' ? methods.requests : definition.kind === 'notification' ? methods.notifications : methods.broadcasts;
        return Array.isArray(list) && list.includes(definition.method);
    }

    startDelivery(): void {
        this.messages.startDelivery();
    }

    // ---- stored content ----

    async storeContent(data: Uint8Array): Promise<StoredContentRef> {
        this.assertHost();
        return this.content.store(data);
    }

    async fetchContent(ref: StoredContentRef): Promise<Uint8Array> {
        this.assertOpen();
        return this.content.fetch(ref);
    }

    async deleteContent(ref: StoredContentRef): Promise<void> {
        this.assertHost();
        await this.content.delete(ref);
    }

    // ---- host operations ----

    private assertHost(): void {
        this.assertOpen();
        if (!this.isHost) {
            throw new CollaborationError('forbidden', 'Only the host can do this.');
        }
    }

    async setPermission(peerId: string, permission: Permission): Promise<void> {
        this.assertHost();
        const info = this.admittedGuests.get(peerId);
        if (!info || this.departed.has(peerId)) {
            throw new CollaborationError('not-found', `There is no guest '${peerId}' in this session.`);
        }
        if (info.permission !== permission) {
            // The host's own record is what its handlers enforce, at once; the server and the guests are told.
            const changed = { ...info, permission };
            this.admittedGuests.set(peerId, changed);
            await this.upsertPeer(changed);
            this.publishRoster();
        }
        await this.connection.request('room:set-permission', { roomId: this.roomId, peerId, permission })
            .catch(error => this.connection.logger.warn(`collaboration: the server did not take the permission change: ${CollaborationError.from(error).message}`));
    }

    async removePeer(peerId: string): Promise<void> {
        this.assertHost();
        if (peerId === this.selfId) {
            throw new CollaborationError('bad-request', 'The host cannot remove itself; leave the session instead.');
        }
        if (!this.admittedGuests.has(peerId) || this.departed.has(peerId)) {
            throw new CollaborationError('not-found', `There is no guest '${peerId}' in this session.`);
        }
        // Gone for this host and, through the roster, for every guest, whatever the server does.
        this.removePeerLocally(peerId, 'removed');
        await this.connection.request('room:remove', { roomId: this.roomId, peerId })
            .catch(error => this.connection.logger.warn(`collaboration: the server did not take the removal: ${CollaborationError.from(error).message}`));
        try {
            await this.rotateKey();
        } finally {
            // Sealed with the new key: the removed peer cannot read who stays.
            this.publishRoster();
        }
    }

    /** Host: creates the next content key and hands it to every remaining guest this host admitted. */
    rotateKey(): Promise<void> {
        return this.roomKeys.rotate();
    }

    async leave(): Promise<void> {
        if (this._closed) {
            return;
        }
        this.close('left', 'You left the session.');
        if (this.connection.connected) {
            await this.connection.request('room:leave', { roomId: this.roomId }, LEAVE_TIMEOUT_MS)
                .catch(error => this.connection.logger.info(`collaboration: leaving room ${this.roomId}: ${CollaborationError.from(error).message}`));
        }
    }

    /** Ends the session locally: rejects pending requests, forgets keys, stops routing. */
    close(reason: SessionClosed['reason'], message: string): void {
        if (this._closed) {
            return;
        }
        this._closed = true;
        const code = reason === 'disconnected' ? 'disconnected' : 'room-closed';
        this.messages.rejectAll(new CollaborationError(code, message));
        this.keys.clear();
        this.peerAuth.clear();
        this.held.clear();
        this.inviteRegistry?.clear();
        this.rosterArrived.reject(new CollaborationError(code, message));
        this.rosterArrived.promise.catch(noop);
        this.connection.detach(this.roomId, this);
        this.onCloseEmitter.fire({ reason, message });
        for (const emitter of [this.onPeerJoinedEmitter, this.onPeerLeftEmitter, this.onPeerChangedEmitter, this.onJoinRequestEmitter,
            this.onCloseEmitter, this.onMessageErrorEmitter, this.onDidChangeConnectionEmitter, this.onDidChangeHostConnectionEmitter,
            this.onMissedMessagesEmitter]) {
            emitter.dispose();
        }
    }
}
