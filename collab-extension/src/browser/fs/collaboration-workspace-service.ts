import { injectable } from '@theia/core/shared/inversify';
import { nls } from '@theia/core/lib/common/nls';
import URI from '@theia/core/lib/common/uri';
import { FileStat } from '@theia/filesystem/lib/common/files';
import { WorkspaceService } from '@theia/workspace/lib/browser/workspace-service';
import { collabUriOfWorkspacePath } from '../../common/collaboration-uri';

interface SharedWorkspace {
    label: string;
    workspace: FileStat;
    roots: FileStat[];
    /** This window's own workspace, restored when the session ends. */
    own: FileStat | undefined;
}

/**
 * Lets a guest window show the host's roots (`collab:/<root>`) as its workspace without reloading the page,
 * which `open` would do and which would end the session. The window's own workspace stays the one it
 * remembers (URL fragment, recent workspaces) and comes back when the session ends.
 */
@injectable()
export class CollaborationWorkspaceService extends WorkspaceService {

    protected shared: SharedWorkspace | undefined;

    /** Whether the workspace currently shows a host's roots. */
    get isShowingSharedWorkspace(): boolean {
        return !!this.shared;
    }

    /** Shows the host's roots, named `rootNames`, as this window's workspace. */
    async showSharedWorkspace(rootNames: readonly string[], label: string): Promise<void> {
        await this.ready;
        const roots = rootNames.map(name => FileStat.dir(new URI(collabUriOfWorkspacePath(name))));
        // One root: the folder itself. Several: a (virtual) workspace file, so the navigator shows every root.
        const workspace = roots.length === 1
            ? roots[0]
            : FileStat.file(new URI(collabUriOfWorkspacePath(`${label.replace(/[^A-Za-z0-9._ -]/g, '_') || 'shared'}.code-workspace`)));
        const own = this.shared ? this.shared.own : this._workspace;
        this.shared = { label, workspace, roots, own };
        this._workspace = workspace;
        await this.updateWorkspace();
        this.updateTitle();
    }

    /** Back to this window's own workspace. */
    async hideSharedWorkspace(): Promise<void> {
        const shared = this.shared;
        if (!shared) {
            return;
        }
        this.shared = undefined;
        this._workspace = shared.own;
        await this.updateWorkspace();
        this.updateTitle();
    }

    protected override async computeRoots(): Promise<FileStat[]> {
        return this.shared ? [...this.shared.roots] : super.computeRoots();
    }

    protected override updateTitle(): void {
        if (this.shared) {
            const title = nls.localize('collaboration/fs/workspaceTitle', '{0} (shared)', this.shared.label);
            this.windowTitleService.update({ rootName: title, rootPath: title });
            return;
        }
        super.updateTitle();
    }

    protected override setURLFragment(workspacePath: string): void {
        if (!this.shared) {
            super.setURLFragment(workspacePath);
        }
    }

    protected override setMostRecentlyUsedWorkspace(): void {
        if (!this.shared) {
            super.setMostRecentlyUsedWorkspace();
            return;
        }
        if (!this.isRemoteSession()) {
            this.server.setMostRecentlyUsedWorkspace(this.shared.own ? this.shared.own.resource.toString() : '');
        }
    }

    override async spliceRoots(start: number, deleteCount?: number, ...rootsToAdd: URI[]): Promise<URI[]> {
        this.refuseWhileShared();
        return super.spliceRoots(start, deleteCount, ...rootsToAdd);
    }

    override async removeRoots(uris: URI[]): Promise<void> {
        this.refuseWhileShared();
        return super.removeRoots(uris);
    }

    override async save(uri: URI | FileStat): Promise<void> {
        this.refuseWhileShared();
        return super.save(uri);
    }

    protected refuseWhileShared(): void {
        if (this.shared) {
            const message = nls.localize('collaboration/fs/workspaceLocked', "The host's workspace cannot be changed from here while you are in the session.");
            this.messageService.warn(message);
            throw new Error(message);
        }
    }
}
