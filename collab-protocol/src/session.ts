/**
 * The typed session API that features and other extensions program against. Everything sent
 * through it is sealed end to end; the coordination server only sees envelope headers.
 */
import { CollaborationErrorData } from './errors';
import { Disposable, Event } from './events';
import { Broadcast, MessageDefinition, Notification, Request } from './messages';
import type { StoredContentRef } from './stored-content';
import { Permission, PeerLeftReason, RoomClosedReason, Role } from './wire';

export interface Peer {
    readonly id: string;
    readonly userId: string;
    readonly name: string;
    readonly role: Role;
    readonly permission: Permission;
    /** Short, human-comparable fingerprint of the peer's session public key, e.g. `3F2A-91C0-7B44-E1D8`. */
    readonly fingerprint: string;
    /** The peer said, when it asked to join, that it is a program (a bot, an AI agent): informational, unchecked. */
    readonly program?: boolean;
}

/** Where a request or notification goes. */
export interface TargetOptions {
    /** Peer id; the host by default. */
    target?: string;
}

export interface RequestOptions extends TargetOptions {
    /** Milliseconds before the promise rejects with a `timeout` error. */
    timeout?: number;
    /**
     * Aborting rejects the request at once with `cancelled` and tells the handling peer, whose handler sees its
     * `context.signal` abort (e.g. to stop a search).
     */
    signal?: AbortSignal;
}

/** What a request handler gets besides the params and the sender. */
export interface RequestContext {
    /** Aborts when the requesting peer cancels the request, leaves or the session ends. */
    readonly signal: AbortSignal;
}

export type BroadcastHandler<P> = (params: P, sender: Peer) => void;
export type NotificationHandler<P> = (params: P, sender: Peer) => void;
export type RequestHandler<P, R> = (params: P, sender: Peer, context: RequestContext) => R | Promise<R>;

export interface PeerLeft { peer: Peer; reason: PeerLeftReason }

/**
 * A connection as a session sees it. `reconnecting`: the connection dropped and is being re-established;
 * the session survives (same peer, keys and sequence numbers) unless that takes too long (then it
 * closes with reason 'disconnected'). While reconnecting, sending fails at once with 'disconnected', and
 * requests in flight when the connection dropped fail with 'disconnected': once `connected` again,
 * features re-synchronise what they need (e.g. documents by state vectors).
 */
export type ConnectionState = 'connected' | 'reconnecting';
export interface SessionClosed { reason: RoomClosedReason | 'left' | 'disconnected'; message: string }

/**
 * A guest asking to join, as the host sees it. Only requests that proved they hold one of the host's
 * current invites (see `createInvite`) reach the host; the others are refused before anyone is asked.
 */
export interface JoinRequest {
    readonly requestId: string;
    readonly name: string;
    readonly userId: string;
    readonly fingerprint: string;
    /** The id of the invite the guest joins with. */
    readonly inviteId: string;
    /** The guest says it is a program (a bot, an AI agent), not a person: what it says of itself, unchecked. */
    readonly program?: boolean;
    admit(permission: Permission): Promise<void>;
    deny(reason?: string): Promise<void>;
}

export interface CollaborationSession {
    readonly roomId: string;
    readonly self: Peer;
    readonly host: Peer;
    readonly isHost: boolean;
    /** Everyone in the room, self included, host first. */
    readonly peers: readonly Peer[];
    /**
     * Host only: the session's first invite, what a guest pastes into "Join Session". Carries the host key
     * fingerprint and the invite's secret. Valid until revoked.
     */
    readonly invite?: Invite;
    /** Host only: the invites guests can join with now (not revoked, not expired, not used up). */
    readonly invites: readonly Invite[];
    /**
     * Host only: a further invite, e.g. one that works for one guest only or for a limited time.
     * @example
     * const invite = session.createInvite({ singleUse: true, expiresInMs: 10 * 60_000 });
     * await clipboard.writeText(invite.link);
     */
    createInvite(options?: InviteOptions): Invite;
    /**
     * Host only: join requests made with this invite from now on are refused. Returns whether it was valid.
     * @example
     * session.revokeInvite(invite.id);
     */
    revokeInvite(inviteId: string): boolean;

