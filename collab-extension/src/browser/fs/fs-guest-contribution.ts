import { inject, injectable, named } from '@theia/core/shared/inversify';
import { Disposable as TheiaDisposable, DisposableCollection } from '@theia/core/lib/common/disposable';
import { ILogger } from '@theia/core/lib/common/logger';
import { MessageService } from '@theia/core/lib/common/message-service';
import { nls } from '@theia/core/lib/common/nls';
import { ApplicationShell } from '@theia/core/lib/browser/shell/application-shell';
import { NavigatableWidget } from '@theia/core/lib/browser/navigatable-types';
import { WidgetManager } from '@theia/core/lib/browser/widget-manager';
import { CompositeTreeNode, ExpandableTreeNode } from '@theia/core/lib/browser/tree';
import { FileService } from '@theia/filesystem/lib/browser/file-service';
import { FILE_NAVIGATOR_ID, FileNavigatorWidget } from '@theia/navigator/lib/browser/navigator-widget';
import { WorkspaceService } from '@theia/workspace/lib/browser/workspace-service';
import { CollaborationError, CollaborationSession, Disposable } from '@theia-collab/protocol';
import { CollaborationContribution } from '../collaboration-contribution';
import { COLLAB_SCHEME } from '../../common/collaboration-uri';
import { FsMessages, RootsResult } from '../../common/fs/fs-messages';
import { CollabFileSystemProvider } from './collab-file-system-provider';
import { CollaborationWorkspaceService } from './collaboration-workspace-service';

const ROOTS_TIMEOUT_MS = 20_000;

/**
 * Guest side of the shared workspace: while the session lives, `collab:` URIs are served by the host and the
 * window's workspace shows the host's roots; afterwards the guest's own workspace comes back.
 */
@injectable()
export class FsGuestContribution implements CollaborationContribution {

    readonly messages = FsMessages.all;

    @inject(FileService)
    protected readonly fileService: FileService;

    @inject(WorkspaceService)
    protected readonly workspaceService: WorkspaceService;

    @inject(MessageService)
    protected readonly messageService: MessageService;

    @inject(ApplicationShell)
    protected readonly shell: ApplicationShell;

    @inject(WidgetManager)
    protected readonly widgetManager: WidgetManager;

    @inject(ILogger) @named('collaboration')
    protected readonly logger: ILogger;

    protected registration: TheiaDisposable | undefined;
    protected activeSession: CollaborationSession | undefined;
    /** Workspace swaps (show on joining or when the host's roots change, hide on leaving) run one after the other. */
    protected swaps: Promise<void> = Promise.resolve();
    /** Waits for the navigator to show the new single root, to expand it. */
    protected readonly toDisposeOnExpand = new DisposableCollection();

    async onSessionStarted(session: CollaborationSession): Promise<Disposable | void> {
        if (session.isHost) {
            return;
        }
        const provider = new CollabFileSystemProvider(session, {
            notify: message => this.messageService.warn(nls.localize('collaboration/fs/refused', 'The host refused: {0}', message))
        });
        this.activeSession = session;
        const toDispose = new DisposableCollection(provider);
        // A previous session may still be winding down (its clean-up is asynchronous): this one replaces it.
        this.registration?.dispose();
        const registration = this.registration = this.fileService.registerProvider(COLLAB_SCHEME, provider);
        toDispose.push(TheiaDisposable.create(() => {
            if (this.registration === registration) {
                this.registration = undefined;
                registration.dispose();
            }
        }));
        toDispose.push(toTheia(session.onBroadcast(FsMessages.DidChangeRoots, (params, sender) => {
            if (sender.id === session.host.id && this.activeSession === session) {
                this.showRoots(session, provider, params);
            }
        })));

        let roots: RootsResult | undefined;
        try {
            roots = await session.sendRequest(FsMessages.Roots, {}, { timeout: ROOTS_TIMEOUT_MS });
        } catch (error) {
            this.messageService.error(nls.localize('collaboration/fs/noRoots', "Could not get the host's workspace: {0}", CollaborationError.from(error).message));
        }
        if (roots && !session.closed && this.activeSession === session) {
            await this.showRoots(session, provider, roots);
        } else if (!roots && this.activeSession === session) {
            // A previous session's roots may still be shown (its clean-up gave way to this session).
            await this.hideRoots(() => this.activeSession !== session);
        }
        let disposed = false;
        return {
            dispose: () => {
                if (disposed) {
                    return;
                }
                disposed = true;
                if (this.activeSession !== session) {
                    // A newer session already shows its own roots.
                    toDispose.dispose();
                    return;
                }
                this.activeSession = undefined;
                this.closeSharedEditors();
                // Restore the own workspace before the provider goes, so the navigator never lists roots it cannot read.
                this.hideRoots().finally(() => toDispose.dispose());
            }
        };
    }

