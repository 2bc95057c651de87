import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/** The first of `candidates` (absolute paths or names looked up on PATH) that exists and passes `check`, if any. */
export function findExecutable(candidates: string[], check?: (file: string) => boolean): string | undefined {
    for (const candidate of candidates) {
        const file = path.isAbsolute(candidate) ? candidate : onPath(candidate);
        if (file && isExecutable(file) && (!check || check(file))) {
            return file;
        }
    }
    return undefined;
}

function onPath(name: string): string | undefined {
    for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
        if (dir) {
            const file = path.join(dir, name);
            if (isExecutable(file)) {
                return file;
            }
        }
    }
    return undefined;
}

function isExecutable(file: string): boolean {
    try {
        fs.accessSync(file, fs.constants.X_OK);
        return fs.statSync(file).isFile();
    } catch {
        return false;
    }
}

/** Whether `python -c 'import <module>'` succeeds (within 15 s). */
export function pythonHasModule(python: string, module: string): boolean {
    const result = spawnSync(python, ['-c', `import ${module}`], { stdio: 'ignore', timeout: 15_000 });
    return result.status === 0;
}

/**
 * A Python interpreter that can import `module`: `$COLLAB_PYTHON` if set, then Debian's /usr/bin/python3
 * (where python3-debugpy and python3-pylsp install), then python3 and python on PATH.
 */
export function findPythonWith(module: string): string | undefined {
    const candidates = [process.env.COLLAB_PYTHON, '/usr/bin/python3', 'python3', 'python'].filter((c): c is string => !!c);
    return findExecutable(candidates, python => pythonHasModule(python, module));
}
