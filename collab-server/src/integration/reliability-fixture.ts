/**
 * Support for the reliability tests: protocol clients with reconnection settings, ways to cut a
 * connection (client side or server side), a seeded PRNG, and a small Yjs document sync over the
 * session API (the host is the hub, guests re-synchronise by state vectors whenever they or the host
 * come back), so that "nothing typed is lost" can be checked character by character.
 */
import * as Y from 'yjs';
import { z } from 'zod';
import { CollaborationError } from '@theia-collab/protocol/lib/errors';
import { Disposable } from '@theia-collab/protocol/lib/events';
import { Broadcast, Notification, Request } from '@theia-collab/protocol/lib/messages';
import type { CollaborationSession } from '@theia-collab/protocol/lib/session';
import { Binary } from '@theia-collab/protocol/lib/wire';
import type { ServerHandle } from '../server';
import type { CollabSocket } from '../socket-state';

export { connectClient, connectionLog, cutClientSide, keepOffline, prng, socketOf } from '@theia-collab/test-kit';

/** The server's socket of a peer. */
export function serverSocketOf(server: ServerHandle | { url: string }, peerId: string): CollabSocket | undefined {
    for (const socket of (server as ServerHandle).io.of('/').sockets.values()) {
        for (const membership of socket.data.memberships.values()) {
            if (membership.peerId === peerId) {
                return socket;
            }
        }
    }
    return undefined;
}

/** Drops a peer's connection from the server's side (closing the transport, not a namespace disconnect). */
export function cutServerSide(server: ServerHandle | { url: string }, peerId: string): void {
    const socket = serverSocketOf(server, peerId);
    if (!socket) {
        throw new Error(`no server socket for peer ${peerId}`);
    }
    socket.conn.close();
}

// ---- a small Yjs sync over the session API ----

const Bytes = Binary(8 * 1024 * 1024);
function bytes(value: Uint8Array | ArrayBuffer): Uint8Array {
    return value instanceof Uint8Array ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength) : new Uint8Array(value);
}

export const DocMessages = {
    Sync: Request.define<{ stateVector: Uint8Array }, { update: Uint8Array; stateVector: Uint8Array }>('test-doc/sync', {
        params: z.object({ stateVector: Bytes }).strict(),
        result: z.object({ update: Bytes, stateVector: Bytes }).strict()
    }),
    Update: Notification.define<{ update: Uint8Array }>('test-doc/update', { params: z.object({ update: Bytes }).strict() }),
    Broadcast: Broadcast.define<{ update: Uint8Array }>('test-doc/broadcast', { params: z.object({ update: Bytes }).strict() })
};

const REMOTE = Symbol('remote');

/** A character-level text editor over a Y.Doc: inserts fresh unique characters, deletes some. */
export class TypingDoc {
    readonly doc = new Y.Doc();
    readonly text = this.doc.getText('t');
    readonly inserted = new Set<string>();
    readonly deleted = new Set<string>();

    type(random: () => number, fresh: () => string): void {
        const length = this.text.length;
        if (length > 10 && random() < 0.2) {
            const at = Math.floor(random() * (length - 1));
            const gone = this.text.toString().slice(at, at + 2);
            [...gone].forEach(char => this.deleted.add(char));
            this.text.delete(at, gone.length);
        } else {
            const char = fresh();
            this.inserted.add(char);
            this.text.insert(Math.floor(random() * (length + 1)), char);
        }
    }

    get value(): string {
        return this.text.toString();
    }
}

/** The hub: answers syncs, applies guest updates, broadcasts every change. */
export class HostDoc extends TypingDoc implements Disposable {
    protected readonly toDispose: Disposable[] = [];
    failedSends = 0;

    constructor(readonly session: CollaborationSession) {
        super();
        this.toDispose.push(
            session.onRequest(DocMessages.Sync, ({ stateVector }) => ({
                update: Y.encodeStateAsUpdate(this.doc, bytes(stateVector)),
                stateVector: Y.encodeStateVector(this.doc)
            })),
            session.onNotification(DocMessages.Update, ({ update }) => Y.applyUpdate(this.doc, bytes(update), REMOTE))
        );
        this.doc.on('update', (update: Uint8Array) => {
            if (session.connectionState === 'connected' && !session.closed) {
                session.sendBroadcast(DocMessages.Broadcast, { update }).catch(() => this.failedSends++);
            }
        });
    }

    dispose(): void {
        this.toDispose.forEach(d => d.dispose());
        this.doc.destroy();
    }
}

/**
 * A guest: sends its changes to the host while both are connected; otherwise keeps them in its doc and
 * re-synchronises (state vectors both ways) when it or the host is back.
 */
export class GuestDoc extends TypingDoc implements Disposable {
    protected readonly toDispose: Disposable[] = [];
    syncs = 0;
    failedSends = 0;

    constructor(readonly session: CollaborationSession) {
        super();
        this.toDispose.push(
            session.onBroadcast(DocMessages.Broadcast, ({ update }) => Y.applyUpdate(this.doc, bytes(update), REMOTE)),
            session.onDidChangeConnection(state => state === 'connected' && this.resync()),
            session.onDidChangeHostConnection(state => state === 'connected' && this.resync())
        );
        this.doc.on('update', (update: Uint8Array, origin: unknown) => {
            if (origin !== REMOTE && this.online) {
                session.sendNotification(DocMessages.Update, { update }).catch(() => this.failedSends++);
            }
        });
    }

    get online(): boolean {
        return !this.session.closed && this.session.connectionState === 'connected' && this.session.hostConnectionState === 'connected';
    }

    async sync(): Promise<void> {
        const result = await this.session.sendRequest(DocMessages.Sync, { stateVector: Y.encodeStateVector(this.doc) }, { timeout: 5000 });
        Y.applyUpdate(this.doc, bytes(result.update), REMOTE);
        const missing = Y.encodeStateAsUpdate(this.doc, bytes(result.stateVector));
        await this.session.sendNotification(DocMessages.Update, { update: missing });
        this.syncs++;
    }

    /** Re-synchronises, trying again while online (the state may flap). */
    protected async resync(): Promise<void> {
        for (let attempt = 0; attempt < 5 && this.online; attempt++) {
            try {
                await this.sync();
                return;
            } catch (error) {
                if (CollaborationError.from(error).code === 'room-closed') {
                    return;
                }
                await new Promise(resolve => setTimeout(resolve, 100));
            }
        }
    }

    dispose(): void {
        this.toDispose.forEach(d => d.dispose());
        this.doc.destroy();
    }
}

/** Unique characters (CJK block), so survivors can be checked exactly. */
export function freshChars(start = 0x4E00): () => string {
    let next = start;
    return () => String.fromCharCode(next++);
}
