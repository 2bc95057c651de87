import { inject, injectable, optional, postConstruct } from '@theia/core/shared/inversify';
import { Emitter, Event } from '@theia/core/lib/common/event';
import { ILogger } from '@theia/core/lib/common/logger';
import { MessageService } from '@theia/core/lib/common/message-service';
import { nls } from '@theia/core/lib/common/nls';
import URI from '@theia/core/lib/common/uri';
import { MonacoEditorModel } from '@theia/monaco/lib/browser/monaco-editor-model';
import { MonacoTextModelService } from '@theia/monaco/lib/browser/monaco-text-model-service';
import { FileService } from '@theia/filesystem/lib/browser/file-service';
import { FileChangeType, FileOperation } from '@theia/filesystem/lib/common/files';
import { Disposable } from '@theia-collab/protocol/lib/events';
import { MessageDefinition } from '@theia-collab/protocol/lib/messages';
import { CollaborationSession } from '@theia-collab/protocol/lib/session';
import { CollaborationContribution } from '../collaboration-contribution';
import { sameSession } from '../contribution-session-scope';
import { AwarenessMessages, SessionAwareness } from '../../common/editor/editor-awareness';
import { SharedDocument, SharedDocumentProvider } from '../../common/editor/editor-document';
import { diffEdit } from '../../common/editor/editor-text-binding';
import { FollowMessages } from '../../common/editor/editor-follow-protocol';
import { EditorGuest } from '../../common/editor/editor-guest';
import { EditorHost } from '../../common/editor/editor-host';
import { EditorMessages } from '../../common/editor/editor-protocol';
import { COLLAB_SCHEME, collabUriOfWorkspacePath } from '../../common/collaboration-uri';
import { FsHostContribution } from '../fs/fs-host-contribution';
import { EditorHostSourceFactory, HostEditorSource } from './editor-host-source';
import { EditorMoves } from './editor-moves';
import { EditorPathService } from './editor-path-service';
import { MonacoTextBinding } from './monaco-text-binding';
import { GuestEditAutoSave } from './editor-guest-autosave';
import { PreferenceService } from '@theia/core/lib/common/preferences';

/** Transaction origin of a change the host's disk brought in. */
export const DISK_ORIGIN = 'collaboration/disk';

/** A file the host's watcher reports deleted may be a rename reported separately, or a replace: wait this long, then look. */
const DELETE_GRACE_MS = 500;

export interface EditorSessionContext {
    readonly session: CollaborationSession;
    readonly provider: SharedDocumentProvider;
    readonly awareness: SessionAwareness;
}

interface ModelBinding {
    path: string;
    binding?: MonacoTextBinding;
    autoSave?: GuestEditAutoSave;
    dispose(): void;
}

/**
 * Co-editing in this window: for every session it shares the host's open text editors (host) or serves the
 * guest's `collab:` editors from shared documents (guest), binds every Monaco model of a shared file to its
 * Y.Text, and runs the session's awareness (cursors, selections, followed views).
 */
@injectable()
export class EditorCollaborationService implements CollaborationContribution {

    readonly messages: readonly MessageDefinition[] = [...EditorMessages.all, ...AwarenessMessages.all, ...FollowMessages.all];

    @inject(PreferenceService)
    protected readonly preferences: PreferenceService;

    @inject(MonacoTextModelService)
    protected readonly textModelService: MonacoTextModelService;

    @inject(EditorPathService)
    protected readonly pathService: EditorPathService;

    @inject(EditorHostSourceFactory)
    protected readonly hostSourceFactory: EditorHostSourceFactory;

    @inject(FileService)
    protected readonly fileService: FileService;

    @inject(MessageService)
    protected readonly messageService: MessageService;

    @inject(ILogger)
    protected readonly logger: ILogger;

    @inject(EditorMoves)
    protected readonly moves: EditorMoves;

    @inject(FsHostContribution) @optional()
    protected readonly fsHost: FsHostContribution | undefined;

    /** `collab:` URIs a rename of this window's user is moving (Theia moves their editors itself). */
    protected readonly userMoves = new Set<string>();

    protected readonly consoleLogger = {
        warn: (...args: unknown[]) => this.logger.warn(...args as [string]),
        error: (...args: unknown[]) => this.logger.error(...args as [string])
    };

    /** The guest side outlives sessions, so rejoining the same room keeps offline edits. */
    protected readonly guest = new EditorGuest({ logger: this.consoleLogger });
    protected context: (EditorSessionContext & { source?: HostEditorSource }) | undefined;
    protected readonly bindings = new Map<MonacoEditorModel, ModelBinding>();

