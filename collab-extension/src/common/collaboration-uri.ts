/**
 * How shared files are named. On the wire a file is a *workspace path*: `<rootName>/<relative/posix/path>`,
 * never an absolute host path. Guests see it as `collab:/<rootName>/<relative path>`.
 */
export const COLLAB_SCHEME = 'collab';

export interface SharedRoot {
    /** Unique, URL-safe display name of the root (its folder name, suffixed on clashes). */
    name: string;
    /** The host's root URI (`file:///...`); known to the host only. */
    uri: string;
}

/** Longest root name before a `-N` suffix; names stay below the 255 characters a path segment may have. */
const MAX_ROOT_NAME_BASE = 240;

/**
 * Names the host's workspace roots for guests: folder base names, de-duplicated with `-2`, `-3`, ... Names are
 * unique regardless of case (`App` and `app` are one file name on a case-insensitive host or guest), never
 * `.` or `..`, and at most 255 characters.
 */
export function nameRoots(rootUris: readonly string[]): SharedRoot[] {
    const used = new Set<string>();
    return rootUris.map(uri => {
        const path = decodeUriPath(uri.replace(/^[a-z]+:\/\/[^/]*/i, '')).replace(/\/+$/, '');
        let base = path.substring(path.lastIndexOf('/') + 1).replace(/[^A-Za-z0-9._ -]/g, '_').slice(0, MAX_ROOT_NAME_BASE);
        if (base === '' || base === '.' || base === '..') {
            base = 'root';
        }
        let name = base;
        for (let i = 2; used.has(name.toLowerCase()); i++) {
            name = `${base}-${i}`;
        }
        used.add(name.toLowerCase());
        return { name, uri };
    });
}

function decodeUriPath(path: string): string {
    try {
        return decodeURIComponent(path);
    } catch {
        return path;
    }
}

/** Splits a workspace path into root name and relative segments; rejects anything that could escape. */
export function splitWorkspacePath(workspacePath: string): { root: string; segments: string[] } | undefined {
    if (typeof workspacePath !== 'string' || workspacePath.length === 0 || workspacePath.length > 4096
        || workspacePath.startsWith('/') || workspacePath.includes('\\') || workspacePath.includes('\0')) {
        return undefined;
    }
    const [root, ...segments] = workspacePath.split('/').filter(segment => segment.length > 0);
    if (!root || [root, ...segments].some(segment => segment === '.' || segment === '..')) {
        return undefined;
    }
    return { root, segments };
}

/** `collab:/root/a/b.ts` → `root/a/b.ts`. */
export function workspacePathOfCollabUri(uri: { scheme: string; path: string }): string | undefined {
    return uri.scheme === COLLAB_SCHEME ? uri.path.replace(/^\/+/, '') : undefined;
}

/** `root/a b.ts` → `collab:/root/a%20b.ts`. */
export function collabUriOfWorkspacePath(workspacePath: string): string {
    return `${COLLAB_SCHEME}:/${workspacePath.split('/').filter(segment => segment.length > 0).map(encodeURIComponent).join('/')}`;
}
