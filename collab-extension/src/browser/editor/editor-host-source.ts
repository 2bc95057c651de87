import { inject, injectable, optional } from '@theia/core/shared/inversify';
import URI from '@theia/core/lib/common/uri';
import { FileService, TextFileOperationError, TextFileOperationResult } from '@theia/filesystem/lib/browser/file-service';
import { FileOperationError, FileOperationResult } from '@theia/filesystem/lib/common/files';
import { MonacoTextModelService } from '@theia/monaco/lib/browser/monaco-text-model-service';
import { CollaborationError } from '@theia-collab/protocol/lib/errors';
import { CollaborationSession } from '@theia-collab/protocol/lib/session';
import { GuestAccess, HostFileSystemService } from '../../common/fs/host-file-system-protocol';
import { resolveGuestPath } from '../../common/fs/guest-path-resolver';
import { FsHostContribution } from '../fs/fs-host-contribution';
import { HostDocumentSource } from '../../common/editor/editor-host';
import { EditorLimits } from '../../common/editor/editor-protocol';
import { normalizeLineEndings } from '../../common/editor/editor-document';
import { EditorPathService } from './editor-path-service';

/**
 * The host's documents come from its open editor if there is one, else from its disk; the converged text is
 * saved through the open editor (so its dirty state and etag stay right) or written to disk, keeping the
 * file's encoding and line endings. Only what the shared file system lets guests see can be opened: every
 * path is resolved by the backend (`resolveForGuest`: real path, link targets, exclusions, read-only files)
 * right before the file service touches it, and the file service is given the URI the backend answered.
 */
@injectable()
export class EditorHostSourceFactory {

    @inject(FileService)
    protected readonly fileService: FileService;

    @inject(MonacoTextModelService)
    protected readonly textModelService: MonacoTextModelService;

    @inject(EditorPathService)
    protected readonly pathService: EditorPathService;

    @inject(HostFileSystemService) @optional()
    protected readonly hostFileSystem: HostFileSystemService | undefined;

    @inject(FsHostContribution) @optional()
    protected readonly fsHost: FsHostContribution | undefined;

