/**
 * Shared breakpoints: the host's source breakpoints in shared files are the session's; guests see them
 * on their `collab:` documents and read-write guests change them through the host. Files are workspace
 * paths; lines and columns are 1-based, as in the debug adapter protocol's SourceBreakpoint.
 */
import { z } from 'zod';
import { Request } from '@theia-collab/protocol/lib/messages';
import { splitWorkspacePath } from '../collaboration-uri';
import { defineFileStateChannel, FileState } from '../file-state/file-state-protocol';

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

/** The breakpoints of shared files as a per-file state: announced by the host, paged through by joining guests. */
export const BreakpointFiles = defineFileStateChannel({
    field: 'breakpoints',
    item: SharedBreakpoint,
    path: WorkspacePath,
    methods: { all: 'debug/breakpoints/all', didChange: 'debug/breakpoints/didChange' },
    limits: {
        maxItemsPerFile: BreakpointLimits.maxPerFile,
        maxFilesPerMessage: BreakpointLimits.maxFilesPerMessage,
        budget: BreakpointLimits.budget,
        debounceMs: BreakpointLimits.debounceMs
    }
});

/** All breakpoints of one file; empty when it has none (any more). */
export const FileBreakpoints = BreakpointFiles.schemas.file;
export type FileBreakpoints = FileState<'breakpoints', SharedBreakpoint>;

export const SetBreakpointsResult = z.object({}).strict();
export type SetBreakpointsResult = z.infer<typeof SetBreakpointsResult>;

export namespace BreakpointMessages {
    /** Guest → host: every shared file's breakpoints, a page at a time. */
    export const All = BreakpointFiles.all;
    /** Guest → host (read-write guests only): replace the breakpoints of one file. */
    export const Set = Request.define<FileBreakpoints, SetBreakpointsResult>('debug/breakpoints/set',
        { params: FileBreakpoints, result: SetBreakpointsResult });
    /** Host → guests: the breakpoints of these files are now these. */
    export const DidChange = BreakpointFiles.didChange;

    export const all = [All, Set, DidChange] as const;
}

/** A canonical form, to tell whether two lists of breakpoints say the same. */
export function breakpointsKey(breakpoints: readonly SharedBreakpoint[]): string {
    return JSON.stringify([...breakpoints]
        .map(bp => [bp.id, bp.line, bp.column ?? 0, bp.enabled, bp.condition ?? '', bp.hitCondition ?? '', bp.logMessage ?? ''])
        .sort((a, b) => (a[1] as number) - (b[1] as number) || (a[2] as number) - (b[2] as number) || String(a[0]).localeCompare(String(b[0]))));
}