    protected readonly onDidChangeSessionEmitter = new Emitter<EditorSessionContext | undefined>();
    readonly onDidChangeSession: Event<EditorSessionContext | undefined> = this.onDidChangeSessionEmitter.event;
    protected readonly onDidChangeAwarenessEmitter = new Emitter<void>();
    /** Someone's name, colour, document, selections or view changed. */
    readonly onDidChangeAwareness: Event<void> = this.onDidChangeAwarenessEmitter.event;
    protected readonly onDidChangeBindingsEmitter = new Emitter<void>();
    /** A model got bound to (or unbound from) a shared document. */
    readonly onDidChangeBindings: Event<void> = this.onDidChangeBindingsEmitter.event;

    @postConstruct()
    protected init(): void {
        this.textModelService.onDidCreate(model => this.bindModel(model));
        this.guest.onDidReportProblem(problem => this.messageService.warn(
            nls.localize('collaboration/editor/problem', '{0}: {1}', problem.path, problem.message)));
        this.guest.onDidRemoveDocument(({ path, shared }) => this.closeRemovedDocument(path, shared));
        this.fileService.onWillRunUserOperation(event => {
            if (event.operation === FileOperation.MOVE && event.source?.scheme === COLLAB_SCHEME) {
                this.userMoves.add(event.source.toString());
            }
        });
        const moveDone = (event: { operation: FileOperation; source?: URI }) => {
            if (event.operation === FileOperation.MOVE && event.source) {
                this.userMoves.delete(event.source.toString());
            }
        };
        this.fileService.onDidRunUserOperation(moveDone);
        this.fileService.onDidFailUserOperation(moveDone);
    }

    get current(): EditorSessionContext | undefined {
        return this.context;
    }

    onSessionStarted(session: CollaborationSession): Disposable {
        const awareness = new SessionAwareness(session, { logger: this.consoleLogger });
        let provider: SharedDocumentProvider;
        let source: HostEditorSource | undefined;
        const toDispose: Disposable[] = [];
        if (session.isHost) {
            source = this.hostSourceFactory.create(session);
            const host = new EditorHost(session, source, { logger: this.consoleLogger });
            provider = host;
            toDispose.push(host);
            toDispose.push(this.fileService.onDidFilesChange(event => {
                for (const change of event.changes) {
                    if (change.type === FileChangeType.DELETED) {
                        this.takeDiskDeletion(host, change.resource);
                    } else {
                        this.takeDiskChange(host, source!, change.resource);
                    }
                    if (change.type === FileChangeType.ADDED) {
                        // Created again after a deletion: its open editors are shared again.
                        this.textModelService.models.filter(model => model.uri === change.resource.toString()).forEach(model => this.bindModel(model));
                    }
                }
            }));
            // Renames and deletions made in this window (the file service tells right after the disk changed) ...
            toDispose.push(this.fileService.onDidRunOperation(event => {
                const from = this.pathService.toWorkspacePath(session, event.resource);
                if (!from) {
                    return;
                }
                if (event.isOperation(FileOperation.MOVE)) {
                    const to = this.pathService.toWorkspacePath(session, event.target.resource);
                    // Theia moves this window's editors itself.
                    this.moveDocuments(host, source!, from, to, false);
                } else if (event.isOperation(FileOperation.DELETE)) {
                    host.remove(from);
                }
            }));
            // ... and by guests through the shared file system (before they get the answer).
            if (this.fsHost) {
                toDispose.push(this.fsHost.onDidRunGuestOperation(operation => {
                    if (!sameSession(operation.session, session)) {
                        return;
                    } else if (operation.kind === 'rename') {
                        this.moveDocuments(host, source!, operation.from, operation.to, true);
                    } else {
                        host.remove(operation.path);
                    }
                }));
            }
        } else {
            toDispose.push(this.guest.attach(session));
            provider = this.guest;
        }
        const context = { session, provider, awareness, source };
        this.context = context;
        toDispose.push(awareness.onDidChange(() => this.onDidChangeAwarenessEmitter.fire(undefined)));
        for (const model of this.textModelService.models) {
            this.bindModel(model);
        }
        this.onDidChangeSessionEmitter.fire(context);
        this.onDidChangeAwarenessEmitter.fire(undefined);
        return Disposable.create(() => {
            if (this.context === context) {
                this.context = undefined;
            }
            if (session.isHost) {
                // The host's editors go back to being plain files.
                for (const [model, binding] of [...this.bindings]) {
                    binding.dispose();
                    this.bindings.delete(model);
                }
            }
            // A guest's bindings stay: edits made while disconnected are merged when it rejoins the room.
            awareness.dispose();
            toDispose.forEach(d => d.dispose());
            this.onDidChangeSessionEmitter.fire(undefined);
            this.onDidChangeBindingsEmitter.fire(undefined);
            this.onDidChangeAwarenessEmitter.fire(undefined);
        });
    }

