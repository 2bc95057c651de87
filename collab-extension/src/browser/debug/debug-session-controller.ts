import { DisposableCollection } from '@theia/core/lib/common/disposable';
import { DebugSession, DebugState } from '@theia/debug/lib/browser/debug-session';
import { DebugSessionManager } from '@theia/debug/lib/browser/debug-session-manager';
import { Disposable } from '@theia-collab/protocol/lib/events';
import { CollaborationError } from '@theia-collab/protocol/lib/errors';
import { DebugAction, DebugSessionStateName } from '../../common/debug/debug-session-protocol';
import { DebugController, HostDebugSession } from '../../common/debug/debug-session-sync';

const STATE_NAMES: Record<DebugState, DebugSessionStateName> = {
    [DebugState.Inactive]: 'inactive',
    [DebugState.Initializing]: 'initializing',
    [DebugState.Running]: 'running',
    [DebugState.Stopped]: 'stopped'
};

/** The host's DebugSessionManager as the collaboration sees it: sessions, their top frames, and control. */
export function createDebugController(manager: DebugSessionManager): DebugController {
    return {
        sessions: () => manager.sessions.map(toHostSession),
        current: () => manager.currentSession?.id,
        onDidChange: listener => {
            const toDispose = new DisposableCollection(
                manager.onDidChange(() => listener()),
                manager.onDidChangeActiveDebugSession(() => listener()),
                manager.onDidStopDebugSession(() => listener()),
                manager.onDidDestroyDebugSession(() => listener())
            );
            return Disposable.create(() => toDispose.dispose());
        },
        control: async (sessionId: string, action: DebugAction, threadId?: number) => {
            const session = manager.getSession(sessionId);
            const thread = session && (threadId !== undefined ? [...session.threads].find(candidate => candidate.raw.id === threadId) : session.currentThread);
            if (!session || !thread) {
                throw new CollaborationError('not-found', 'The host\'s debug session has no such thread (any more).');
            }
            switch (action) {
                case 'continue': await thread.continue(); break;
                case 'stepOver': await thread.stepOver(); break;
                case 'stepIn': await thread.stepIn(); break;
                case 'stepOut': await thread.stepOut(); break;
                case 'pause': await thread.pause(); break;
            }
        }
    };
}

function toHostSession(session: DebugSession): HostDebugSession {
    const thread = session.currentThread;
    const frame = thread?.stopped ? thread.topFrame : undefined;
    const source = frame?.source;
    const result: HostDebugSession = { id: session.id, name: session.label, state: STATE_NAMES[session.state] ?? 'running' };
    if (thread) {
        result.threadId = thread.raw.id;
        result.threadName = thread.raw.name;
        if (thread.stoppedDetails?.reason) {
            result.stoppedReason = thread.stoppedDetails.reason;
        }
    }
    if (frame) {
        result.frame = {
            name: frame.raw.name,
            ...(source && source.uri.scheme === 'file' ? { uri: source.uri.toString() } : {}),
            line: frame.raw.line,
            column: frame.raw.column,
            ...(frame.raw.endLine !== undefined ? { endLine: frame.raw.endLine } : {}),
            ...(frame.raw.endColumn !== undefined ? { endColumn: frame.raw.endColumn } : {})
        };
    }
    return result;
}
