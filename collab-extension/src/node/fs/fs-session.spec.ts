/**
 * The shared workspace over a real coordination server and real protocol clients: the host answers with
 * its HostFileSystem on a temp folder, guests use the same file system provider as in the browser.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { createHash, randomBytes } from 'crypto';
import URI from '@theia/core/lib/common/uri';
import { FileChangeType, FileSystemProviderCapabilities, FileSystemProviderError, FileSystemProviderErrorCode, FileType } from '@theia/filesystem/lib/common/files';
import { CollaborationError, CollaborationSession, Permission } from '@theia-collab/protocol';
import { until } from '@theia-collab/test-kit';
import { FsMessages } from '../../common/fs/fs-messages';
import { DEFAULT_EXCLUDED_FILES } from '../../common/fs/host-file-system-protocol';
import { rejection, uri, useFsTestSession } from './fs-session-fixture';
import { HostFileSystem } from './host-file-system';

function sha256(data: Uint8Array): string {
    return createHash('sha256').update(data).digest('hex');
}

describe('shared workspace over a real session', function (): void {
    this.timeout(120_000);
    const fixture = useFsTestSession();
    let base: string;
    let root: string;
    let host: CollaborationSession;
    const join = (name: string, permission: Permission) => fixture.join(name, permission);

    beforeEach(async () => {
        base = fixture.tempFolder('collab-fs-session-');
        root = path.join(base, 'proj');
        fs.mkdirSync(path.join(root, 'src'), { recursive: true });
        fs.mkdirSync(path.join(base, 'outside'));
        fs.writeFileSync(path.join(root, 'src', 'main.ts'), 'export const x = 1;\n');
        fs.writeFileSync(path.join(root, '.env'), 'TOKEN=secret');
        fs.writeFileSync(path.join(base, 'outside', 'secret.txt'), 'outside');
        fs.symlinkSync('../outside', path.join(root, 'out'));
        const hostFs = new HostFileSystem({ roots: [{ name: 'proj', path: root }], exclude: [...DEFAULT_EXCLUDED_FILES] });
        fixture.afterTest(() => hostFs.dispose());
        host = await fixture.share(hostFs);
    });

    it('lets a read-write guest list, read and write, and round-trips 20 MB through the provider', async () => {
        const rita = await join('Rita RW', 'readwrite');
        assert.ok(!(rita.provider.capabilities & FileSystemProviderCapabilities.Readonly));
        assert.deepStrictEqual(await rita.provider.readdir(new URI('collab:/')), [['proj', FileType.Directory]]);
        assert.deepStrictEqual((await rita.provider.readdir(uri('proj'))).sort(), [['src', FileType.Directory]]);
        assert.strictEqual(Buffer.from(await rita.provider.readFile(uri('proj/src/main.ts'))).toString(), 'export const x = 1;\n');

        await rita.provider.writeFile(uri('proj/src/main.ts'), Buffer.from('export const x = 2;\n'), { create: true, overwrite: true });
        assert.strictEqual(fs.readFileSync(path.join(root, 'src', 'main.ts'), 'utf8'), 'export const x = 2;\n');
        await rita.provider.mkdir(uri('proj/docs'));
        await rita.provider.rename(uri('proj/src/main.ts'), uri('proj/docs/main.ts'), { overwrite: false });
        assert.ok(fs.existsSync(path.join(root, 'docs', 'main.ts')));

        const big = randomBytes(20 * 1024 * 1024 + 4321);
        await rita.provider.writeFile(uri('proj/big.bin'), big, { create: true, overwrite: false });
        assert.strictEqual(sha256(fs.readFileSync(path.join(root, 'big.bin'))), sha256(big));
        const stat = await rita.provider.stat(uri('proj/big.bin'));
        assert.strictEqual(stat.size, big.byteLength);
        const back = await rita.provider.readFile(uri('proj/big.bin'));
        assert.strictEqual(back.byteLength, big.byteLength);
        assert.strictEqual(sha256(back), sha256(big));
        assert.deepStrictEqual(rita.notified, []);
    });

    it('refuses a read-only guest with the host\'s message and leaves the disk alone', async () => {
        const olaf = await join('Olaf RO', 'readonly');
        assert.ok(olaf.provider.capabilities & FileSystemProviderCapabilities.Readonly);
        assert.ok(olaf.provider.readOnlyMessage);
        assert.strictEqual(Buffer.from(await olaf.provider.readFile(uri('proj/src/main.ts'))).toString(), 'export const x = 1;\n');

        const error = await rejection(olaf.provider.writeFile(uri('proj/src/main.ts'), Buffer.from('pwned'), { create: true, overwrite: true }));
        assert.ok(error instanceof FileSystemProviderError, String(error));
        assert.strictEqual((error as FileSystemProviderError).code, FileSystemProviderErrorCode.NoPermissions);
        assert.match(error.message, /read-only/);
        assert.strictEqual(olaf.notified.length, 1);
        assert.match(olaf.notified[0], /read-only access/);
        await rejection(olaf.provider.writeFile(uri('proj/big.bin'), randomBytes(1024 * 1024), { create: true, overwrite: true }));
        await rejection(olaf.provider.delete(uri('proj/src'), { recursive: true, useTrash: false }));
        await rejection(olaf.provider.mkdir(uri('proj/new')));
        assert.strictEqual(fs.readFileSync(path.join(root, 'src', 'main.ts'), 'utf8'), 'export const x = 1;\n');
        assert.deepStrictEqual(fs.readdirSync(root).sort(), ['.env', 'out', 'src']);
    });

    it('hides excluded files and refuses escaping links for guests', async () => {
        const rita = await join('Rita RW', 'readwrite');
        assert.ok(!(await rita.provider.readdir(uri('proj'))).some(([name]) => name === '.env' || name === 'out'));
        const hidden = await rejection(rita.provider.readFile(uri('proj/.env')));
        assert.strictEqual((hidden as FileSystemProviderError).code, FileSystemProviderErrorCode.FileNotFound);
        const escaping = await rejection(rita.provider.readFile(uri('proj/out/secret.txt')));
        assert.strictEqual((escaping as FileSystemProviderError).code, FileSystemProviderErrorCode.NoPermissions);
        // A hand-made request that the provider would never send is stopped by the validators.
        const malformed = await rejection(rita.session.sendRequest(FsMessages.ReadFile, { path: 'proj/../outside/secret.txt', offset: 0, length: 10 }));
        assert.strictEqual(CollaborationError.from(malformed).code, 'invalid-params');
        assert.strictEqual(fs.readFileSync(path.join(root, '.env'), 'utf8'), 'TOKEN=secret');
    });

    it('applies a lowered permission and a removal to requests already waiting', async () => {
        const rita = await join('Rita RW', 'readwrite');
        const wendy = await join('Wendy RW', 'readwrite');
        let open!: () => void;
        fixture.gate = new Promise(resolve => open = resolve);
        const lowered = rejection(rita.provider.writeFile(uri('proj/src/main.ts'), Buffer.from('rita'), { create: true, overwrite: true }));
        const removed = rejection(wendy.provider.writeFile(uri('proj/src/main.ts'), Buffer.from('wendy'), { create: true, overwrite: true }));
        // Let both requests reach the host, then change who they are before the host handles them.
        await new Promise(resolve => setTimeout(resolve, 500));
        await host.setPermission(rita.session.self.id, 'readonly');
        await host.removePeer(wendy.session.self.id);
        fixture.gate = undefined;
        open();
        const loweredError = await lowered;
        assert.strictEqual((loweredError as FileSystemProviderError).code, FileSystemProviderErrorCode.NoPermissions, loweredError.message);
        await removed;
        assert.strictEqual(fs.readFileSync(path.join(root, 'src', 'main.ts'), 'utf8'), 'export const x = 1;\n');
        // The guest's own view follows the host's decision.
        await until(() => !!(rita.provider.capabilities & FileSystemProviderCapabilities.Readonly), 'Rita\'s provider turns read-only');
    });

    it('delivers change notifications from the host only', async () => {
        const rita = await join('Rita RW', 'readwrite');
        const olaf = await join('Olaf RO', 'readonly');
        await rita.session.sendBroadcast(FsMessages.DidChange, { changes: [{ type: 'deleted', path: 'proj/src/main.ts' }] });
        await host.sendBroadcast(FsMessages.DidChange, { changes: [{ type: 'added', path: 'proj/src/new file.ts' }, { type: 'updated', path: 'proj/src/main.ts' }] });
        await until(() => olaf.changes.length > 0, 'Olaf hears of the change');
        await new Promise(resolve => setTimeout(resolve, 200));
        assert.deepStrictEqual(olaf.changes.map(batch => batch.map(change => [change.type, change.resource.toString()])), [[
            [FileChangeType.ADDED, 'collab:/proj/src/new%20file.ts'],
            [FileChangeType.UPDATED, 'collab:/proj/src/main.ts']
        ]]);
    });
});