    create(session: CollaborationSession): HostEditorSource {
        /** What the disk file looked like, for writing it back the same way. */
        const formats = new Map<string, { encoding: string; crlf: boolean }>();
        /** The text last read from or written to disk (line endings normalised), to tell external changes apart. */
        const onDisk = new Map<string, string>();
        /** Models of files renamed away: until their editors close they hold the moved document's text, not the path's. */
        const movedAway = new WeakSet<object>();
        const resolve = (path: string): URI => {
            const uri = this.pathService.toUri(session, path);
            if (!uri) {
                throw new CollaborationError('not-found', `'${path}' is not in the shared workspace.`);
            }
            return uri;
        };
        /** The host URI of the file `path` leads to now, as the backend checked it; rejects when guests may not `access` it. */
        const resolveForGuest = async (path: string, access: GuestAccess): Promise<URI> => {
            resolve(path);
            if (!this.hostFileSystem) {
                throw new CollaborationError('not-found', `'${path}' cannot be checked on the host.`);
            }
            // Editors open when the session starts ask before the shared file system knows its roots.
            await this.fsHost?.whenShared(session);
            return new URI(await resolveGuestPath(this.hostFileSystem, path, access));
        };
        const isVisible = async (path: string): Promise<boolean> => {
            if (!this.hostFileSystem) {
                return true;
            }
            try {
                // Editors open when the session starts ask before the shared file system knows its roots.
                await this.fsHost?.whenShared(session);
                return (await this.hostFileSystem.filterVisible([path])).includes(path);
            } catch {
                return false;
            }
        };
        return {
            isVisible,
            checkGuestAccess: async (path, access) => {
                await resolveForGuest(path, access);
            },
            markOnDisk: (path, text) => onDisk.set(path, normalizeLineEndings(text)),
            moved: (from, to) => {
                const uri = this.pathService.toUri(session, from);
                const model = uri && this.textModelService.get(uri.toString());
                if (model) {
                    movedAway.add(model);
                }
                for (const map of [formats, onDisk] as Map<string, unknown>[]) {
                    const value = map.get(from);
                    map.delete(from);
                    if (value !== undefined) {
                        map.set(to, value);
                    }
                }
            },
            readChangedOnDisk: async (path, current) => {
                const known = onDisk.get(path);
                if (known === undefined || normalizeLineEndings(current) !== known) {
                    // Unknown, or edited since it was last on disk: like a dirty editor, the document wins.
                    return undefined;
                }
                try {
                    const uri = await resolveForGuest(path, 'read');
                    const content = await this.fileService.read(uri, { acceptTextOnly: true, limits: { size: EditorLimits.maxTextLength } });
                    const text = normalizeLineEndings(content.value);
                    if (text === known) {
                        return undefined;
                    }
                    formats.set(path, { encoding: content.encoding, crlf: content.value.includes('\r\n') });
                    onDisk.set(path, text);
                    return text;
                } catch {
                    return undefined;
                }
            },
            read: async path => {
                const uri = resolve(path);
                // Rejects (not-found, forbidden) unless the path leads to a shared file now.
                const fileUri = await resolveForGuest(path, 'read');
                const model = this.textModelService.get(uri.toString());
                if (model && !model.isDisposed() && model.isResolved() && !movedAway.has(model)) {
                    return model.getText();
                }
                try {
                    const content = await this.fileService.read(fileUri, {
                        acceptTextOnly: true,
                        limits: { size: EditorLimits.maxTextLength }
                    });
                    formats.set(path, { encoding: content.encoding, crlf: content.value.includes('\r\n') });
                    onDisk.set(path, normalizeLineEndings(content.value));
                    return content.value;
                } catch (error) {
                    throw toCollaborationError(error, path);
                }
            },
            save: async (path, text) => {
                const uri = resolve(path);
                // Rejects unless guests may change what the path leads to now (links, read-only files such as .git/).
                const fileUri = await resolveForGuest(path, 'write');
                const model = this.textModelService.get(uri.toString());
                // Through the host's model only when it shows the document: a model that is not bound (yet),
                // e.g. one a guest's language request just loaded from disk, holds other text.
                if (model && !model.isDisposed() && model.isResolved() && normalizeLineEndings(model.getText()) === text) {
                    if (!model.dirty) {
                        return false;
                    }
                    await model.save();
                    onDisk.set(path, normalizeLineEndings(model.getText()));
                    return true;
                }
                const format = formats.get(path);
                try {
                    onDisk.set(path, text);
                    await this.fileService.write(fileUri, format?.crlf ? text.replace(/\n/g, '\r\n') : text, { encoding: format?.encoding });
                    return true;
                } catch (error) {
                    throw toCollaborationError(error, path);
                }
            }
        };
    }
}

export interface HostEditorSource extends HostDocumentSource {
    /** Whether guests may see the file (the shared file system's exclusions). */
    isVisible(path: string): Promise<boolean>;
    /** Records what is on disk now (the host's editor saved it). */
    markOnDisk(path: string, text: string): void;
    /** The file was renamed: what is known about it goes along. */
    moved(from: string, to: string): void;
    /**
     * After a disk change: the new disk text if the file changed outside the session while the document
     * `current` still equals what was last on disk; otherwise undefined.
     */
    readChangedOnDisk(path: string, current: string): Promise<string | undefined>;
}

function toCollaborationError(error: unknown, path: string): CollaborationError {
    if (error instanceof TextFileOperationError && error.textFileOperationResult === TextFileOperationResult.FILE_IS_BINARY) {
        return new CollaborationError('bad-request', `'${path}' is a binary file.`);
    }
    if (error instanceof FileOperationError) {
        switch (error.fileOperationResult) {
            case FileOperationResult.FILE_NOT_FOUND: return new CollaborationError('not-found', `'${path}' does not exist.`);
            case FileOperationResult.FILE_TOO_LARGE: return new CollaborationError('too-large', `'${path}' is too large to be edited together.`);
            case FileOperationResult.FILE_IS_DIRECTORY: return new CollaborationError('bad-request', `'${path}' is a folder.`);
            case FileOperationResult.FILE_PERMISSION_DENIED: return new CollaborationError('permission-denied', `'${path}' cannot be accessed.`);
        }
    }
    return CollaborationError.from(error);
}
