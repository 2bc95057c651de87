export interface LogRecord { level: 'warn' | 'error' | 'info'; text: string }

/** A logger that keeps what clients log, so tests stay quiet and can look at it. */
export class RecordingLogger {
    readonly records: LogRecord[] = [];
    warn = (...args: unknown[]) => this.push('warn', args);
    error = (...args: unknown[]) => this.push('error', args);
    info = (...args: unknown[]) => this.push('info', args);

    private push(level: LogRecord['level'], args: unknown[]): void {
        this.records.push({ level, text: args.map(arg => arg instanceof Error ? arg.message : String(arg)).join(' ') });
    }

    /** The texts logged that match `pattern`. */
    matching(pattern: RegExp): string[] {
        return this.records.filter(record => pattern.test(record.text)).map(record => record.text);
    }
}
