/**
 * The one confinement path for files a guest names outside `fs/...`: editors (open, save), language requests,
 * breakpoints. Each asks the host's backend (`HostFileSystemService.resolveForGuest`, a `HostFileSystem` in tests)
 * right before it touches the file, and uses the URI it answers; the backend checks real paths, link targets,
 * exclusions and, for `write`, the files guests may not change.
 */
import { CollaborationError } from '@theia-collab/protocol/lib/errors';
import { FsErrorCodes } from './fs-messages';
import { FsResult, GuestAccess, GuestResolution } from './host-file-system-protocol';

/** What answers: the backend's HostFileSystemService, or a HostFileSystem in tests. */
export interface GuestPathBackend {
    resolveForGuest(path: string, access: GuestAccess): Promise<FsResult<GuestResolution>>;
}

/**
 * The host URI of the file the guest named `path`, as the backend resolved it just now; rejects with the
 * backend's CollaborationError (`not-found`, `forbidden`, ...) when the guest may not `access` it.
 */
export async function resolveGuestPath(backend: GuestPathBackend, path: string, access: GuestAccess): Promise<string> {
    let result: FsResult<GuestResolution>;
    try {
        result = await backend.resolveForGuest(path, access);
    } catch (error) {
        // The backend could not be asked: nothing is touched.
        throw new CollaborationError(FsErrorCodes.notFound, `'${String(path).slice(0, 256)}' cannot be checked on the host now.`);
    }
    if (!result || typeof result !== 'object') {
        throw new CollaborationError(FsErrorCodes.notFound, `'${String(path).slice(0, 256)}' is not shared.`);
    }
    if (!result.ok) {
        throw new CollaborationError(result.error?.code ?? FsErrorCodes.notFound, result.error?.message ?? `'${String(path).slice(0, 256)}' is not shared.`);
    }
    if (typeof result.value?.uri !== 'string' || !result.value.uri.startsWith('file:')) {
        throw new CollaborationError(FsErrorCodes.notFound, `'${String(path).slice(0, 256)}' is not shared.`);
    }
    return result.value.uri;
}
