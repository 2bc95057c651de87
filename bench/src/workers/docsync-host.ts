/**
 * The host side of the document sync benchmark (forked, IPC), in its own process like a real host:
 * - collab: a CollaborationClient hosting a session, auto-admitting guests, with an EditorHost that has
 *   the 5 MiB document open;
 * - yws: a y-websocket client that builds the same document and uploads it to the y-websocket server.
 */
import * as Y from 'yjs';
import type { CollaborationClient } from '@theia-collab/protocol/lib/client';
import { EditorHost } from '@theia-collab/extension/lib/common/editor/editor-host';
import { TEXT_NAME } from '@theia-collab/extension/lib/common/editor/editor-document';
import { applyEdits, corpus, DOC_CHARS, DOC_PATH, DocVariant, editScript, sha256 } from '../util/doc-text';
import { connectClient, quietLogger } from '../util/encrypted-clients';
import { now, withTimeout } from '../util/time';
import { YWebsocketClient } from '../util/ywebsocket-client';

export type HostCommand = { cmd: 'start'; kind: 'collab' | 'yws'; url: string; variant: DocVariant; room: string } | { cmd: 'gc' } | { cmd: 'stop' };
export interface HostReady { invite?: string; length: number; sha: string; buildMs: number; updateBytes: number; error?: string }

let client: CollaborationClient | undefined;
let host: EditorHost | undefined;
let yws: YWebsocketClient | undefined;

async function start(command: Extract<HostCommand, { cmd: 'start' }>): Promise<HostReady> {
    const started = now();
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
        setTimeout(() => process.exit(0), 100);
        return;
    }
    start(command).then(ready => process.send!(ready), error => process.send!({ length: 0, sha: '', buildMs: 0, updateBytes: 0, error: String(error && error.stack || error) }));
});