    protected showRoots(session: CollaborationSession, provider: CollabFileSystemProvider, roots: RootsResult): Promise<void> {
        return this.swap(async () => {
            if (this.activeSession !== session) {
                return; // the session ended (or another one started) while this waited for its turn
            }
            provider.setRoots(roots);
            if (this.workspaceService instanceof CollaborationWorkspaceService) {
                try {
                    await this.workspaceService.showSharedWorkspace(roots.roots.map(root => root.name), session.host.name);
                    this.expandSingleRoot();
                } catch (error) {
                    this.logger.error('collaboration: showing the shared workspace failed', error);
                }
            } else {
                this.logger.warn('collaboration: WorkspaceService was not rebound; the shared workspace is not shown in the navigator');
            }
        });
    }

    /** Back to this window's own workspace, unless `unless()` says a newer session took over meanwhile. */
    protected hideRoots(unless: () => boolean = () => this.activeSession !== undefined): Promise<void> {
        return this.swap(async () => {
            if (unless()) {
                return;
            }
            if (this.workspaceService instanceof CollaborationWorkspaceService && this.workspaceService.isShowingSharedWorkspace) {
                try {
                    await this.workspaceService.hideSharedWorkspace();
                    this.expandSingleRoot();
                } catch (error) {
                    this.logger.error('collaboration: restoring the workspace failed', error);
                }
            }
        });
    }

    /**
     * Runs workspace swaps in order: the roots answer, a `didChangeRoots` broadcast and the clean-up of an
     * ended session would otherwise interleave their asynchronous steps and leave roots no provider serves.
     */
    protected swap(task: () => Promise<void>): Promise<void> {
        const done = this.swaps.then(task);
        this.swaps = done.catch(() => undefined);
        return done;
    }

    /**
     * Theia's navigator expands a single root only when it starts. After the roots were swapped under it, it
     * shows the new single root collapsed, and since a single root is not shown itself, the Explorer looks
     * empty. So the root is expanded as soon as the navigator shows it: when the navigator has rebuilt its
     * tree, however long that takes, or when it is created later (then it expands the root itself).
     */
    protected expandSingleRoot(): void {
        this.toDisposeOnExpand.dispose();
        const roots = this.workspaceService.tryGetRoots();
        if (roots.length !== 1) {
            return;
        }
        const expected = roots[0].resource.toString();
        const expandIfShown = (navigator: FileNavigatorWidget): boolean => {
            const root = navigator.model.root;
            const only = CompositeTreeNode.is(root) && root.children.length === 1 ? root.children[0] : undefined;
            if ((only as { uri?: { toString(): string } } | undefined)?.uri?.toString() !== expected) {
                return false;
            }
            if (ExpandableTreeNode.is(only) && !only.expanded) {
                navigator.model.expandNode(only).catch(error => this.logger.warn('collaboration: expanding the shared root failed', error));
            }
            return true;
        };
        const watch = (navigator: FileNavigatorWidget) => {
            if (!expandIfShown(navigator)) {
                this.toDisposeOnExpand.push(navigator.model.onChanged(() => {
                    if (expandIfShown(navigator)) {
                        this.toDisposeOnExpand.dispose();
                    }
                }));
            }
        };
        const existing = this.widgetManager.tryGetWidget<FileNavigatorWidget>(FILE_NAVIGATOR_ID);
        if (existing) {
            watch(existing);
            if (this.toDisposeOnExpand.disposed) {
                return;
            }
        }
        // Bounded: the next swap replaces this, and nobody waits for a navigator forever.
        const timer = setTimeout(() => this.toDisposeOnExpand.dispose(), 120_000);
        this.toDisposeOnExpand.push(TheiaDisposable.create(() => clearTimeout(timer)));
    }

    /** Closes every widget showing a `collab:` resource; unsaved changes have nowhere to go once the session is over. */
    protected closeSharedEditors(): void {
        for (const widget of [...this.shell.widgets]) {
            if (NavigatableWidget.is(widget) && widget.getResourceUri()?.scheme === COLLAB_SCHEME) {
                try {
                    widget.dispose();
                } catch (error) {
                    this.logger.warn('collaboration: closing a shared editor failed', error);
                }
            }
        }
    }
}

function toTheia(disposable: Disposable): TheiaDisposable {
    return TheiaDisposable.create(() => disposable.dispose());
}
