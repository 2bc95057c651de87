import { inject, injectable } from '@theia/core/shared/inversify';
import URI from '@theia/core/lib/common/uri';
import { WorkspaceService } from '@theia/workspace/lib/browser/workspace-service';
import { CollaborationSession } from '@theia-collab/protocol/lib/session';
import {
    COLLAB_SCHEME, collabUriOfWorkspacePath, nameRoots, splitWorkspacePath, workspacePathOfCollabUri
} from '../../common/collaboration-uri';

/**
 * Maps editor URIs to workspace paths (`<rootName>/<relative>`) and back. A host names its `file:` roots
 * with `nameRoots`, exactly as the shared file system does; a guest's files are `collab:/<path>`.
 */
@injectable()
export class EditorPathService {

    @inject(WorkspaceService)
    protected readonly workspaceService: WorkspaceService;

    toWorkspacePath(session: CollaborationSession, uri: URI): string | undefined {
        if (!session.isHost) {
            const path = uri.scheme === COLLAB_SCHEME ? workspacePathOfCollabUri({ scheme: uri.scheme, path: uri.path.toString() }) : undefined;
            return path && splitWorkspacePath(path) ? path : undefined;
        }
        if (uri.scheme !== 'file') {
            return undefined;
        }
        for (const root of this.roots()) {
            const rootUri = new URI(root.uri);
            const relative = rootUri.relative(uri);
            if (relative !== undefined && !relative.toString().startsWith('..')) {
                const path = relative.toString() ? `${root.name}/${relative.toString()}` : undefined;
                return path && splitWorkspacePath(path) ? path : undefined;
            }
        }
        return undefined;
    }

    toUri(session: CollaborationSession, path: string): URI | undefined {
        const split = splitWorkspacePath(path);
        if (!split) {
            return undefined;
        }
        if (!session.isHost) {
            return new URI(collabUriOfWorkspacePath(path));
        }
        const root = this.roots().find(candidate => candidate.name === split.root);
        return root ? split.segments.reduce((uri, segment) => uri.resolve(segment), new URI(root.uri)) : undefined;
    }

    protected roots(): { name: string; uri: string }[] {
        const uris = this.workspaceService.tryGetRoots().map(root => root.resource).filter(uri => uri.scheme === 'file').map(uri => uri.toString());
        return nameRoots(uris);
    }
}
