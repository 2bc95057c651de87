import { inject, injectable } from '@theia/core/shared/inversify';
import { nls } from '@theia/core/lib/common/nls';
import { Emitter, Event } from '@theia/core/lib/common/event';
import { DisposableCollection } from '@theia/core/lib/common/disposable';
import { MarkdownStringImpl } from '@theia/core/lib/common/markdown-rendering/markdown-string';
import { MarkdownString } from '@theia/core/lib/common/markdown-rendering';
import { Resource, ResourceError, ResourceReadOptions, ResourceResolver, ResourceSaveOptions } from '@theia/core/lib/common/resource';
import URI from '@theia/core/lib/common/uri';
import { FileResourceResolver } from '@theia/filesystem/lib/browser/file-resource';
import { CollaborationError } from '@theia-collab/protocol/lib/errors';
import { COLLAB_SCHEME } from '../../common/collaboration-uri';
import { SharedDocument } from '../../common/editor/editor-document';
import { EditorCollaborationService } from './editor-collaboration-service';

/**
 * A guest's editor for a shared file reads and saves the shared document, not the file: its content is the
 * converged Y.Text (never the host's disk with Yjs content inserted on top), saving asks the host to write
 * the converged text (`editor/save`), and it never reloads because the host's file changed — so neither
 * the "file changed on disk" dialog nor a reload can eat a keystroke. What cannot be shared (binary, too
 * large, excluded) falls back to the shared file system's ordinary file resource.
 */
export class CollabEditorResource implements Resource {
    protected shared: SharedDocument | undefined;
    protected fallback: Resource | undefined;
    protected readonly toDispose = new DisposableCollection();
    protected readonly onDidChangeReadOnlyEmitter = new Emitter<boolean | MarkdownString>();
    readonly onDidChangeReadOnly: Event<boolean | MarkdownString> = this.onDidChangeReadOnlyEmitter.event;
    protected readonly onDidChangeContentsEmitter = new Emitter<void>();
    readonly onDidChangeContents: Event<void> = this.onDidChangeContentsEmitter.event;
    readonly autosaveable = true;

    constructor(
        readonly uri: URI,
        readonly path: string,
        protected readonly service: EditorCollaborationService,
        protected readonly fileResourceResolver: FileResourceResolver
    ) {
        this.toDispose.push(this.onDidChangeReadOnlyEmitter);
        this.toDispose.push(this.onDidChangeContentsEmitter);
    }

    get readOnly(): boolean | MarkdownString {
        if (this.fallback) {
            return this.fallback.readOnly ?? false;
        }
        return this.shared?.readOnly
            ? new MarkdownStringImpl(nls.localize('collaboration/editor/readOnly', 'You have read-only access to this shared file.'))
            : false;
    }

    async readContents(options?: ResourceReadOptions): Promise<string> {
        if (this.fallback) {
            return this.fallback.readContents(options);
        }
        if (!this.shared) {
            try {
                this.shared = await this.service.acquireForGuest(this.path);
            } catch (error) {
                const { code } = CollaborationError.from(error);
                if (code === 'not-found') {
                    throw ResourceError.NotFound({ message: CollaborationError.from(error).message, data: { uri: this.uri } });
                }
                if (code === 'bad-request' || code === 'too-large') {
                    return this.useFallback(options);
                }
                throw error;
            }
            if (this.toDispose.disposed) {
                this.service.releaseForGuest(this.shared);
                this.shared = undefined;
                return '';
            }
            const shared = this.shared;
            this.toDispose.push({ dispose: () => this.service.releaseForGuest(shared) });
            this.toDispose.push(shared.onDidChangeReadOnly(() => this.onDidChangeReadOnlyEmitter.fire(this.readOnly)));
            if (shared.readOnly) {
                this.onDidChangeReadOnlyEmitter.fire(this.readOnly);
            }
        }
        return this.shared.text.toString();
    }

    async saveContents(content: string, options?: ResourceSaveOptions): Promise<void> {
        if (this.fallback) {
            return this.fallback.saveContents?.(content, options);
        }
        if (!this.shared || this.shared.readOnly) {
            return;
        }
        // The document's current path: the host may have renamed the file since this editor opened.
        await this.service.saveForGuest(this.shared.path);
    }

    dispose(): void {
        this.toDispose.dispose();
    }

    protected async useFallback(options?: ResourceReadOptions): Promise<string> {
        const fallback = await this.fileResourceResolver.resolve(this.uri);
        this.fallback = fallback;
        this.toDispose.push(fallback);
        if (fallback.onDidChangeContents) {
            this.toDispose.push(fallback.onDidChangeContents(() => this.onDidChangeContentsEmitter.fire(undefined)));
        }
        if (fallback.onDidChangeReadOnly) {
            this.toDispose.push(fallback.onDidChangeReadOnly(readOnly => this.onDidChangeReadOnlyEmitter.fire(readOnly)));
        }
        return fallback.readContents(options);
    }
}

/** Serves `collab:` files to a guest's editors while it is in a session (ahead of the file resource). */
@injectable()
export class CollabEditorResourceResolver implements ResourceResolver {
    readonly priority = 10;

    @inject(EditorCollaborationService)
    protected readonly service: EditorCollaborationService;

    @inject(FileResourceResolver)
    protected readonly fileResourceResolver: FileResourceResolver;

    resolve(uri: URI): Resource {
        if (uri.scheme !== COLLAB_SCHEME) {
            throw new Error('not a collab: URI');
        }
        const path = this.service.guestPathOf(uri);
        if (!path) {
            throw new Error('not in a collaboration session as a guest');
        }
        return new CollabEditorResource(uri, path, this.service, this.fileResourceResolver);
    }
}
