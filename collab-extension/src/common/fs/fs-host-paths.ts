import URI from '@theia/core/lib/common/uri';
import { SharedRoot } from '../collaboration-uri';

/**
 * Host: every workspace path under which guests see the host file `resource`, e.g.
 * `file:///home/me/mono/packages/api/a.ts` → `mono/packages/api/a.ts` and `api/a.ts` when both folders are
 * shared roots (nested roots), outer roots first. A change is announced under each, so whichever root a guest
 * shows the file in follows it.
 */
export function workspacePathsOfHostUri(roots: readonly SharedRoot[], resource: URI): string[] {
    const found: { depth: number; path: string }[] = [];
    for (const root of roots) {
        const rootUri = new URI(root.uri);
        if (rootUri.isEqualOrParent(resource)) {
            const relative = rootUri.relative(resource)?.toString();
            found.push({ depth: rootUri.path.toString().length, path: relative ? `${root.name}/${relative}` : root.name });
        }
    }
    return found.sort((a, b) => a.depth - b.depth).map(entry => entry.path);
}
