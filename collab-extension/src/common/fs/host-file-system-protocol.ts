/**
 * The JSON-RPC service through which the host's frontend has its backend answer guests' file system
 * requests. The backend does the security-relevant work (realpath, no-follow opens, exclusions); the
 * frontend says who asks and with which permission, as only it knows the session's live peer list.
 */
import { z } from 'zod';
import type { CollaborationErrorData } from '@theia-collab/protocol/lib/errors';
import { Permission, PeerId } from '@theia-collab/protocol/lib/wire';

export const HOST_FILE_SYSTEM_PATH = '/services/collaboration/host-file-system';

/** Glob patterns shared with nobody by default. */
export const DEFAULT_EXCLUDED_FILES: readonly string[] = ['**/.env', '**/.env.*', '**/*.pem', '**/*.key', '**/id_rsa*'];

export interface HostFileSystemRootConfig {
    /** Name guests see, from `nameRoots`. */
    name: string;
    /** The root's `file://` URI on the host. */
    uri: string;
}

export interface HostFileSystemConfig {
    roots: HostFileSystemRootConfig[];
    /** Glob patterns (minimatch, dot files included) of files nobody may see, relative to a root. */
    exclude: string[];
    /** Also hide what the roots' `.gitignore` files ignore. */
    excludeGitIgnored: boolean;
}

/** Who asks, as the host's live peer list says. */
export const FsCaller = z.object({ peerId: PeerId, permission: Permission }).strict();
export type FsCaller = z.infer<typeof FsCaller>;

export type FsResult<T = unknown> = { ok: true; value: T } | { ok: false; error: CollaborationErrorData };

export const HostFileSystemService = Symbol('HostFileSystemService');
export interface HostFileSystemService {
    /** Sets (or replaces) what this window shares. Until configured nothing is shared. */
    configure(config: HostFileSystemConfig): Promise<void>;
    /** Answers one guest request (`fs/...` method). Never rejects for a refused or malformed request. */
    handle(method: string, caller: FsCaller, params: unknown): Promise<FsResult>;
    /** The workspace paths among `paths` that guests may know about. */
    filterVisible(paths: string[]): Promise<string[]>;
    /** Drops a peer's unfinished uploads (it left or was removed). */
    dropPeer(peerId: string): Promise<void>;
    /** Stops sharing: forgets the roots and drops every upload. */
    reset(): Promise<void>;
}