    /**
     * Handles a broadcast from any other peer.
     * @example
     * session.onBroadcast(TallyChanged, (tally, sender) => view.show(tally, sender.name));
     */
    onBroadcast<P>(definition: Broadcast<P>, handler: BroadcastHandler<P>): Disposable;
    /**
     * Sends to every other peer; resolves once the server accepted it.
     * @example
     * await session.sendBroadcast(TallyChanged, { tabs: 3 });
     */
    sendBroadcast<P>(definition: Broadcast<P>, params: P): Promise<void>;
    /**
     * Answers requests for one method (one handler per method). Throw a `CollaborationError` to answer with an error.
     * @example
     * session.onRequest(CastVote, ({ option }, sender, { signal }) => tally.add(option, sender));
     */
    onRequest<P, R>(definition: Request<P, R>, handler: RequestHandler<P, R>): Disposable;
    /**
     * Asks one peer (the host by default) and resolves with its typed answer; rejects with the remote
     * `CollaborationError`, `timeout`, `cancelled` or `disconnected`.
     * @example
     * const tally = await session.sendRequest(CastVote, { option: 'tabs' }, { timeout: 5000, signal });
     */
    sendRequest<P, R>(definition: Request<P, R>, params: P, options?: RequestOptions): Promise<R>;
    /**
     * Handles one-way messages sent to this peer.
     * @example
     * session.onNotification(Typing, ({ typing }, sender) => indicator.set(sender.id, typing));
     */
    onNotification<P>(definition: Notification<P>, handler: NotificationHandler<P>): Disposable;
    /**
     * Sends one-way to one peer, the host by default (`options` may also be the target's id).
     * @example
     * await session.sendNotification(Typing, { typing: true }, { target: peer.id });
     */
    sendNotification<P>(definition: Notification<P>, params: P, options?: TargetOptions | string): Promise<void>;
    /**
     * Whether a peer (the host by default) has a handler for this definition now: for optional features that
     * older or differently equipped peers may lack.
     * @example
     * if (await session.isAvailable(Search.Text)) { showSearch(); }
     */
    isAvailable(definition: MessageDefinition, peerId?: string): Promise<boolean>;
    /**
     * Messages for features are held while this session was created with `holdDelivery` and until this is called:
     * so no message arrives before the handlers that want it are registered. Idempotent. (The Theia extension calls
     * it once every contribution's `onSessionStarted` has run; a contribution never needs to.)
     * @example
     * const session = await client.createSession({ holdDelivery: true });
     * session.onRequest(CastVote, vote);
     * session.startDelivery();
     */
    startDelivery(): void;

    /**
     * A peer was admitted (after `peers` already holds it).
     * @example
     * session.onPeerJoined(peer => view.add(peer), undefined, this.toDispose);
     */
    readonly onPeerJoined: Event<Peer>;
    /**
     * A peer left, was removed or lost its connection for good (after `peers` no longer holds it).
     * @example
     * session.onPeerLeft(({ peer, reason }) => votes.forget(peer.id));
     */
    readonly onPeerLeft: Event<PeerLeft>;
    /**
     * What the host's roster says of a peer changed, e.g. its permission (`setPermission`); also for this peer.
     * @example
     * session.onPeerChanged(peer => peer.id === session.self.id && toolbar.setReadOnly(peer.permission === 'readonly'));
     */
    readonly onPeerChanged: Event<Peer>;
    /**
     * Host only: a guest with a valid invite asks to join; answer with `admit` or `deny`.
     * @example
     * session.onJoinRequest(request => request.admit('readonly'));
     */
    readonly onJoinRequest: Event<JoinRequest>;
    /**
     * The session ended for this peer: it left, the host ended it, it was removed, the server shut down.
     * @example
     * session.onClose(({ reason }) => view.clear());
     */
    readonly onClose: Event<SessionClosed>;
    /** A message that could not be opened or handled (tampered, replayed, invalid); already logged. */
    readonly onMessageError: Event<CollaborationErrorData & { sender?: string }>;

