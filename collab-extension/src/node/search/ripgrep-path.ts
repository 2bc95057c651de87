import * as fs from 'fs';

let cached: string | undefined;

/** The ripgrep binary: the one `@vscode/ripgrep` ships, else the system's (Debian's `rg`). */
export function ripgrepPath(): string {
    if (cached) {
        return cached;
    }
    const candidates: string[] = [];
    try {
        // eslint-disable-next-line @typescript-eslint/no-var-requires
        candidates.push(require('@vscode/ripgrep').rgPath);
    } catch {
        // not installed
    }
    candidates.push('/usr/bin/rg', '/usr/local/bin/rg');
    cached = candidates.find(candidate => typeof candidate === 'string' && fs.existsSync(candidate)) ?? 'rg';
    return cached;
}
