/**
 * A multi-root workspace shared over a real coordination server: the host's backend service is configured as its
 * frontend does (roots named by `nameRoots`), guests use the browser's file system provider. Each root is its
 * own jail: a guest works in every root, moves files between them, but no path or link leads out of the root
 * it names (not even into another shared root), and each root's exclusions hide its own files.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createHash } from 'crypto';
import { FileUri } from '@theia/core/lib/common/file-uri';
import { FileSystemProviderError, FileSystemProviderErrorCode, FileType } from '@theia/filesystem/lib/common/files';
import { CollaborationError } from '@theia-collab/protocol';
import { until } from '@theia-collab/test-kit';
import { nameRoots } from '../../common/collaboration-uri';
import { workspacePathsOfHostUri } from '../../common/fs/fs-host-paths';
import { FsMessages } from '../../common/fs/fs-messages';
import { DEFAULT_EXCLUDED_FILES } from '../../common/fs/host-file-system-protocol';
import { rejection, uri, useFsTestSession } from './fs-session-fixture';

async function refusedWith(promise: Promise<unknown>, code: FileSystemProviderErrorCode, what: string): Promise<void> {
    const error = await rejection(promise);
    assert.ok(error instanceof FileSystemProviderError, `${what}: ${error}`);
    assert.strictEqual((error as FileSystemProviderError).code, code, `${what}: ${error.message}`);
}

/** A raw request the provider would never send; the validators (either side) or the host must refuse it. */
async function rawRefused(send: () => Promise<unknown>, codes: string[], what: string): Promise<void> {
    const error = CollaborationError.from(await rejection(send()));
    assert.ok(codes.includes(error.code), `${what}: expected ${codes.join('|')}, got ${error.code}: ${error.message}`);
}

function text(data: Uint8Array): string {
    return Buffer.from(data).toString('utf8');
}

/** Every entry below `dir` (links as their target, files with a hash), to prove nothing changed. */
function snapshot(dir: string): string[] {
    const out: string[] = [];
    const walk = (current: string, prefix: string) => {
        for (const name of fs.readdirSync(current).sort()) {
            const full = path.join(current, name);
            const stats = fs.lstatSync(full);
            if (stats.isSymbolicLink()) {
                out.push(`${prefix}${name} -> ${fs.readlinkSync(full)}`);
            } else if (stats.isDirectory()) {
                out.push(`${prefix}${name}/`);
                walk(full, `${prefix}${name}/`);
            } else {
                out.push(`${prefix}${name} ${createHash('sha256').update(fs.readFileSync(full)).digest('hex').slice(0, 16)}`);
            }
        }
    };
    walk(dir, '');
    return out;
}

function write(file: string, content: string): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
}

interface Layout {
    title: string;
    /** Folder of each root below the temp folder. */
    folders: [string, string];
    /** Names guests must see. */
    names: [string, string];
}

const LAYOUTS: Layout[] = [
    { title: 'two roots in different parents (x/app, y/lib)', folders: ['x/app', 'y/lib'], names: ['app', 'lib'] },
    { title: 'two roots named app in different parents (one/app, two/app)', folders: ['one/app', 'two/app'], names: ['app', 'app-2'] }
];

