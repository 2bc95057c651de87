/**
 * Host side: which shared file a host URI is, and back. Roots are named by `nameRoots`, exactly as the shared
 * file system names them, so a path the guest got from the file system means the same file here.
 */
import URI from '@theia/core/lib/common/uri';
import { SharedRoot, splitWorkspacePath } from '../collaboration-uri';
import { GuestPathBackend, resolveGuestPath } from './guest-path-resolver';
import { GuestAccess } from './host-file-system-protocol';

/** `file:///home/me/proj/src/a.ts` → `proj/src/a.ts` (innermost root that holds it); undefined outside the roots. */
export function workspacePathOfHostUri(roots: readonly SharedRoot[], uri: string | URI): string | undefined {
    const resource = typeof uri === 'string' ? new URI(uri) : uri;
    let best: { name: string; relative: string; depth: number } | undefined;
    for (const root of roots) {
        const rootUri = new URI(root.uri);
        if (rootUri.scheme !== resource.scheme || rootUri.authority !== resource.authority || !rootUri.isEqualOrParent(resource)) {
            continue;
        }
        const relative = rootUri.relative(resource)?.toString();
        const depth = rootUri.path.toString().length;
        if (relative !== undefined && (!best || best.depth < depth)) {
            best = { name: root.name, relative, depth };
        }
    }
    if (!best || !best.relative) {
        return undefined;
    }
    const path = `${best.name}/${best.relative}`;
    return splitWorkspacePath(path) ? path : undefined;
}

/** `proj/src/a.ts` → the host's `file:///home/me/proj/src/a.ts`; undefined for an unknown root or a bad path. */
export function hostUriOfWorkspacePath(roots: readonly SharedRoot[], path: string): URI | undefined {
    const split = splitWorkspacePath(path);
    const root = split && roots.find(candidate => candidate.name === split.root);
    if (!split || !root || split.segments.length === 0) {
        return undefined;
    }
    const rootUri = new URI(root.uri);
    const uri = split.segments.reduce((current, segment) => current.resolve(segment), rootUri);
    // Never leaves the root, whatever a segment decodes to.
    return rootUri.isEqualOrParent(uri) && workspacePathOfHostUri([root], uri) === path ? uri : undefined;
}

/** What the host's shared file system lets guests see: where a feature's host side looks before it answers. */
export interface HostPathMapper {
    /** Host URI → workspace path; undefined when outside the shared roots. */
    toWorkspacePath(uri: string): string | undefined;
    /** Workspace path → host URI string; undefined when not under a shared root. */
    toHostUri(path: string): string | undefined;
    /** The paths among `paths` guests may see (not excluded). */
    filterVisible(paths: string[]): Promise<string[]>;
}

/** A host feature that touches files guests name (language requests, breakpoints) resolves them through this. */
export interface GuestPathMapper extends HostPathMapper {
    /**
     * The host URI of the file the guest named `path`, as the host's backend resolves it now (real path and link
     * targets inside the root, not excluded; for `write` not read-only for guests). Rejects with a
     * CollaborationError (`not-found`, `forbidden`, ...) otherwise. Use its answer, not `toHostUri`, to touch the file.
     */
    resolveForGuest(path: string, access: GuestAccess): Promise<string>;
}

/** `mapper` with its guest-named paths resolved by `backend` (the host's HostFileSystemService). */
export function withGuestResolver(mapper: HostPathMapper, backend: GuestPathBackend): GuestPathMapper {
    return {
        toWorkspacePath: uri => mapper.toWorkspacePath(uri),
        toHostUri: path => mapper.toHostUri(path),
        filterVisible: paths => mapper.filterVisible(paths),
        resolveForGuest: (path, access) => resolveGuestPath(backend, path, access)
    };
}
