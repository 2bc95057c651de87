/**
 * The host's debug sessions as guests see them: each session's state and, when stopped, its top frame
 * (where it stopped, as a workspace path when the file is shared). Read-write guests can continue, step
 * and pause through the host; read-only guests only watch.
 */
import { z } from 'zod';
import { Broadcast, Request } from '@theia-collab/protocol/lib/messages';
import { WorkspacePath } from './debug-breakpoint-protocol';

export const DebugSessionLimits = {
    maxSessions: 32,
    maxLabelLength: 1024,
    /** Host state changes are collected this long before they are announced. */
    debounceMs: 50,
    controlTimeoutMs: 10_000,
    /** Frames of the call stack guests see (the current thread's, top first). */
    maxFrames: 64,
    /** Variables of the top frame guests see (first level of its non-expensive scopes). */
    maxVariables: 200,
    maxValueLength: 1024
} as const;

const Label = z.string().max(DebugSessionLimits.maxLabelLength);
const Int = z.number().int().min(0).max(10_000_000);

export const DebugFrame = z.object({
    name: Label,
    /** Absent when the frame's file is not shared (outside the roots, excluded, or not a file). */
    path: WorkspacePath.optional(),
    /** 1-based, as the debug adapter protocol has them by default; 0 when unknown. */
    line: Int,
    column: Int,
    endLine: Int.optional(),
    endColumn: Int.optional()
}).strict();
export type DebugFrame = z.infer<typeof DebugFrame>;

export const DebugVariable = z.object({
    scope: Label,
    name: Label,
    value: z.string().max(DebugSessionLimits.maxValueLength),
    type: Label.optional()
}).strict();
export type DebugVariable = z.infer<typeof DebugVariable>;

export const DebugSessionStateName = z.enum(['initializing', 'running', 'stopped', 'inactive']);
export type DebugSessionStateName = z.infer<typeof DebugSessionStateName>;

export const DebugSessionInfo = z.object({
    id: z.string().min(1).max(128),
    name: Label,
    state: DebugSessionStateName,
    threadId: Int.optional(),
    threadName: Label.optional(),
    stoppedReason: Label.optional(),
    /** The top frame of the current thread, when stopped. */
    frame: DebugFrame.optional(),
    /** The current thread's call stack, top first, when stopped (as far as the host's debugger loaded it). */
    stack: z.array(DebugFrame).max(DebugSessionLimits.maxFrames).optional(),
    /** The top frame's variables, when stopped. */
    variables: z.array(DebugVariable).max(DebugSessionLimits.maxVariables).optional()
}).strict();
export type DebugSessionInfo = z.infer<typeof DebugSessionInfo>;

export const DebugStateParams = z.object({
    sessions: z.array(DebugSessionInfo).max(DebugSessionLimits.maxSessions),
    /** The host's current (focused) session. */
    current: z.string().min(1).max(128).optional()
}).strict();
export type DebugStateParams = z.infer<typeof DebugStateParams>;

export const DebugAction = z.enum(['continue', 'stepOver', 'stepIn', 'stepOut', 'pause']);
export type DebugAction = z.infer<typeof DebugAction>;

export const DebugControlParams = z.object({
    sessionId: z.string().min(1).max(128),
    action: DebugAction,
    /** The session's current thread when absent. */
    threadId: Int.optional()
}).strict();
export type DebugControlParams = z.infer<typeof DebugControlParams>;

export const EmptyResult = z.object({}).strict();
export type EmptyResult = z.infer<typeof EmptyResult>;

export namespace DebugSessionMessages {
    /** Guest → host: the current debug state (on joining). */
    export const State = Request.define<EmptyResult, DebugStateParams>('debug/session/state', { params: EmptyResult, result: DebugStateParams });
    /** Host → guests: the debug state changed. */
    export const DidChange = Broadcast.define<DebugStateParams>('debug/session/didChange', { params: DebugStateParams });
    /** Guest → host (read-write guests only): continue, step or pause. */
    export const Control = Request.define<DebugControlParams, EmptyResult>('debug/session/control', { params: DebugControlParams, result: EmptyResult });

    export const all = [State, DidChange, Control] as const;
}
