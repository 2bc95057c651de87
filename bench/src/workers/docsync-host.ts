/**
 * The host side of the document sync benchmark (forked, IPC), in its own process like a real host:
 * - collab: a CollaborationClient hosting a session, auto-admitting guests, with an EditorHost that has
 *   the 5 MiB document open;
 * - yws: a y-websocket client that builds the same document and uploads it to the y-websocket server;
 * - bare: the transport floor: a socket.io client in a room of the bare relay that answers each part request
 *   with that 512 KiB part of the text's bytes (no encryption, no Yjs).
 */
import * as Y from 'yjs';
import type { Socket } from 'socket.io-client';
import { EditorLimits } from '@theia-collab/extension/lib/common/editor/editor-protocol';
import type { CollaborationClient } from '@theia-collab/protocol/lib/client';
import { EditorHost } from '@theia-collab/extension/lib/common/editor/editor-host';
import { TEXT_NAME } from '@theia-collab/extension/lib/common/editor/editor-document';
import { applyEdits, corpus, DOC_CHARS, DOC_PATH, DocVariant, editScript, sha256 } from '../util/doc-text';
import { connectClient, quietLogger } from '../util/encrypted-clients';
import { ack, connected, openSocket } from '../util/raw-clients';
import { now, withTimeout } from '../util/time';
import { YWebsocketClient } from '../util/ywebsocket-client';

export type HostKind = 'collab' | 'yws' | 'bare';
export type HostCommand = { cmd: 'start'; kind: HostKind; url: string; variant: DocVariant; room: string } | { cmd: 'gc' } | { cmd: 'stop' };
export interface HostReady { invite?: string; length: number; sha: string; buildMs: number; updateBytes: number; parts?: number; error?: string }
/** What the bare relay carries: a guest asks for part `need`, the host answers with `part` and its bytes. */
export interface FloorMessage { room: string; need?: number; part?: number; data?: Uint8Array }

let client: CollaborationClient | undefined;
let host: EditorHost | undefined;
let yws: YWebsocketClient | undefined;
let relay: Socket | undefined;

async function startBare(command: Extract<HostCommand, { cmd: 'start' }>, started: number): Promise<HostReady> {
    const text = corpus(DOC_CHARS);
    const bytes = Buffer.from(text);
    const parts: Buffer[] = [];
    for (let offset = 0; offset < bytes.length; offset += EditorLimits.chunkBytes) {
        parts.push(bytes.subarray(offset, offset + EditorLimits.chunkBytes));
    }
    const socket = relay = openSocket(command.url);
    await connected(socket);
    await ack(socket, 'join', command.room);
    socket.on('relay', (message: FloorMessage) => {
        if (typeof message.need === 'number' && parts[message.need]) {
            socket.emit('relay', { room: command.room, part: message.need, data: parts[message.need] } satisfies FloorMessage);
        }
    });
    return { length: bytes.length, sha: sha256(text), buildMs: now() - started, updateBytes: bytes.length, parts: parts.length };
}

async function start(command: Extract<HostCommand, { cmd: 'start' }>): Promise<HostReady> {
    const started = now();
    if (command.kind === 'bare') {
        return startBare(command, started);
    }
    if (command.kind === 'collab') {
        client = await connectClient(command.url, 'Host');
        const session = await client.createSession();
        session.onJoinRequest(request => { request.admit('readwrite').catch(error => console.error('admit failed', error)); });
        const initial = command.variant === 'at-once' ? corpus(DOC_CHARS) : '';
        host = new EditorHost(session, { read: async () => initial, save: async () => true }, { logger: quietLogger });
        const shared = await host.acquire(DOC_PATH);
        if (command.variant === 'edits') {
            applyEdits(shared.doc, shared.text, editScript(), shared.localOrigin);
        }
        const text = shared.text.toString();
        return { invite: session.invite!.code, length: text.length, sha: sha256(text), buildMs: now() - started, updateBytes: Y.encodeStateAsUpdate(shared.doc).byteLength };
    }
    const doc = new Y.Doc();
    const text = doc.getText(TEXT_NAME);
    if (command.variant === 'at-once') {
        text.insert(0, corpus(DOC_CHARS));
    } else {
        applyEdits(doc, text, editScript());
    }
    yws = new YWebsocketClient(command.url, command.room, doc);
    await withTimeout(yws.synced, 60_000, 'y-websocket host sync');
    // The server has the whole document once a fresh client gets it all.
    const expected = text.toString();
    for (let attempt = 0; attempt < 100; attempt++) {
        const checker = new YWebsocketClient(command.url, command.room);
        await withTimeout(checker.synced, 60_000, 'y-websocket check');
        const got = checker.doc.getText(TEXT_NAME).length;
        checker.close();
        if (got === expected.length) {
            break;
        }
        await new Promise(resolve => setTimeout(resolve, 100));
    }
    return { length: expected.length, sha: sha256(expected), buildMs: now() - started, updateBytes: Y.encodeStateAsUpdate(doc).byteLength };
}

process.on('message', (command: HostCommand) => {
    if (command.cmd === 'gc') {
        (globalThis as { gc?: () => void }).gc?.();
        process.send!({ collected: true });
        return;
    }
    if (command.cmd === 'stop') {
        host?.dispose();
        client?.dispose();
        yws?.close();
        relay?.close();
        setTimeout(() => process.exit(0), 100);
        return;
    }
    start(command).then(ready => process.send!(ready), error => process.send!({ length: 0, sha: '', buildMs: 0, updateBytes: 0, error: String(error && error.stack || error) }));
});
