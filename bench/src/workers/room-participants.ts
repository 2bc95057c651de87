/**
 * Headless room members for the room30 benchmark (forked, IPC): each is a real protocol client
 * (`CollaborationClient`) that joins the session, opens the shared document with the extension's
 * `EditorGuest` (it really holds the document and receives every change) and keeps a `SessionAwareness`
 * state naming that document, moving its caret `hz` times a second (awareness updates).
 *
 * Messages: { cmd: 'join', url, invite, names } -> { joined: n } | { error }
 *           { cmd: 'open', path, hz } -> { opened: n, length } | { error }
 *           { cmd: 'report' } -> { lengths, markerCounts, awarenessSent }
 *           { cmd: 'stop' }
 */
import * as Y from 'yjs';
import type { CollaborationClient } from '@theia-collab/protocol/lib/client';
import type { CollaborationSession } from '@theia-collab/protocol/lib/session';
import { EditorGuest } from '@theia-collab/extension/lib/common/editor/editor-guest';
import { SessionAwareness } from '@theia-collab/extension/lib/common/editor/editor-awareness';
import type { SharedDocument } from '@theia-collab/extension/lib/common/editor/editor-document';
import { connectClient, quietLogger } from '../util/encrypted-clients';

export type ParticipantCommand =
    | { cmd: 'join'; url: string; invite: string; names: string[] }
    | { cmd: 'open'; path: string; hz: number }
    | { cmd: 'report'; markers: string[] }
    | { cmd: 'stop' };

interface Member {
    client: CollaborationClient;
    session: CollaborationSession;
    guest?: EditorGuest;
    awareness?: SessionAwareness;
    shared?: SharedDocument;
    timer?: ReturnType<typeof setInterval>;
    moves: number;
}

const members: Member[] = [];
let seed = process.pid;
const random = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
};

async function join(command: Extract<ParticipantCommand, { cmd: 'join' }>): Promise<unknown> {
    await Promise.all(command.names.map(async name => {
        const client = await connectClient(command.url, name);
        try {
            const session = await client.joinSession(command.invite);
            members.push({ client, session, moves: 0 });
        } catch (error) {
            client.dispose();
            throw error;
        }
    }));
    return { joined: members.length };
}

async function open(command: Extract<ParticipantCommand, { cmd: 'open' }>): Promise<unknown> {
    await Promise.all(members.map(async member => {
        const guest = member.guest = new EditorGuest({ logger: quietLogger });
        guest.attach(member.session);
        const shared = member.shared = await guest.acquire(command.path);
        const awareness = member.awareness = new SessionAwareness(member.session, { logger: quietLogger });
        const move = () => {
            const text = shared.text;
            const index = Math.floor(random() * (text.length + 1));
            const position = Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(text, index));
            const visibleStart = Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(text, 0));
            const visibleEnd = Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(text, text.length));
            awareness.setLocal({ document: command.path, selections: [{ anchor: position, head: position }], visible: { start: visibleStart, end: visibleEnd } } as any);
            member.moves++;
        };
        move();
        // Spread the members' ticks over the period.
        const period = 1000 / command.hz;
        setTimeout(() => { member.timer = setInterval(move, period); }, random() * period);
    }));
    return { opened: members.length, length: members[0]?.shared?.text.length ?? 0 };
}

function report(markers: string[]): unknown {
    return {
        lengths: members.map(member => member.shared?.text.length ?? 0),
        markerCounts: members.map(member => {
            const lines = (member.shared?.text.toString() ?? '').split('\n');
            return markers.map(marker => (lines.find(line => line.startsWith(marker)) ?? marker).length - marker.length);
        }),
        moves: members.reduce((sum, member) => sum + member.moves, 0),
        peers: members.map(member => member.session.peers.length)
    };
}

function stop(): void {
    for (const member of members) {
        clearInterval(member.timer);
        member.awareness?.dispose();
        member.guest?.dispose();
        member.client.dispose();
    }
    setTimeout(() => process.exit(0), 200);
}

process.on('message', (command: ParticipantCommand) => {
    const reply = (work: () => Promise<unknown> | unknown) => Promise.resolve().then(work).then(
        answer => process.send!(answer),
        error => process.send!({ error: String(error && error.stack || error) }));
    switch (command.cmd) {
        case 'join': return reply(() => join(command));
        case 'open': return reply(() => open(command));
        case 'report': return reply(() => report(command.markers));
        case 'stop': return stop();
    }
});
