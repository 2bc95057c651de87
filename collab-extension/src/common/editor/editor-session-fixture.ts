/**
 * The set-up the co-editing specs share: per test, a real server, a hosting session with an EditorHost over
 * an in-memory disk, and guests that join read-write (or read-only) with an EditorGuest. Registers mocha hooks.
 */
import type { CollaborationClient } from '@theia-collab/protocol/lib/client';
import type { CollaborationSession } from '@theia-collab/protocol/lib/session';
import type { ServerHandle } from '@theia-collab/server/lib/server';
import { DocumentProblem, EditorGuest } from './editor-guest';
import { EditorHost, EditorHostOptions } from './editor-host';
import { connect, QuietLogger, startTestServer, until } from './editor-test-fixture';

export interface EditorTestGuest {
    session: CollaborationSession;
    sync: EditorGuest;
    problems: DocumentProblem[];
}

export interface EditorSessionScope {
    server: ServerHandle;
    host: CollaborationSession;
    hostSync: EditorHost;
    /** The host's disk: read by the EditorHost, written by its saves. */
    files: Map<string, string>;
    /** Every save, in order. */
    saved: { path: string; text: string }[];
    readonly clients: CollaborationClient[];
    readonly disposables: { dispose(): void }[];
    readonly logger: QuietLogger;
    guest(name: string, permission?: 'readonly' | 'readwrite'): Promise<EditorTestGuest>;
}

export function useEditorSession(initialFiles: Record<string, string>, hostOptions: EditorHostOptions = {}): EditorSessionScope {
    const scope = {
        clients: [] as CollaborationClient[],
        disposables: [] as { dispose(): void }[],
        logger: new QuietLogger(),
        async guest(name: string, permission: 'readonly' | 'readwrite' = 'readwrite'): Promise<EditorTestGuest> {
            const client = await connect(scope.server, name, scope.logger);
            scope.clients.push(client);
            const admitting = scope.host.onJoinRequest(request => { request.admit(permission).catch(() => undefined); });
            const session = await client.joinSession(scope.host.invite!.code);
            admitting.dispose();
            await until(() => scope.host.getPeer(session.self.id) !== undefined, 'the host sees the guest');
            const sync = new EditorGuest({ logger: scope.logger });
            scope.disposables.push(sync);
            sync.attach(session);
            const problems: DocumentProblem[] = [];
            sync.onDidReportProblem(problem => problems.push(problem));
            return { session, sync, problems };
        }
    } as EditorSessionScope;

    beforeEach(async () => {
        scope.server = await startTestServer();
        const hostClient = await connect(scope.server, 'Host', scope.logger);
        scope.clients.push(hostClient);
        scope.host = await hostClient.createSession();
        scope.files = new Map(Object.entries(initialFiles));
        scope.saved = [];
        scope.hostSync = new EditorHost(scope.host, {
            read: async path => {
                const text = scope.files.get(path);
                if (text === undefined) {
                    throw Object.assign(new Error('missing'), { code: 'not-found', message: `'${path}' does not exist.` });
                }
                return text;
            },
            save: async (path, text) => {
                scope.saved.push({ path, text });
                scope.files.set(path, text);
                return true;
            }
        }, { logger: scope.logger, ...hostOptions });
        scope.disposables.push(scope.hostSync);
    });

    afterEach(async () => {
        scope.disposables.splice(0).forEach(d => d.dispose());
        scope.clients.splice(0).forEach(client => client.dispose());
        await scope.server.close();
    });

    return scope;
}
