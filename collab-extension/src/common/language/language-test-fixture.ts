/**
 * Test support for the language, debug and per-file state session specs (Node only): a temp host workspace
 * shared as the root `proj` with the default exclusions, the path mapper the host side of those features uses,
 * and joining a host's session.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FileUri } from '@theia/core/lib/common/file-uri';
import type { CollaborationClient, CollaborationSession } from '@theia-collab/protocol';
import { until } from '@theia-collab/test-kit';
import { HostFileSystem } from '../../node/fs/host-file-system';
import { nameRoots } from '../collaboration-uri';
import { DEFAULT_EXCLUDED_FILES } from '../fs/host-file-system-protocol';
import { GuestPathMapper, hostUriOfWorkspacePath, withGuestResolver, workspacePathOfHostUri } from '../fs/host-path-mapper';

export interface TestHostWorkspace {
    /** The temp folder; `root` is its `proj` subfolder, so `base` holds files outside the workspace. */
    readonly base: string;
    readonly root: string;
    readonly hostFs: HostFileSystem;
    /** The host's path mapper, guest-named paths resolved by `hostFs` as the app's backend does. */
    readonly mapper: GuestPathMapper;
    /** Removes the temp folder. */
    dispose(): void;
}

/** Creates `<tmp>/<prefix>…/proj` with `files` (path relative to `proj` → content). */
export function createTestHostWorkspace(prefix: string, files: Record<string, string>): TestHostWorkspace {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    const root = path.join(base, 'proj');
    for (const [file, content] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
        fs.writeFileSync(path.join(root, file), content);
    }
    const hostFs = new HostFileSystem({ roots: [{ name: 'proj', path: root }], exclude: [...DEFAULT_EXCLUDED_FILES] });
    const roots = nameRoots([FileUri.create(root).toString()]);
    const mapper = withGuestResolver({
        toWorkspacePath: uri => workspacePathOfHostUri(roots, uri),
        toHostUri: workspacePath => hostUriOfWorkspacePath(roots, workspacePath)?.toString(),
        filterVisible: paths => hostFs.filterVisible(paths)
    }, hostFs);
    return { base, root, hostFs, mapper, dispose: () => fs.rmSync(base, { recursive: true, force: true }) };
}

/**
 * `client` joins `host`'s session (the host admits it with its own join handler); resolves once the host sees
 * the guest and, with `allPeers`, the guest sees everyone the host sees.
 */
export async function joinTestSession(client: CollaborationClient, host: CollaborationSession, allPeers = true): Promise<CollaborationSession> {
    const session = await client.joinSession(host.invite!.code);
    await until(() => host.getPeer(session.self.id) !== undefined && (!allPeers || session.peers.length === host.peers.length),
        `the host sees ${session.self.name}`);
    return session;
}
