/**
 * The last line of defence of the server process (installed by the CLI, not by `startServer`, so that tests
 * and embedding applications keep their own handling): an unhandled rejection or an uncaught exception is
 * logged (a few lines per minute, then a summary) and the server keeps serving its other sessions, instead of
 * the process exiting and taking every session with it. Each one is a bug to fix: the log says where.
 */
import type { Logger } from 'pino';
import { LogLimiter } from './log-limiter';

export interface GuardedProcess {
    on(event: 'unhandledRejection', listener: (reason: unknown) => void): unknown;
    on(event: 'uncaughtException', listener: (error: Error) => void): unknown;
    off(event: 'unhandledRejection', listener: (reason: unknown) => void): unknown;
    off(event: 'uncaughtException', listener: (error: Error) => void): unknown;
}

/** Installs the guards; returns what removes them. */
export function installProcessGuards(logger: Logger, target: GuardedProcess = process): () => void {
    const limiter = new LogLimiter(logger, { max: 10, windowMs: 60_000 });
    const onRejection = (reason: unknown) => {
        limiter.log('error', ['process'], { err: reason instanceof Error ? reason : new Error(String(reason)) }, 'unhandled rejection (the server keeps serving)');
    };
    const onException = (error: Error) => {
        limiter.log('error', ['process'], { err: error }, 'uncaught exception (the server keeps serving)');
    };
    target.on('unhandledRejection', onRejection);
    target.on('uncaughtException', onException);
    return () => {
        target.off('unhandledRejection', onRejection);
        target.off('uncaughtException', onException);
        limiter.dispose();
    };
}
