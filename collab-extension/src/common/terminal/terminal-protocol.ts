/**
 * Shared terminals: the message definitions host and guests speak, with the zod schemas every
 * incoming payload is checked against. Output is raw xterm data (escape sequences included).
 */
import { z } from 'zod';
import { Broadcast, Request } from '@theia-collab/protocol';

export const TerminalLimits = {
    /** Largest output chunk in one broadcast, in UTF-16 code units. */
    maxOutputChunk: 64 * 1024,
    /** Largest guest input in one request, in UTF-16 code units (a paste is split). */
    maxInputChunk: 4 * 1024,
    /** Upper bound for `collaboration.terminal.scrollbackKB`, to keep a snapshot below the relay limit. */
    maxScrollbackKB: 512,
    defaultScrollbackKB: 256,
    maxTitleLength: 256,
    maxShareIdLength: 64,
    maxSharedTerminals: 32,
    maxDimension: 2000
} as const;

export const ShareId = z.string().min(1).max(TerminalLimits.maxShareIdLength).regex(/^[A-Za-z0-9_-]+$/);

export const SharedTerminalInfo = z.object({
    id: ShareId,
    title: z.string().max(TerminalLimits.maxTitleLength),
    writable: z.boolean(),
    cols: z.number().int().min(1).max(TerminalLimits.maxDimension),
    rows: z.number().int().min(1).max(TerminalLimits.maxDimension)
}).strict();
export type SharedTerminalInfo = z.infer<typeof SharedTerminalInfo>;

const Offset = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const TerminalOutputParams = z.object({
    id: ShareId,
    /** Position of `data` in the terminal's whole output stream (UTF-16 code units since sharing began). */
    offset: Offset,
    data: z.string().min(1).max(TerminalLimits.maxOutputChunk)
}).strict();
export type TerminalOutputParams = z.infer<typeof TerminalOutputParams>;

export const TerminalEndReason = z.enum(['stopped', 'closed']);
export type TerminalEndReason = z.infer<typeof TerminalEndReason>;

export const TerminalEndedParams = z.object({ id: ShareId, reason: TerminalEndReason }).strict();
export type TerminalEndedParams = z.infer<typeof TerminalEndedParams>;

export const TerminalListParams = z.object({}).strict();
export const TerminalListResult = z.object({ terminals: z.array(SharedTerminalInfo).max(TerminalLimits.maxSharedTerminals) }).strict();
export type TerminalListResult = z.infer<typeof TerminalListResult>;

export const TerminalSnapshotParams = z.object({ id: ShareId }).strict();
export const TerminalSnapshotResult = z.object({
    info: SharedTerminalInfo,
    /** Offset of the end of `data`: live chunks from here on follow it. */
    endOffset: Offset,
    data: z.string().max(TerminalLimits.maxScrollbackKB * 1024)
}).strict();
export type TerminalSnapshotResult = z.infer<typeof TerminalSnapshotResult>;

export const TerminalInputParams = z.object({
    id: ShareId,
    data: z.string().min(1).max(TerminalLimits.maxInputChunk)
}).strict();
export type TerminalInputParams = z.infer<typeof TerminalInputParams>;
export const TerminalInputResult = z.object({}).strict();

export namespace TerminalMessages {
    /** Host → guests: a terminal is shared, or its title, size or writability changed. */
    export const Shared = Broadcast.define<SharedTerminalInfo>('terminal/shared', { params: SharedTerminalInfo });
    export const Output = Broadcast.define<TerminalOutputParams>('terminal/output', { params: TerminalOutputParams });
    export const Ended = Broadcast.define<TerminalEndedParams>('terminal/ended', { params: TerminalEndedParams });
    /** Guest → host: the terminals shared right now. */
    export const List = Request.define<{}, TerminalListResult>('terminal/list', { params: TerminalListParams, result: TerminalListResult });
    /** Guest → host: the bounded scrollback of one terminal, for late joiners. */
    export const Snapshot = Request.define<{ id: string }, TerminalSnapshotResult>('terminal/snapshot', {
        params: TerminalSnapshotParams, result: TerminalSnapshotResult
    });
    /** Guest → host: keystrokes; refused with `permission-denied` unless writable and the guest may write. */
    export const Input = Request.define<TerminalInputParams, {}>('terminal/input', { params: TerminalInputParams, result: TerminalInputResult });

    export const all = [Shared, Output, Ended, List, Snapshot, Input] as const;
}

/** Splits `text` into pieces of at most `max` code units without cutting a surrogate pair. */
export function splitText(text: string, max: number): string[] {
    const pieces: string[] = [];
    let start = 0;
    while (start < text.length) {
        let end = Math.min(start + max, text.length);
        if (end < text.length && end > start + 1) {
            const code = text.charCodeAt(end - 1);
            if (code >= 0xd800 && code <= 0xdbff) {
                end--;
            }
        }
        pieces.push(text.slice(start, end));
        start = end;
    }
    return pieces;
}
