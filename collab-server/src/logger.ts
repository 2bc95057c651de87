/**
 * Structured JSON logs (pino). Never pass envelope data, key material or secrets to the logger:
 * log event names, ids, sizes and error codes only.
 */
import pino, { Logger } from 'pino';
import type { LogLevel } from './config';

export type { Logger };

export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
    return pino({
        name: 'collab-server',
        level,
        base: { pid: process.pid },
        timestamp: pino.stdTimeFunctions.isoTime,
        redact: { paths: ['secret', 'token', 'roomToken', '*.secret', '*.token', '*.roomToken', 'data', 'keyMaterial'], remove: true }
    }, destination ?? pino.destination({ sync: true }));
}
