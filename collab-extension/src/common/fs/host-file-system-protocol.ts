/**
 * The JSON-RPC service through which the host's frontend has its backend answer guests' file system
 * requests. The backend does the security-relevant work (realpath, no-follow opens, exclusions); the
 * frontend says who asks and with which permission, as only it knows the session's live peer list.
 */
import { z } from 'zod';
import type { CollaborationErrorData } from '@theia-collab/protocol/lib/errors';
import { Permission, PeerId } from '@theia-collab/protocol/lib/wire';

export const HOST_FILE_SYSTEM_PATH = '/services/collaboration/host-file-system';

/**
 * Glob patterns shared with nobody by default: secrets that commonly sit in a project folder. A pattern that
 * matches a folder hides everything below it (`**\/.ssh` hides `.ssh/config`).
 */
export const DEFAULT_EXCLUDED_FILES: readonly string[] = [
    '**/.env', '**/.env.*',
    // private keys and key stores
    '**/*.pem', '**/*.key', '**/*.p12', '**/*.pfx', '**/id_rsa*', '**/id_ed25519*', '**/*.kdbx',
    // credentials of tools (git remote URLs may carry tokens)
    '**/.git/config', '**/.npmrc', '**/.pypirc', '**/.netrc', '**/.docker/config.json', '**/.aws', '**/.ssh'
];

/**
 * Glob patterns guests can read but never change (write, create, delete, move, copy onto): folders holding
 * configuration the host's tools run as code (git hooks, tasks, launch configurations, workspace settings).
 * A pattern that matches a folder protects everything below it.
 */
export const DEFAULT_READ_ONLY_FILES: readonly string[] = ['**/.git', '**/.theia', '**/.vscode', '**/.idea'];

/** What a guest wants to do with a file it names: read it (open, language, breakpoints) or change it (save). */
export type GuestAccess = 'read' | 'write';

/** A guest-named workspace path as the host's backend resolved it. */
export interface GuestResolution {
    /**
     * The host `file:` URI to read or write: the file the path leads to now (links resolved), under the
     * shared root it was named in.
     */
    uri: string;
}

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
    /** Glob patterns of files guests may read but not change; `DEFAULT_READ_ONLY_FILES` when absent. */
    readOnly?: string[];
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
    /**
     * The workspace paths among `paths` that guests may know about: not excluded, and, when they exist, not
     * leading (through links) out of their root or to an excluded file.
     */
    filterVisible(paths: string[]): Promise<string[]>;
    /**
     * The one check before the host's frontend touches a file a guest named (editor open/save, language
     * requests, breakpoints): real path and link targets inside the root, not excluded, and for `write` not
     * read-only for guests. Answers the URI to use; never rejects for a refused path.
     */
    resolveForGuest(path: string, access: GuestAccess): Promise<FsResult<GuestResolution>>;
    /** Drops a peer's unfinished uploads (it left or was removed). */
    dropPeer(peerId: string): Promise<void>;
    /** Stops sharing: forgets the roots and drops every upload. */
    reset(): Promise<void>;
}
