import { DisposableCollection } from '@theia/core/lib/common/disposable';
import { DebugSession, DebugState } from '@theia/debug/lib/browser/debug-session';
import { DebugSessionManager } from '@theia/debug/lib/browser/debug-session-manager';
import { Disposable } from '@theia-collab/protocol/lib/events';
import { CollaborationError } from '@theia-collab/protocol/lib/errors';
import { DebugAction, DebugSessionStateName } from '../../common/debug/debug-session-protocol';
import { DebugController, HostDebugDetails, HostDebugFrame, HostDebugSession } from '../../common/debug/debug-session-sync';
import { DebugSessionLimits, DebugVariable } from '../../common/debug/debug-session-protocol';
import { DebugStackFrame } from '@theia/debug/lib/browser/model/debug-stack-frame';
import { DebugVariable as TheiaDebugVariable } from '@theia/debug/lib/browser/console/debug-console-items';

const STATE_NAMES: Record<DebugState, DebugSessionStateName> = {
    [DebugState.Inactive]: 'inactive',
    [DebugState.Initializing]: 'initializing',
    [DebugState.Running]: 'running',
    [DebugState.Stopped]: 'stopped'
};

/** The host's DebugSessionManager as the collaboration sees it: sessions, their top frames, and control. */
export function createDebugController(manager: DebugSessionManager): DebugController {
    /** Threads (by stop) whose further frames were asked for once already. */
    const fetched = new Set<string>();
    return {
        details: async sessionId => {
            const session = manager.getSession(sessionId);
            const thread = session?.currentThread;
            const top = thread?.stopped ? thread.topFrame : undefined;
            if (!session || !thread || !top) {
                return undefined;
            }
            // Theia loads the top frame first and the rest on demand: guests get (up to) the first 20 once per stop.
            const key = `${sessionId}:${thread.raw.id}:${top.raw.id}:${top.raw.line}`;
            if (thread.frameCount < 20 && !fetched.has(key)) {
                fetched.add(key);
                if (fetched.size > 1000) {
                    fetched.clear();
                }
                await thread.fetchFrames(20 - thread.frameCount);
            }
            const stack = [...thread.frames].slice(0, DebugSessionLimits.maxFrames).map(toHostFrame);
            const variables: DebugVariable[] = [];
            for (const scope of await top.getScopes()) {
                if ((scope as unknown as { raw: { expensive?: boolean } }).raw?.expensive) {
                    continue;
                }
                for (const element of await scope.getElements()) {
                    if (variables.length >= DebugSessionLimits.maxVariables) {
                        break;
                    }
                    if (element instanceof TheiaDebugVariable) {
                        variables.push({ scope: scope.name, name: element.name, value: element.value ?? '', ...(element.type ? { type: element.type } : {}) });
                    }
                }
            }
            return { stack, variables } satisfies HostDebugDetails;
        },
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
    const result: HostDebugSession = { id: session.id, name: session.label, state: STATE_NAMES[session.state] ?? 'running' };
    if (thread) {
        result.threadId = thread.raw.id;
        result.threadName = thread.raw.name;
        if (thread.stoppedDetails?.reason) {
            result.stoppedReason = thread.stoppedDetails.reason;
        }
    }
    if (frame) {
        result.frame = toHostFrame(frame);
    }
    return result;
}

function toHostFrame(frame: DebugStackFrame): HostDebugFrame {
    const source = frame.source;
    return {
        name: frame.raw.name,
        ...(source && source.uri.scheme === 'file' ? { uri: source.uri.toString() } : {}),
        line: frame.raw.line,
        column: frame.raw.column,
        ...(frame.raw.endLine !== undefined ? { endLine: frame.raw.endLine } : {}),
        ...(frame.raw.endColumn !== undefined ? { endColumn: frame.raw.endColumn } : {})
    };
}