    /**
     * Host: the file or folder `from` was renamed to `to` (undefined: out of the shared workspace). Its
     * documents follow, guests' editors switch to the new path; one that guests may not see there ends.
     */
    protected moveDocuments(host: EditorHost, source: HostEditorSource, from: string, to: string | undefined, moveHostEditors: boolean): void {
        if (!to) {
            host.remove(from);
            return;
        }
        for (const moved of host.move(from, to)) {
            source.moved(moved.from, moved.to);
            const shared = host.get(moved.to);
            source.isVisible(moved.to).then(visible => {
                if (!visible && shared && host.get(moved.to) === shared) {
                    host.remove(moved.to);
                }
            });
            const session = this.context?.session;
            const fromUri = session && this.pathService.toUri(session, moved.from);
            const toUri = session && this.pathService.toUri(session, moved.to);
            if (moveHostEditors && fromUri && toUri) {
                this.moves.moveEditors(fromUri, toUri).catch(error => this.logger.warn(`collaboration: could not move the editor of '${moved.from}'`, error));
            }
        }
    }

    /** Host: a shared file is gone from disk (checked a moment later: a rename or a replace looks the same at first). */
    protected takeDiskDeletion(host: EditorHost, uri: URI): void {
        const context = this.context;
        const path = context && this.pathService.toWorkspacePath(context.session, uri);
        if (!path || !host.paths.some(candidate => candidate === path || candidate.startsWith(path + '/'))) {
            return;
        }
        setTimeout(async () => {
            if (this.context !== context) {
                return;
            }
            for (const candidate of host.paths.filter(p => p === path || p.startsWith(path + '/'))) {
                const shared = host.get(candidate);
                const candidateUri = this.pathService.toUri(context!.session, candidate);
                const exists = candidateUri ? await this.fileService.exists(candidateUri).catch(() => true) : false;
                if (!exists && shared && host.get(candidate) === shared && this.context === context) {
                    host.remove(candidate);
                }
            }
        }, DELETE_GRACE_MS);
    }

    /** Guest: the host deleted the file of an open document; its editors close. */
    protected closeRemovedDocument(path: string, shared: SharedDocument): void {
        const uris = new Set([...this.bindings.entries()]
            .filter(([, entry]) => entry.binding?.shared === shared)
            .map(([model]) => model.uri));
        uris.add(collabUriOfWorkspacePath(path));
        for (const uri of uris) {
            this.moves.closeEditors(new URI(uri)).catch(error => this.logger.warn(`collaboration: could not close the editor of '${path}'`, error));
        }
        const host = this.context?.session.host.name;
        this.messageService.info(host
            ? nls.localize('collaboration/editor/removedBy', "'{0}' was deleted by {1}.", path, host)
            : nls.localize('collaboration/editor/removed', "'{0}' was deleted.", path));
    }

    /**
     * A bound document was renamed. Host: a model of the old file lets go (Theia, or `moveDocuments`, opens
     * the new one). Guest: its editors switch to the new `collab:` URI, unless this window's own rename is
     * doing that already.
     */
    protected onDocumentRenamed(context: EditorSessionContext, model: MonacoEditorModel, entry: ModelBinding, to: string): void {
        entry.path = to;
        const target = this.pathService.toUri(context.session, to);
        if (!target || target.toString() === model.uri) {
            return;
        }
        if (context.session.isHost) {
            this.unbind(model, entry);
            return;
        }
        const from = new URI(model.uri);
        if ([...this.userMoves].some(source => new URI(source).isEqualOrParent(from))) {
            return;
        }
        this.moves.moveEditors(from, target).catch(error => this.logger.warn(`collaboration: could not move the editor of '${to}'`, error));
    }

    protected unbind(model: MonacoEditorModel, entry: ModelBinding): void {
        if (this.bindings.get(model) === entry) {
            entry.dispose();
            this.bindings.delete(model);
            this.onDidChangeBindingsEmitter.fire(undefined);
        }
    }

    /**
     * A shared file changed on the host's disk and no host editor has it open (an open editor reloads by
     * itself, and its binding passes that on): if the document has no unsaved edits, it takes the new text.
     */
    protected async takeDiskChange(host: EditorHost, source: HostEditorSource, uri: URI): Promise<void> {
        const context = this.context;
        const path = context && this.pathService.toWorkspacePath(context.session, uri);
        const shared = path ? host.get(path) : undefined;
        if (!path || !shared || [...this.bindings.values()].some(entry => entry.path === path && entry.binding)) {
            return;
        }
        const before = shared.text.toString();
        const text = await source.readChangedOnDisk(path, before);
        if (text === undefined || shared.disposed || shared.text.toString() !== before) {
            return;
        }
        const edit = diffEdit(before, text);
        if (edit) {
            shared.doc.transact(() => {
                shared.text.delete(edit.offset, edit.length);
                shared.text.insert(edit.offset, edit.text);
            }, DISK_ORIGIN);
        }
    }