    /** This peer's connection to the server. */
    readonly connectionState: ConnectionState;
    /** Fires when `connectionState` changes: 'connected' after a reconnect means this peer missed messages. */
    readonly onDidChangeConnection: Event<ConnectionState>;
    /**
     * The host's connection, as the server reports it ('reconnecting' while it keeps the host's place;
     * messages to the host then fail with 'disconnected'). For the host: its own `connectionState`.
     */
    readonly hostConnectionState: ConnectionState;
    /**
     * Fires when `hostConnectionState` changes, and 'connected' whenever the host resumed on a new connection
     * (also when this peer did not see it go, e.g. after a server crash): the host may have missed messages.
     */
    readonly onDidChangeHostConnection: Event<ConnectionState>;
    /**
     * Fires after this peer reconnected when messages meant for it were lost for good (the outage outlasted the
     * server's replay window, or the server could not replay): features re-synchronise the state they keep
     * from messages (history, scrollback, presence). Shorter outages lose nothing: what was relayed meanwhile
     * is opened, in order, before `onDidChangeConnection` says 'connected'.
     */
    readonly onMissedMessages: Event<void>;

    /**
     * The peer with this id while it is in the session, e.g. a message's sender named in another message.
     * @example
     * const author = session.getPeer(message.authorId)?.name ?? 'someone who left';
     */
    getPeer(id: string): Peer | undefined;
    /**
     * Host only: changes what a guest may do; every peer sees it in the roster and in `onPeerChanged`.
     * @example
     * await session.setPermission(peer.id, 'readwrite');
     */
    setPermission(peerId: string, permission: Permission): Promise<void>;
    /**
     * Host only: removes the guest and rotates the content key.
     * @example
     * await session.removePeer(peer.id);
     */
    removePeer(peerId: string): Promise<void>;
    /**
     * Leaves the session; for the host this ends it for everyone.
     * @example
     * await session.leave();
     */
    leave(): Promise<void>;
    readonly closed: boolean;

    /**
     * Host only: stores `data` on the server, sealed with a key of its own, for members to fetch with
     * `fetchContent` without the host: a large state is uploaded once, not once per guest. The reference holds
     * that key: send it only in session messages. The server keeps the content as a cache: it may evict it, and
     * another server instance may not have it. Whoever gets 'not-found' asks the host instead.
     * @example
     * const ref = await session.storeContent(new TextEncoder().encode(bigState));
     * await session.sendBroadcast(StateStored, { ref });
     */
    storeContent(data: Uint8Array): Promise<StoredContentRef>;
    /**
     * Fetches and opens stored content (the reference is validated).
     * @example
     * const state = new TextDecoder().decode(await session.fetchContent(ref));
     */
    fetchContent(ref: StoredContentRef): Promise<Uint8Array>;
    /**
     * Host only: removes stored content from the server once nobody needs it any more.
     * @example
     * await session.deleteContent(ref);
     */
    deleteContent(ref: StoredContentRef): Promise<void>;
}

export interface InviteOptions {
    /** The invite admits one guest: once the host admitted someone with it, it is used up. */
    singleUse?: boolean;
    /** Join requests made this long after the invite was created are refused. */
    expiresInMs?: number;
}

export interface Invite {
    /** Names the invite for `revokeInvite`; the session's first invite is 'default'. */
    id: string;
    serverUrl: string;
    roomId: string;
    /** Full fingerprint of the host's public key (base64url SHA-256), carried in the link's fragment. */
    hostKeyFingerprint: string;
    /** The secret a guest proves it holds when it asks to join (base64url); never sent to the server. */
    secret: string;
    /** `roomId#fingerprint.secret`, to paste into Join Session. */
    code: string;
    /** `${serverUrl}/join/${roomId}#${fingerprint}.${secret}`: the fragment never reaches the server. */
    link: string;
    /** Epoch milliseconds after which the invite is refused, when it expires. */
    expiresAt?: number;
    singleUse?: boolean;
}
