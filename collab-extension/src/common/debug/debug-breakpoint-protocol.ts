/**
 * Shared breakpoints: the host's source breakpoints in shared files are the session's; guests see them
 * on their `collab:` documents and read-write guests change them through the host. Files are workspace
 * paths; lines and columns are 1-based, as in the debug adapter protocol's SourceBreakpoint.
 */
import { z } from 'zod';
import { Broadcast, Request } from '@theia-collab/protocol/lib/messages';
import { splitWorkspacePath } from '../collaboration-uri';

export const BreakpointLimits = {
    maxPerFile: 1000,
    maxFilesPerMessage: 200,
    maxPathLength: 4096,
    maxExpressionLength: 1000,
    maxLogMessageLength: 10_000,
    /** Characters of serialised JSON one message may take. */
    budget: 700_000,
    /** Local changes are collected this long before they are sent or announced. */
    debounceMs: 100
} as const;

export const WorkspacePath = z.string().min(1).max(BreakpointLimits.maxPathLength)
    .refine(path => splitWorkspacePath(path) !== undefined, { message: 'invalid workspace path' });

export const SharedBreakpoint = z.object({
    /** Stable across windows, so each side keeps its own breakpoint objects when the other changes one. */
    id: z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/),
    line: z.number().int().min(1).max(10_000_000),
    column: z.number().int().min(1).max(10_000_000).optional(),
    enabled: z.boolean(),
    condition: z.string().max(BreakpointLimits.maxExpressionLength).optional(),
    hitCondition: z.string().max(BreakpointLimits.maxExpressionLength).optional(),
    logMessage: z.string().max(BreakpointLimits.maxLogMessageLength).optional()
}).strict();
export type SharedBreakpoint = z.infer<typeof SharedBreakpoint>;

export const FileBreakpoints = z.object({
    path: WorkspacePath,
    /** All breakpoints of the file; empty when it has none (any more). */
    breakpoints: z.array(SharedBreakpoint).max(BreakpointLimits.maxPerFile)
}).strict();
export type FileBreakpoints = z.infer<typeof FileBreakpoints>;

export const BreakpointsParams = z.object({ files: z.array(FileBreakpoints).max(BreakpointLimits.maxFilesPerMessage) }).strict();
export type BreakpointsParams = z.infer<typeof BreakpointsParams>;

export const AllBreakpointsParams = z.object({ cursor: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional() }).strict();
export type AllBreakpointsParams = z.infer<typeof AllBreakpointsParams>;
export const AllBreakpointsResult = BreakpointsParams.extend({ next: z.number().int().min(0).optional() }).strict();
export type AllBreakpointsResult = z.infer<typeof AllBreakpointsResult>;

export const SetBreakpointsResult = z.object({}).strict();
export type SetBreakpointsResult = z.infer<typeof SetBreakpointsResult>;

export namespace BreakpointMessages {
    /** Guest → host: every shared file's breakpoints, a page at a time. */
    export const All = Request.define<AllBreakpointsParams, AllBreakpointsResult>('debug/breakpoints/all',
        { params: AllBreakpointsParams, result: AllBreakpointsResult });
    /** Guest → host (read-write guests only): replace the breakpoints of one file. */
    export const Set = Request.define<FileBreakpoints, SetBreakpointsResult>('debug/breakpoints/set',
        { params: FileBreakpoints, result: SetBreakpointsResult });
    /** Host → guests: the breakpoints of these files are now these. */
    export const DidChange = Broadcast.define<BreakpointsParams>('debug/breakpoints/didChange', { params: BreakpointsParams });

    export const all = [All, Set, DidChange] as const;
}

/** A canonical form, to tell whether two lists of breakpoints say the same. */
export function breakpointsKey(breakpoints: readonly SharedBreakpoint[]): string {
    return JSON.stringify([...breakpoints]
        .map(bp => [bp.id, bp.line, bp.column ?? 0, bp.enabled, bp.condition ?? '', bp.hitCondition ?? '', bp.logMessage ?? ''])
        .sort((a, b) => (a[1] as number) - (b[1] as number) || (a[2] as number) - (b[2] as number) || String(a[0]).localeCompare(String(b[0]))));
}
