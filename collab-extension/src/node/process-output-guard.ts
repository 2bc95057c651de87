import { injectable } from '@theia/core/shared/inversify';
import { BackendApplicationContribution } from '@theia/core/lib/node/backend-application';

/** Marks a stream already guarded, so a second guard (another module, a test) adds no second listener. */
const GUARDED = Symbol.for('theia-collab.processOutputGuarded');

type GuardedStream = NodeJS.WritableStream & { [GUARDED]?: OutputGuardState };

export interface OutputGuardState {
    /** The first error the stream reported (e.g. `EPIPE`), if any. */
    firstError?: string;
    /** How many errors the stream reported and this guard swallowed (writes after the first are dropped unsent). */
    errors: number;
}

/** `stream.write` of a stream nobody reads any more: accepts and forgets, calls back as a successful write would. */
function dropWrite(_chunk: unknown, encodingOrCallback?: unknown, callback?: unknown): boolean {
    const done = typeof encodingOrCallback === 'function' ? encodingOrCallback : callback;
    if (typeof done === 'function') {
        process.nextTick(done as () => void);
    }
    return true;
}

/**
 * Keeps the backend from spinning when whoever read its stdout or stderr is gone (a launcher that was killed,
 * `theia start | tee log` with `tee` ended, a closed terminal).
 *
 * A write to such a stream fails with `EPIPE` (or `EIO`), and Node never destroys `process.stdout`/`stderr`, so
 * every later write fails again. Theia's `BackendApplication` turns each failure into another write:
 * - the failure is an `'error'` event of the stream; unhandled, it becomes an uncaught exception, which Theia
 *   logs with `console.error`;
 * - it also raises `SIGPIPE`, which Node would ignore, but Theia listens for it and logs 'Unexpected SIGPIPE'.
 * Either log line fails the same way, for ever: an orphaned backend burnt 30-70% of a core and grew its memory
 * by about 1 MB/s.
 *
 * The guard listens for the stream's first error and from then on drops what is written to that stream: there
 * is no one left to read it. The backend keeps serving.
 */
export function guardProcessOutput(streams: NodeJS.WritableStream[] = [process.stdout, process.stderr]): OutputGuardState[] {
    return streams.map(candidate => {
        const stream = candidate as GuardedStream;
        const existing = stream[GUARDED];
        if (existing) {
            return existing;
        }
        const state: OutputGuardState = { errors: 0 };
        stream[GUARDED] = state;
        stream.on('error', (error: NodeJS.ErrnoException) => {
            // Never log here: the log would go to this very stream (or, through Theia's console wrappers, to its twin).
            state.errors++;
            if (state.firstError === undefined) {
                state.firstError = error?.code ?? String(error?.message ?? error);
                stream.write = dropWrite as GuardedStream['write'];
            }
        });
        return state;
    });
}

/** Installs `guardProcessOutput` when the backend starts; the listeners stay until the process exits. */
@injectable()
export class ProcessOutputGuard implements BackendApplicationContribution {
    initialize(): void {
        guardProcessOutput();
    }
}
