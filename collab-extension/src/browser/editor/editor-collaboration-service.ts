import { inject, injectable, postConstruct } from '@theia/core/shared/inversify';
import { Emitter, Event } from '@theia/core/lib/common/event';
import { ILogger } from '@theia/core/lib/common/logger';
import { MessageService } from '@theia/core/lib/common/message-service';
import { nls } from '@theia/core/lib/common/nls';
import URI from '@theia/core/lib/common/uri';
import { MonacoEditorModel } from '@theia/monaco/lib/browser/monaco-editor-model';
import { MonacoTextModelService } from '@theia/monaco/lib/browser/monaco-text-model-service';
import { FileService } from '@theia/filesystem/lib/browser/file-service';
import { FileChangeType } from '@theia/filesystem/lib/common/files';
import { Disposable } from '@theia-collab/protocol/lib/events';
import { MessageDefinition } from '@theia-collab/protocol/lib/messages';
import { CollaborationSession } from '@theia-collab/protocol/lib/session';
import { CollaborationContribution } from '../collaboration-contribution';
import { SessionAwareness } from '../../common/editor/editor-awareness';
import { SharedDocument, SharedDocumentProvider } from '../../common/editor/editor-document';
import { diffEdit } from '../../common/editor/editor-text-binding';
import { FollowMessages } from '../../common/editor/editor-follow-protocol';
import { EditorGuest } from '../../common/editor/editor-guest';
import { EditorHost } from '../../common/editor/editor-host';
import { EditorMessages } from '../../common/editor/editor-protocol';
import { EditorHostSourceFactory, HostEditorSource } from './editor-host-source';
import { EditorPathService } from './editor-path-service';
import { MonacoTextBinding } from './monaco-text-binding';

/** Transaction origin of a change the host's disk brought in. */
export const DISK_ORIGIN = 'collaboration/disk';

export interface EditorSessionContext {
    readonly session: CollaborationSession;
    readonly provider: SharedDocumentProvider;
    readonly awareness: SessionAwareness;
}

interface ModelBinding {
    path: string;
    binding?: MonacoTextBinding;
    dispose(): void;
}

/**
 * Co-editing in this window: for every session it shares the host's open text editors (host) or serves the
 * guest's `collab:` editors from shared documents (guest), binds every Monaco model of a shared file to its
 * Y.Text, and runs the session's awareness (cursors, selections, followed views).
 */
@injectable()
export class EditorCollaborationService implements CollaborationContribution {

    readonly messages: readonly MessageDefinition[] = [...EditorMessages.all, ...FollowMessages.all];

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
                    if (change.type !== FileChangeType.DELETED) {
                        this.takeDiskChange(host, source!, change.resource);
                    }
                }
            }));
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

    releaseForGuest(path: string, shared: SharedDocument): void {
        if (this.guest.get(path) === shared) {
            this.guest.release(path);
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
            } catch (error) {
                release();
                this.logger.error(`collaboration: could not bind '${path}'`, error);
                return;
            }
            entry.dispose = () => {
                willDispose.dispose();
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
                const saved = model.onDidSaveModel(() => source.markOnDisk(path, model.getText()));
                bind(shared, () => {
                    saved.dispose();
                    try {
                        if (!model.dirty) {
                            source.markOnDisk(path, shared.text.toString());
                        }
                    } catch {
                        // disposed meanwhile
                    }
                    host.release(path);
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
