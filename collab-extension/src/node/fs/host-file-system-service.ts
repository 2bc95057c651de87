import { injectable } from '@theia/core/shared/inversify';
import { FileUri } from '@theia/core/lib/common/file-uri';
import { FsCaller, FsResult, GuestAccess, GuestResolution, HostFileSystemConfig, HostFileSystemService } from '../../common/fs/host-file-system-protocol';
import { FsLimits } from '../../common/fs/fs-messages';
import { HostFileSystem, HostRoot } from './host-file-system';

const MAX_FILTERED_PATHS = 10_000;

/** One per frontend connection: each host window shares its own roots. */
@injectable()
export class HostFileSystemServiceImpl implements HostFileSystemService {

    protected readonly fileSystem = new HostFileSystem();

    async configure(config: HostFileSystemConfig): Promise<void> {
        const roots: HostRoot[] = [];
        for (const root of Array.isArray(config?.roots) ? config.roots.slice(0, FsLimits.maxRoots) : []) {
            if (typeof root?.name === 'string' && typeof root.uri === 'string' && root.uri.startsWith('file:')) {
                roots.push({ name: root.name, path: FileUri.fsPath(root.uri) });
            }
        }
        this.fileSystem.configure({
            roots,
            exclude: Array.isArray(config?.exclude) ? config.exclude.filter(pattern => typeof pattern === 'string') : [],
            excludeGitIgnored: config?.excludeGitIgnored === true,
            // Absent (an older frontend): the defaults, never nothing.
            readOnly: Array.isArray(config?.readOnly) ? config.readOnly.filter(pattern => typeof pattern === 'string') : undefined
        });
    }

    handle(method: string, caller: FsCaller, params: unknown): Promise<FsResult> {
        return this.fileSystem.handle(method, caller, params);
    }

    async filterVisible(paths: string[]): Promise<string[]> {
        return Array.isArray(paths) ? this.fileSystem.filterVisible(paths.slice(0, MAX_FILTERED_PATHS)) : [];
    }

    resolveForGuest(path: string, access: GuestAccess): Promise<FsResult<GuestResolution>> {
        return this.fileSystem.resolveForGuest(path, access);
    }

    dropPeer(peerId: string): Promise<void> {
        return this.fileSystem.dropPeer(String(peerId));
    }

    reset(): Promise<void> {
        return this.fileSystem.dispose();
    }

    dispose(): void {
        this.fileSystem.dispose().catch(error => console.error('collaboration: dropping uploads failed', error));
    }
}