    // ---- for the guest's `collab:` resources ----

    guestPathOf(uri: URI): string | undefined {
        const context = this.context;
        return context && !context.session.isHost ? this.pathService.toWorkspacePath(context.session, uri) : undefined;
    }

    acquireForGuest(path: string): Promise<SharedDocument> {
        return this.guest.acquire(path);
    }

    releaseForGuest(shared: SharedDocument): void {
        // By the document's current path: it may have been renamed since it was acquired.
        if (this.guest.get(shared.path) === shared) {
            this.guest.release(shared.path);
        }
    }

    saveForGuest(path: string): Promise<void> {
        return this.guest.save(path);
    }

    // ---- bindings ----

    /** The shared document a model is bound to. */
    bindingOf(model: MonacoEditorModel | undefined): MonacoTextBinding | undefined {
        return model ? this.bindings.get(model)?.binding : undefined;
    }

    pathOf(uri: URI): string | undefined {
        return this.context ? this.pathService.toWorkspacePath(this.context.session, uri) : undefined;
    }

    uriOf(path: string): URI | undefined {
        return this.context ? this.pathService.toUri(this.context.session, path) : undefined;
    }

    protected bindModel(model: MonacoEditorModel): void {
        const context = this.context;
        if (!context || this.bindings.has(model) || model.isDisposed() || !model.isResolved()) {
            return;
        }
        const path = this.pathService.toWorkspacePath(context.session, new URI(model.uri));
        if (!path) {
            return;
        }
        const entry: ModelBinding = { path, dispose: () => { } };
        this.bindings.set(model, entry);
        const willDispose = model.onWillDispose(() => {
            entry.dispose();
            this.bindings.delete(model);
            this.onDidChangeBindingsEmitter.fire(undefined);
        });
        entry.dispose = () => willDispose.dispose();
        const bind = (shared: SharedDocument, release: () => void) => {
            if (this.bindings.get(model) !== entry || model.isDisposed()) {
                release();
                return;
            }
            try {
                entry.binding = new MonacoTextBinding(shared, model, { markDirty: context.session.isHost });
                entry.autoSave = new GuestEditAutoSave(model, entry.binding.buffer, context.session.isHost,
                    () => this.preferences.get('files.autoSave'));
            } catch (error) {
                release();
                this.logger.error(`collaboration: could not bind '${path}'`, error);
                return;
            }
            const renamed = shared.onDidRename(({ to }) => this.onDocumentRenamed(context, model, entry, to));
            // The document ended (its file was deleted): the model goes back to being a plain one.
            const ended = shared.onDidDispose(() => this.unbind(model, entry));
            entry.dispose = () => {
                willDispose.dispose();
                renamed.dispose();
                ended.dispose();
                entry.autoSave?.dispose();
                entry.autoSave = undefined;
                entry.binding?.dispose();
                entry.binding = undefined;
                release();
            };
            this.onDidChangeBindingsEmitter.fire(undefined);
        };
        if (context.provider instanceof EditorHost) {
            const host = context.provider;
            const source = context.source!;
            (source.isVisible(path)).then(visible => {
                if (!visible || this.context !== context) {
                    if (this.bindings.get(model) === entry) {
                        willDispose.dispose();
                        this.bindings.delete(model);
                    }
                    return;
                }
                const shared = host.acquireWithText(path, model.getText());
                const saved = model.onDidSaveModel(() => source.markOnDisk(shared.path, model.getText()));
                bind(shared, () => {
                    saved.dispose();
                    if (shared.disposed || host.get(shared.path) !== shared) {
                        return; // the document ended (file deleted)
                    }
                    try {
                        if (!model.dirty && this.pathService.toUri(context.session, shared.path)?.toString() === model.uri) {
                            source.markOnDisk(shared.path, shared.text.toString());
                        }
                    } catch {
                        // disposed meanwhile
                    }
                    host.release(shared.path);
                });
            });
        } else {
            // The model was read through a `CollabEditorResource`, which holds the document.
            const shared = this.guest.get(path);
            if (shared) {
                bind(shared, () => { });
            } else {
                willDispose.dispose();
                this.bindings.delete(model);
            }
        }
    }
}
