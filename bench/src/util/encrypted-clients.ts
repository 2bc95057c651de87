/**
 * Room members that use the real protocol client (`CollaborationClient`): login, session create/join
 * with key exchange and fingerprint check, and every message sealed with AES-GCM end to end.
 */
import { CollaborationClient } from '@theia-collab/protocol/lib/client';
import { Broadcast } from '@theia-collab/protocol/lib/messages';
import type { CollaborationSession } from '@theia-collab/protocol/lib/session';
import { Member, PAYLOAD_BYTES, readHeader, writeHeader } from './fanout-load';

export const quietLogger = { warn: () => undefined, error: (...args: unknown[]) => console.error(...args), info: () => undefined };

export function connectClient(url: string, name: string): Promise<CollaborationClient> {
    return CollaborationClient.connect({ serverUrl: url, name, logger: quietLogger, requestTimeout: 60_000 });
}

export interface SessionGroup {
    clients: CollaborationClient[];
    sessions: CollaborationSession[];
    close(): void;
}

/** A host and `size - 1` guests in one session; the host admits everyone read-write. `urls` spread clients over instances. */
export async function createSessionGroup(urls: string[], size: number): Promise<SessionGroup> {
    const clients: CollaborationClient[] = [];
    const close = () => clients.forEach(client => client.dispose());
    try {
        const host = await connectClient(urls[0], 'Host');
        clients.push(host);
        const hostSession = await host.createSession();
        hostSession.onJoinRequest(request => { request.admit('readwrite').catch(error => console.error('admit failed', error)); });
        const sessions: CollaborationSession[] = [hostSession];
        for (let i = 1; i < size; i++) {
            const guest = await connectClient(urls[i % urls.length], `Guest ${i}`);
            clients.push(guest);
            sessions.push(await guest.joinSession(hostSession.invite!.code));
        }
        // Everyone knows everyone before load starts.
        const deadline = Date.now() + 10_000;
        while (sessions.some(session => session.peers.length < size) && Date.now() < deadline) {
            await new Promise(resolve => setTimeout(resolve, 10));
        }
        return { clients, sessions, close };
    } catch (error) {
        close();
        throw error;
    }
}

const FanoutMessage = Broadcast.define<{ d: Uint8Array }>('bench/fanout');
const FILLER = Buffer.alloc(PAYLOAD_BYTES, 0x5a);

export function encryptedMember(session: CollaborationSession, index: number): Member {
    return {
        send(msgNo, sentAt) {
            const d = Buffer.allocUnsafe(PAYLOAD_BYTES);
            FILLER.copy(d);
            writeHeader(d, index, msgNo, sentAt);
            session.sendBroadcast(FanoutMessage, { d }).catch(error => console.error('send failed', error));
        },
        onReceive(callback) {
            session.onBroadcast(FanoutMessage, params => {
                const header = readHeader(params.d);
                callback(header.sender, header.msgNo, header.sentAt);
            });
        }
    };
}