describe('multi-root shared workspace over a real session', function (): void {
    this.timeout(120_000);
    const fixture = useFsTestSession();

    for (const layout of LAYOUTS) {
        describe(layout.title, () => {
            let base: string;
            let rootA: string;
            let rootB: string;
            const [a, b] = layout.names;

            beforeEach(async () => {
                base = fixture.tempFolder('collab-fs-multi-root-');
                rootA = path.join(base, layout.folders[0]);
                rootB = path.join(base, layout.folders[1]);
                // The same relative paths in both roots, with different content: a mix-up of roots shows.
                for (const [root, label] of [[rootA, 'A'], [rootB, 'B']]) {
                    write(path.join(root, 'src', 'index.ts'), `export const root = '${label}';\n`);
                    write(path.join(root, 'README.md'), `# root ${label}\n`);
                    write(path.join(root, '.env'), `SECRET_${label}=1\n`);
                    write(path.join(root, 'dist', 'out.js'), `built ${label}\n`);
                    write(path.join(root, 'generated', 'api.ts'), `generated ${label}\n`);
                }
                // Only root A ignores dist/: its .gitignore must not hide root B's dist/.
                write(path.join(rootA, '.gitignore'), 'dist/\n');
                write(path.join(base, 'secret.txt'), 'outside both roots\n');
                // Links out of root A: into root B, to root B's parent, to a file of root B; and one that stays in A.
                fs.symlinkSync(rootB, path.join(rootA, 'toB'));
                fs.symlinkSync(path.dirname(rootB), path.join(rootA, 'toBparent'));
                fs.symlinkSync(path.join(rootB, 'src', 'index.ts'), path.join(rootA, 'toBfile.ts'));
                fs.symlinkSync('src', path.join(rootA, 'ownSrc'));
                // And from root B back into root A and to the folder above both.
                fs.symlinkSync(path.relative(rootB, rootA), path.join(rootB, 'toA'));
                fs.symlinkSync(base, path.join(rootB, 'toBase'));
                const roots = await fixture.shareFolders([rootA, rootB], {
                    exclude: [...DEFAULT_EXCLUDED_FILES, 'generated/**'],
                    excludeGitIgnored: true
                });
                assert.deepStrictEqual(roots.map(root => root.name), layout.names);
            });

            it('the guest lists both roots with distinct names, each with its own files', async () => {
                const rita = await fixture.join('Rita RW', 'readwrite');
                const listed = await rita.session.sendRequest(FsMessages.Roots, {});
                assert.deepStrictEqual(listed.roots.map(root => root.name), [a, b]);
                assert.deepStrictEqual(await rita.provider.readdir(uri('')), [[a, FileType.Directory], [b, FileType.Directory]]);
                const inA = (await rita.provider.readdir(uri(a))).sort();
                const inB = (await rita.provider.readdir(uri(b))).sort();
                // Escaping links, excluded and ignored files are not listed; the link that stays in A is.
                assert.deepStrictEqual(inA, [
                    ['.gitignore', FileType.File], ['README.md', FileType.File], ['ownSrc', FileType.Directory], ['src', FileType.Directory]
                ]);
                assert.deepStrictEqual(inB, [['README.md', FileType.File], ['dist', FileType.Directory], ['src', FileType.Directory]]);
                assert.strictEqual(text(await rita.provider.readFile(uri(`${a}/src/index.ts`))), 'export const root = \'A\';\n');
                assert.strictEqual(text(await rita.provider.readFile(uri(`${b}/src/index.ts`))), 'export const root = \'B\';\n');
                assert.strictEqual(text(await rita.provider.readFile(uri(`${a}/ownSrc/index.ts`))), 'export const root = \'A\';\n');
                assert.deepStrictEqual(rita.notified, []);
            });

            it('a read-write guest reads, stats, writes, renames, copies and deletes in each root', async () => {
                const rita = await fixture.join('Rita RW', 'readwrite');
                for (const [name, root, label] of [[a, rootA, 'A'], [b, rootB, 'B']]) {
                    const stat = await rita.provider.stat(uri(`${name}/README.md`));
                    assert.strictEqual(stat.type, FileType.File);
                    assert.strictEqual(stat.size, `# root ${label}\n`.length);
                    assert.strictEqual((await rita.provider.stat(uri(name))).type, FileType.Directory);

                    await rita.provider.writeFile(uri(`${name}/src/index.ts`), Buffer.from(`edited ${label}\n`), { create: false, overwrite: true });
                    await rita.provider.mkdir(uri(`${name}/docs`));
                    await rita.provider.writeFile(uri(`${name}/docs/new file.md`), Buffer.from(`new ${label}\n`), { create: true, overwrite: false });
                    await rita.provider.rename(uri(`${name}/docs/new file.md`), uri(`${name}/docs/renamed.md`), { overwrite: false });
                    await rita.provider.rename(uri(`${name}/docs`), uri(`${name}/notes`), { overwrite: false });
                    await rita.provider.copy(uri(`${name}/notes`), uri(`${name}/notes-copy`), { overwrite: false });
                    await rita.provider.delete(uri(`${name}/notes-copy/renamed.md`), { recursive: false, useTrash: false });

                    assert.strictEqual(fs.readFileSync(path.join(root, 'src', 'index.ts'), 'utf8'), `edited ${label}\n`);
                    assert.strictEqual(fs.readFileSync(path.join(root, 'notes', 'renamed.md'), 'utf8'), `new ${label}\n`);
                    assert.deepStrictEqual(fs.readdirSync(path.join(root, 'notes-copy')), []);
                    assert.ok(!fs.existsSync(path.join(root, 'docs')));
                    assert.strictEqual(text(await rita.provider.readFile(uri(`${name}/notes/renamed.md`))), `new ${label}\n`);
                }
                // Nothing landed in the other root or next to the roots.
                assert.deepStrictEqual(fs.readdirSync(path.dirname(rootA)), [path.basename(rootA)]);
                assert.deepStrictEqual(fs.readdirSync(path.dirname(rootB)), [path.basename(rootB)]);
                assert.deepStrictEqual(rita.notified, []);
            });

            it('a read-write guest moves and copies files and folders between the roots', async () => {
                const rita = await fixture.join('Rita RW', 'readwrite');
                await rita.provider.rename(uri(`${a}/README.md`), uri(`${b}/README-from-A.md`), { overwrite: false });
                await rita.provider.copy(uri(`${b}/src`), uri(`${a}/src-from-B`), { overwrite: false });
                await rita.provider.rename(uri(`${a}/src`), uri(`${b}/src-from-A`), { overwrite: false });
                await rita.provider.rename(uri(`${b}/src/index.ts`), uri(`${a}/src-from-B/index.ts`), { overwrite: true });

                assert.ok(!fs.existsSync(path.join(rootA, 'README.md')));
                assert.strictEqual(fs.readFileSync(path.join(rootB, 'README-from-A.md'), 'utf8'), '# root A\n');
                assert.strictEqual(fs.readFileSync(path.join(rootB, 'src-from-A', 'index.ts'), 'utf8'), 'export const root = \'A\';\n');
                assert.strictEqual(fs.readFileSync(path.join(rootA, 'src-from-B', 'index.ts'), 'utf8'), 'export const root = \'B\';\n');
                assert.deepStrictEqual(fs.readdirSync(path.join(rootB, 'src')), []);
                assert.strictEqual(text(await rita.provider.readFile(uri(`${b}/src-from-A/index.ts`))), 'export const root = \'A\';\n');
                // A shared folder itself is neither moved into the other root nor replaced by it.
                await refusedWith(rita.provider.rename(uri(a), uri(`${b}/moved-root`), { overwrite: false }), FileSystemProviderErrorCode.NoPermissions, 'moving root A');
                await refusedWith(rita.provider.rename(uri(`${b}/README-from-A.md`), uri(a), { overwrite: true }), FileSystemProviderErrorCode.NoPermissions, 'replacing root A');
                await refusedWith(rita.provider.delete(uri(b), { recursive: true, useTrash: false }), FileSystemProviderErrorCode.NoPermissions, 'deleting root B');
                assert.ok(fs.existsSync(path.join(rootB, 'README-from-A.md')));
            });

            it('no path or link leads out of the root it names, not even into the other shared root', async () => {
                const rita = await fixture.join('Rita RW', 'readwrite');
                const before = snapshot(base);
                const send = rita.session;
                const writer = { peerId: rita.session.self.id, permission: 'readwrite' as const };
                for (const bad of [`${a}/../${b}/src/index.ts`, `${b}/../../secret.txt`, `../${a}/README.md`, '/etc/passwd', `/${a}/README.md`, `${a}/./README.md`, `${a}\\..\\${b}`]) {
                    // The guest's own validators stop such a request...
                    await rawRefused(() => send.sendRequest(FsMessages.ReadFile, { path: bad, offset: 0, length: 100 }), ['invalid-params', 'bad-request'], `read ${bad}`);
                    await rawRefused(() => send.sendRequest(FsMessages.WriteFile, { path: bad, data: Buffer.from('x'), create: true, overwrite: true }),
                        ['invalid-params', 'bad-request'], `write ${bad}`);
                    // ...and the host's backend refuses it when a modified guest sends it anyway.
                    for (const [method, params] of [
                        [FsMessages.ReadFile.method, { path: bad, offset: 0, length: 100 }],
                        [FsMessages.WriteFile.method, { path: bad, data: Buffer.from('x'), create: true, overwrite: true }],
                        [FsMessages.Rename.method, { from: `${a}/README.md`, to: bad, overwrite: true }]
                    ] as const) {
                        const result = await fixture.hostFileSystem.handle(method, writer, params);
                        assert.ok(!result.ok && result.error.code === 'bad-request', `${method} ${bad}: ${JSON.stringify(result)}`);
                    }
                }
                // Names that are no shared root: the temp folder's children, the OS's folders.
                for (const unknown of ['etc/passwd', `${path.basename(path.dirname(rootA))}/${path.basename(rootA)}/README.md`, 'secret.txt']) {
                    await refusedWith(rita.provider.readFile(uri(unknown)), FileSystemProviderErrorCode.FileNotFound, `read ${unknown}`);
                    await refusedWith(rita.provider.writeFile(uri(unknown), Buffer.from('x'), { create: true, overwrite: true }),
                        FileSystemProviderErrorCode.FileNotFound, `write ${unknown}`);
                }
                // Links leading out of their root are refused, even when they lead into the other shared root.
                const escaping = [`${a}/toB/src/index.ts`, `${a}/toBfile.ts`, `${a}/toBparent/${path.basename(rootB)}/README.md`, `${b}/toA/README.md`, `${b}/toBase/secret.txt`];
                for (const link of escaping) {
                    await refusedWith(rita.provider.readFile(uri(link)), FileSystemProviderErrorCode.NoPermissions, `read ${link}`);
                    await refusedWith(rita.provider.writeFile(uri(link), Buffer.from('pwned'), { create: true, overwrite: true }),
                        FileSystemProviderErrorCode.NoPermissions, `write ${link}`);
                }
                for (const link of [`${a}/toB`, `${a}/toBparent`, `${b}/toA`, `${b}/toBase`]) {
                    await refusedWith(rita.provider.stat(uri(link)), FileSystemProviderErrorCode.NoPermissions, `stat ${link}`);
                    await refusedWith(rita.provider.readdir(uri(link)), FileSystemProviderErrorCode.NoPermissions, `readdir ${link}`);
                    await refusedWith(rita.provider.mkdir(uri(`${link}/new`)), FileSystemProviderErrorCode.NoPermissions, `mkdir in ${link}`);
                    await refusedWith(rita.provider.rename(uri(`${a}/README.md`), uri(`${link}/README.md`), { overwrite: true }),
                        FileSystemProviderErrorCode.NoPermissions, `move into ${link}`);
                    await refusedWith(rita.provider.copy(uri(`${link}/README.md`), uri(`${a}/copied.md`), { overwrite: true }),
                        FileSystemProviderErrorCode.NoPermissions, `copy out of ${link}`);
                }
                assert.deepStrictEqual(snapshot(base), before);
                // Through its own root, the same file is fine.
                assert.strictEqual(text(await rita.provider.readFile(uri(`${b}/src/index.ts`))), 'export const root = \'B\';\n');
            });

            it('each root\'s exclusions hide its own files; one root\'s .gitignore does not hide the other\'s', async () => {
                const rita = await fixture.join('Rita RW', 'readwrite');
                const before = snapshot(base);
                for (const name of [a, b]) {
                    for (const hidden of ['.env', 'generated/api.ts', 'generated']) {
                        await refusedWith(rita.provider.stat(uri(`${name}/${hidden}`)), FileSystemProviderErrorCode.FileNotFound, `stat ${name}/${hidden}`);
                    }
                    await refusedWith(rita.provider.readFile(uri(`${name}/.env`)), FileSystemProviderErrorCode.FileNotFound, `read ${name}/.env`);
                    await refusedWith(rita.provider.writeFile(uri(`${name}/.env`), Buffer.from('x'), { create: true, overwrite: true }),
                        FileSystemProviderErrorCode.FileNotFound, `write ${name}/.env`);
                    await refusedWith(rita.provider.writeFile(uri(`${name}/generated/new.ts`), Buffer.from('x'), { create: true, overwrite: true }),
                        FileSystemProviderErrorCode.FileNotFound, `write ${name}/generated/new.ts`);
                    // A folder holding an excluded file is not moved, copied or deleted (into the other root either).
                    const other = name === a ? b : a;
                    write(path.join(name === a ? rootA : rootB, 'config', '.env.local'), 'SECRET=2\n');
                    await refusedWith(rita.provider.rename(uri(`${name}/config`), uri(`${other}/config`), { overwrite: false }),
                        FileSystemProviderErrorCode.NoPermissions, `move ${name}/config`);
                    await refusedWith(rita.provider.copy(uri(`${name}/config`), uri(`${other}/config`), { overwrite: false }),
                        FileSystemProviderErrorCode.NoPermissions, `copy ${name}/config`);
                    await refusedWith(rita.provider.delete(uri(`${name}/config`), { recursive: true, useTrash: false }),
                        FileSystemProviderErrorCode.NoPermissions, `delete ${name}/config`);
                    fs.rmSync(path.join(name === a ? rootA : rootB, 'config'), { recursive: true });
                }
                // Root A ignores dist/, root B does not.
                await refusedWith(rita.provider.readFile(uri(`${a}/dist/out.js`)), FileSystemProviderErrorCode.FileNotFound, 'read A\'s ignored dist');
                assert.strictEqual(text(await rita.provider.readFile(uri(`${b}/dist/out.js`))), 'built B\n');
                // Moving root B's dist into root A's ignored dist/ is refused; moving it elsewhere in A is not.
                await refusedWith(rita.provider.rename(uri(`${b}/dist/out.js`), uri(`${a}/dist/out2.js`), { overwrite: false }),
                    FileSystemProviderErrorCode.FileNotFound, 'move into A\'s ignored dist');
                assert.deepStrictEqual(snapshot(base), before);
                await rita.provider.rename(uri(`${b}/dist`), uri(`${a}/dist-from-B`), { overwrite: false });
                assert.strictEqual(fs.readFileSync(path.join(rootA, 'dist-from-B', 'out.js'), 'utf8'), 'built B\n');
            });

            it('a read-only guest reads both roots and is refused every change in both', async () => {
                const olaf = await fixture.join('Olaf RO', 'readonly');
                const before = snapshot(base);
                assert.strictEqual(text(await olaf.provider.readFile(uri(`${a}/src/index.ts`))), 'export const root = \'A\';\n');
                assert.strictEqual(text(await olaf.provider.readFile(uri(`${b}/src/index.ts`))), 'export const root = \'B\';\n');
                const denied = FileSystemProviderErrorCode.NoPermissions;
                for (const [name, other] of [[a, b], [b, a]]) {
                    await refusedWith(olaf.provider.writeFile(uri(`${name}/src/index.ts`), Buffer.from('pwned'), { create: true, overwrite: true }), denied, `write ${name}`);
                    await refusedWith(olaf.provider.writeFile(uri(`${name}/new.txt`), Buffer.alloc(3 * 1024 * 1024), { create: true, overwrite: false }), denied, `upload ${name}`);
                    await refusedWith(olaf.provider.mkdir(uri(`${name}/new`)), denied, `mkdir ${name}`);
                    await refusedWith(olaf.provider.delete(uri(`${name}/README.md`), { recursive: false, useTrash: false }), denied, `delete ${name}`);
                    await refusedWith(olaf.provider.rename(uri(`${name}/README.md`), uri(`${name}/R.md`), { overwrite: false }), denied, `rename ${name}`);
                    await refusedWith(olaf.provider.rename(uri(`${name}/src`), uri(`${other}/src-moved`), { overwrite: false }), denied, `move ${name} → ${other}`);
                    await refusedWith(olaf.provider.copy(uri(`${name}/src`), uri(`${other}/src-copied`), { overwrite: false }), denied, `copy ${name} → ${other}`);
                }
                // The provider's read-only view is not what protects the files: hand-made requests are refused too.
                for (const name of [a, b]) {
                    await rawRefused(() => olaf.session.sendRequest(FsMessages.WriteFile, { path: `${name}/src/index.ts`, data: Buffer.from('x'), create: true, overwrite: true }),
                        ['permission-denied'], `raw write ${name}`);
                    await rawRefused(() => olaf.session.sendRequest(FsMessages.Rename, { from: `${name}/README.md`, to: `${name === a ? b : a}/README.md`, overwrite: true }),
                        ['permission-denied'], `raw move ${name}`);
                }
                assert.deepStrictEqual(snapshot(base), before);
                assert.ok(olaf.notified.some(message => /read-only access/.test(message)), olaf.notified.join('\n'));
            });
        });
    }

    describe('a root inside another root (mono, mono/packages/api)', () => {
        let base: string;
        let mono: string;
        let api: string;

        beforeEach(async () => {
            base = fixture.tempFolder('collab-fs-multi-root-');
            mono = path.join(base, 'mono');
            api = path.join(mono, 'packages', 'api');
            write(path.join(api, 'src', 'server.ts'), 'serve();\n');
            write(path.join(api, 'secrets', 'token.txt'), 'mono ignores me\n');
            write(path.join(api, 'local', 'notes.txt'), 'api excludes me\n');
            write(path.join(mono, 'shared', 'util.ts'), 'util();\n');
            // The outer root ignores the inner root's secrets/; a pattern relative to a root excludes local/ in the inner one.
            write(path.join(mono, '.gitignore'), 'packages/api/secrets/\n');
            fs.symlinkSync('../../shared', path.join(api, 'shared'));
            const roots = await fixture.shareFolders([mono, api], { exclude: [...DEFAULT_EXCLUDED_FILES, 'local/**'], excludeGitIgnored: true });
            assert.deepStrictEqual(roots.map(root => root.name), ['mono', 'api']);
        });

        it('shows the inner root\'s files through both roots', async () => {
            const rita = await fixture.join('Rita RW', 'readwrite');
            assert.strictEqual(text(await rita.provider.readFile(uri('api/src/server.ts'))), 'serve();\n');
            assert.strictEqual(text(await rita.provider.readFile(uri('mono/packages/api/src/server.ts'))), 'serve();\n');
            await rita.provider.writeFile(uri('api/src/server.ts'), Buffer.from('serve(2);\n'), { create: false, overwrite: true });
            assert.strictEqual(text(await rita.provider.readFile(uri('mono/packages/api/src/server.ts'))), 'serve(2);\n');
            // The inner root's link to the outer root's folder leads out of the inner root.
            await refusedWith(rita.provider.readFile(uri('api/shared/util.ts')), FileSystemProviderErrorCode.NoPermissions, 'api/shared');
        });

        it('what one root hides, the other root does not reveal', async () => {
            const rita = await fixture.join('Rita RW', 'readwrite');
            const before = snapshot(base);
            const hidden = ['mono/packages/api/secrets/token.txt', 'api/secrets/token.txt', 'api/local/notes.txt', 'mono/packages/api/local/notes.txt'];
            for (const file of hidden) {
                await refusedWith(rita.provider.readFile(uri(file)), FileSystemProviderErrorCode.FileNotFound, `read ${file}`);
                await refusedWith(rita.provider.stat(uri(file)), FileSystemProviderErrorCode.FileNotFound, `stat ${file}`);
                await refusedWith(rita.provider.writeFile(uri(file), Buffer.from('x'), { create: true, overwrite: true }), FileSystemProviderErrorCode.FileNotFound, `write ${file}`);
                await refusedWith(rita.provider.writeFile(uri(`${path.posix.dirname(file)}/new.txt`), Buffer.from('x'), { create: true, overwrite: true }),
                    FileSystemProviderErrorCode.FileNotFound, `create beside ${file}`);
                await refusedWith(rita.provider.readdir(uri(path.posix.dirname(file))), FileSystemProviderErrorCode.FileNotFound, `readdir beside ${file}`);
            }
            assert.deepStrictEqual((await rita.provider.readdir(uri('api'))).map(([name]) => name).sort(), ['src']);
            // Through the outer root the inner root's link stays inside the root it is in.
            assert.deepStrictEqual((await rita.provider.readdir(uri('mono/packages/api'))).map(([name]) => name).sort(), ['shared', 'src']);
            await refusedWith(rita.provider.delete(uri('mono/packages/api/local'), { recursive: true, useTrash: false }), FileSystemProviderErrorCode.FileNotFound,
                'delete mono/packages/api/local');
            await refusedWith(rita.provider.rename(uri('mono/packages/api/local'), uri('mono/local'), { overwrite: false }), FileSystemProviderErrorCode.FileNotFound,
                'move mono/packages/api/local');
            // A folder holding files only the inner root hides is neither copied, moved nor deleted through the outer root.
            fs.rmSync(path.join(api, 'secrets'), { recursive: true });
            const withoutSecrets = snapshot(base);
            await refusedWith(rita.provider.copy(uri('mono/packages'), uri('mono/copied'), { overwrite: false }), FileSystemProviderErrorCode.NoPermissions, 'copy mono/packages');
            await refusedWith(rita.provider.rename(uri('mono/packages'), uri('mono/moved'), { overwrite: false }), FileSystemProviderErrorCode.NoPermissions, 'move mono/packages');
            await refusedWith(rita.provider.delete(uri('mono/packages'), { recursive: true, useTrash: false }), FileSystemProviderErrorCode.NoPermissions, 'delete mono/packages');
            assert.deepStrictEqual(snapshot(base), withoutSecrets);
            assert.ok(before.length > withoutSecrets.length);
        });

        it('announces a change of the inner root\'s file under both roots, and of a hidden one under neither', async () => {
            const olaf = await fixture.join('Olaf RO', 'readonly');
            const roots = nameRoots([mono, api].map(folder => FileUri.create(folder).toString()));
            const server = workspacePathsOfHostUri(roots, FileUri.create(path.join(api, 'src', 'server.ts')));
            assert.deepStrictEqual(server, ['mono/packages/api/src/server.ts', 'api/src/server.ts']);
            assert.deepStrictEqual(workspacePathsOfHostUri(roots, FileUri.create(path.join(mono, 'shared', 'util.ts'))), ['mono/shared/util.ts']);
            assert.deepStrictEqual(workspacePathsOfHostUri(roots, FileUri.create(api)), ['mono/packages/api', 'api']);
            assert.deepStrictEqual(workspacePathsOfHostUri(roots, FileUri.create(path.join(base, 'mono-other', 'a.ts'))), []);
            // What the host's frontend announces: the visible ones of those paths.
            const secret = [
                ...workspacePathsOfHostUri(roots, FileUri.create(path.join(api, 'secrets', 'token.txt'))),
                ...workspacePathsOfHostUri(roots, FileUri.create(path.join(api, 'local', 'notes.txt')))
            ];
            assert.strictEqual(secret.length, 4);
            assert.deepStrictEqual(await fixture.hostFileSystem.filterVisible([...server, ...secret]), server);
            await fixture.host.sendBroadcast(FsMessages.DidChange, { changes: server.map(changed => ({ type: 'updated' as const, path: changed })) });
            await until(() => olaf.changes.length > 0, 'Olaf hears of the change');
            assert.deepStrictEqual(olaf.changes.flat().map(change => change.resource.toString()),
                ['collab:/mono/packages/api/src/server.ts', 'collab:/api/src/server.ts']);
        });
    });

    describe('roots on different file systems', () => {
        it('a guest moves a file and a folder from one root to the other', async function (): Promise<void> {
            const shm = '/dev/shm';
            if (!fs.existsSync(shm) || fs.statSync(shm).dev === fs.statSync(os.tmpdir()).dev) {
                this.skip();
            }
            const rootA = path.join(fixture.tempFolder('collab-fs-multi-root-'), 'app');
            const rootB = path.join(fixture.tempFolder('collab-fs-multi-root-', shm), 'app');
            write(path.join(rootA, 'src', 'index.ts'), 'A\n');
            write(path.join(rootB, 'lib', 'util.ts'), 'B\n');
            write(path.join(rootB, 'lib', 'nested', 'deep.ts'), 'B deep\n');
            await fixture.shareFolders([rootA, rootB]);
            const rita = await fixture.join('Rita RW', 'readwrite');
            await rita.provider.rename(uri('app/src/index.ts'), uri('app-2/index.ts'), { overwrite: false });
            await rita.provider.rename(uri('app-2/lib'), uri('app/lib'), { overwrite: false });
            assert.strictEqual(fs.readFileSync(path.join(rootB, 'index.ts'), 'utf8'), 'A\n');
            assert.ok(!fs.existsSync(path.join(rootA, 'src', 'index.ts')));
            assert.strictEqual(fs.readFileSync(path.join(rootA, 'lib', 'nested', 'deep.ts'), 'utf8'), 'B deep\n');
            assert.ok(!fs.existsSync(path.join(rootB, 'lib')));
            // An existing target is replaced only with overwrite.
            write(path.join(rootA, 'index.ts'), 'old\n');
            await refusedWith(rita.provider.rename(uri('app-2/index.ts'), uri('app/index.ts'), { overwrite: false }), FileSystemProviderErrorCode.FileExists, 'move onto a file');
            await rita.provider.rename(uri('app-2/index.ts'), uri('app/index.ts'), { overwrite: true });
            assert.strictEqual(fs.readFileSync(path.join(rootA, 'index.ts'), 'utf8'), 'A\n');
            assert.ok(!fs.existsSync(path.join(rootB, 'index.ts')));
            assert.deepStrictEqual(rita.notified, []);
        });
    });

    describe('root names', () => {
        it('are distinct whatever the folders are called', () => {
            const names = (...uris: string[]) => nameRoots(uris).map(root => root.name);
            assert.deepStrictEqual(names('file:///x/app', 'file:///y/lib'), ['app', 'lib']);
            assert.deepStrictEqual(names('file:///one/app', 'file:///two/app', 'file:///three/app/'), ['app', 'app-2', 'app-3']);
            // A folder already called like a suffixed name does not take another root's name.
            assert.deepStrictEqual(names('file:///a/app', 'file:///b/app-2', 'file:///c/app'), ['app', 'app-2', 'app-3']);
            assert.deepStrictEqual(names('file:///a/app-2', 'file:///b/app', 'file:///c/app'), ['app-2', 'app', 'app-3']);
            // Names a case-insensitive host or guest would take for one (App, app) stay apart.
            const mixed = names('file:///a/App', 'file:///b/app');
            assert.strictEqual(new Set(mixed.map(name => name.toLowerCase())).size, 2, `${mixed}`);
            // Characters that are not URL-safe, an encoded space, the file system root.
            assert.deepStrictEqual(names('file:///a/my%20app', 'file:///b/my%3Fapp', 'file:///'), ['my app', 'my_app', 'root']);
            // Every name is a valid root of a workspace path and fits the roots message.
            const long = 'x'.repeat(255);
            for (const name of names(`file:///a/${long}`, `file:///b/${long}`, 'file:///c/..', 'file:///d/.')) {
                assert.ok(name.length >= 1 && name.length <= 255, `${name.length} characters`);
                assert.ok(!['.', '..'].includes(name) && !name.includes('/'), name);
            }
        });
    });
});
