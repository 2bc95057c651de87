import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createHash, randomBytes } from 'crypto';
import { FsLimits, FsMessages, FsStat, ReaddirResult, ReadFileResult, WriteBeginResult } from '../../common/fs/fs-messages';
import { DEFAULT_EXCLUDED_FILES, FsCaller, FsResult } from '../../common/fs/host-file-system-protocol';
import { HostFileSystem, UPLOAD_PREFIX } from './host-file-system';

const writer: FsCaller = { peerId: 'guest-rw', permission: 'readwrite' };
const reader: FsCaller = { peerId: 'guest-ro', permission: 'readonly' };

function sha256(data: Uint8Array): string {
    return createHash('sha256').update(data).digest('hex');
}

/** Every file below `dir` with its content hash (links as their target text), to prove nothing changed. */
function snapshot(dir: string): string[] {
    const out: string[] = [];
    const walk = (current: string, prefix: string) => {
        for (const name of fs.readdirSync(current).sort()) {
            const full = path.join(current, name);
            const rel = prefix + name;
            const stats = fs.lstatSync(full);
            if (stats.isSymbolicLink()) {
                out.push(`${rel} -> ${fs.readlinkSync(full)}`);
            } else if (stats.isDirectory()) {
                out.push(`${rel}/`);
                walk(full, rel + '/');
            } else {
                out.push(`${rel} ${sha256(fs.readFileSync(full))}`);
            }
        }
    };
    walk(dir, '');
    return out;
}

describe('HostFileSystem', function (): void {
    this.timeout(60_000);
    let base: string;
    let root: string;
    let outside: string;
    let hostFs: HostFileSystem;

    async function call<T>(method: string, caller: FsCaller, params: unknown): Promise<FsResult<T>> {
        return await hostFs.handle(method, caller, params) as FsResult<T>;
    }
    async function ok<T>(method: string, caller: FsCaller, params: unknown): Promise<T> {
        const result = await call<T>(method, caller, params);
        assert.ok(result.ok, `${method} ${JSON.stringify(params, (_, v) => v instanceof Uint8Array ? `<${v.byteLength} bytes>` : v)}`
            + ` failed: ${!result.ok ? JSON.stringify(result.error) : ''}`);
        return result.value;
    }
    async function refused(method: string, caller: FsCaller, params: unknown, codes: string | string[]): Promise<string> {
        const result = await call(method, caller, params);
        assert.ok(!result.ok, `${method} ${JSON.stringify(params, (_, v) => v instanceof Uint8Array ? '<bytes>' : v)} should be refused`);
        const expected = Array.isArray(codes) ? codes : [codes];
        assert.ok(expected.includes(result.error.code), `${method}: expected ${expected.join('|')}, got ${result.error.code}: ${result.error.message}`);
        assert.ok(!result.error.message.includes(base), `error message leaks a host path: ${result.error.message}`);
        return result.error.message;
    }
    async function readWhole(caller: FsCaller, workspacePath: string): Promise<Buffer> {
        const chunks: Uint8Array[] = [];
        let offset = 0;
        let size = Infinity;
        while (offset < size) {
            const chunk = await ok<ReadFileResult>(FsMessages.ReadFile.method, caller, { path: workspacePath, offset, length: FsLimits.chunkBytes });
            size = chunk.size;
            if (chunk.data.byteLength === 0) {
                break;
            }
            chunks.push(chunk.data);
            offset += chunk.data.byteLength;
        }
        return Buffer.concat(chunks);
    }
    async function writeWhole(caller: FsCaller, workspacePath: string, data: Uint8Array): Promise<FsStat> {
        const { uploadId } = await ok<WriteBeginResult>(FsMessages.WriteBegin.method, caller, { path: workspacePath, size: data.byteLength, create: true, overwrite: true });
        for (let offset = 0; offset < data.byteLength; offset += FsLimits.chunkBytes) {
            await ok(FsMessages.WriteChunk.method, caller, { uploadId, offset, data: data.subarray(offset, offset + FsLimits.chunkBytes) });
        }
        return ok<FsStat>(FsMessages.WriteCommit.method, caller, { uploadId });
    }
    function names(result: ReaddirResult): string[] {
        return result.entries.map(entry => entry.name).sort();
    }

    beforeEach(() => {
        base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'collab-hostfs-')));
        root = path.join(base, 'proj');
        outside = path.join(base, 'outside');
        fs.mkdirSync(path.join(root, 'sub', 'deep'), { recursive: true });
        fs.mkdirSync(path.join(root, 'build'));
        fs.mkdirSync(path.join(root, 'clean'));
        fs.mkdirSync(outside);
        fs.writeFileSync(path.join(root, 'a.txt'), 'alpha');
        fs.writeFileSync(path.join(root, 'sub', 'b.txt'), 'beta');
        fs.writeFileSync(path.join(root, 'sub', 'deep', 'c.txt'), 'gamma');
        fs.writeFileSync(path.join(root, 'clean', 'd.txt'), 'delta');
        fs.writeFileSync(path.join(root, '.env'), 'SECRET=1');
        fs.writeFileSync(path.join(root, 'sub', '.env.local'), 'SECRET=2');
        fs.writeFileSync(path.join(root, 'server.pem'), 'pem');
        fs.writeFileSync(path.join(root, 'id_rsa.pub'), 'ssh-rsa');
        fs.writeFileSync(path.join(root, '.gitignore'), 'build/\n*.log\n');
        fs.writeFileSync(path.join(root, 'build', 'out.js'), 'built');
        fs.writeFileSync(path.join(root, 'debug.log'), 'log');
        fs.writeFileSync(path.join(outside, 'secret.txt'), 'outside secret');
        fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'escape.txt'));
        fs.symlinkSync('../outside', path.join(root, 'linkdir'));
        fs.symlinkSync('a.txt', path.join(root, 'inlink.txt'));
        fs.symlinkSync('.env', path.join(root, 'envlink'));
        fs.symlinkSync('sub', path.join(root, 'sublink'));
        hostFs = new HostFileSystem({
            roots: [{ name: 'proj', path: root }],
            exclude: [...DEFAULT_EXCLUDED_FILES],
            excludeGitIgnored: true
        });
    });

    afterEach(async () => {
        await hostFs.dispose();
        fs.rmSync(base, { recursive: true, force: true });
    });

    describe('path safety', () => {
        it('refuses traversal, absolute paths, backslashes and NUL without touching the disk', async () => {
            for (const bad of ['proj/../outside/secret.txt', '../outside/secret.txt', 'proj/sub/../../outside', '/etc/passwd',
                path.join(outside, 'secret.txt'), 'proj\\..\\outside', 'proj/a.txt\0', 'proj/./a.txt', '', '..']) {
                await refused(FsMessages.Stat.method, writer, { path: bad }, ['bad-request']);
                await refused(FsMessages.ReadFile.method, writer, { path: bad, offset: 0, length: 10 }, ['bad-request']);
                await refused(FsMessages.WriteFile.method, writer, { path: bad, data: Buffer.from('x'), create: true, overwrite: true }, ['bad-request']);
            }
            await refused(FsMessages.Rename.method, writer, { from: 'proj/a.txt', to: 'proj/../outside/a.txt', overwrite: true }, 'bad-request');
            assert.strictEqual(fs.readFileSync(path.join(root, 'a.txt'), 'utf8'), 'alpha');
            assert.deepStrictEqual(fs.readdirSync(outside), ['secret.txt']);
        });

        it('refuses an unknown root', async () => {
            await refused(FsMessages.Stat.method, writer, { path: 'other/a.txt' }, 'not-found');
        });

        it('refuses a symlink that leads out of the root', async () => {
            await refused(FsMessages.Stat.method, writer, { path: 'proj/escape.txt' }, 'forbidden');
            await refused(FsMessages.ReadFile.method, writer, { path: 'proj/escape.txt', offset: 0, length: 100 }, 'forbidden');
            await refused(FsMessages.WriteFile.method, writer, { path: 'proj/escape.txt', data: Buffer.from('pwned'), create: true, overwrite: true }, 'forbidden');
            await refused(FsMessages.Delete.method, writer, { path: 'proj/escape.txt', recursive: false }, 'forbidden');
            assert.strictEqual(fs.readFileSync(path.join(outside, 'secret.txt'), 'utf8'), 'outside secret');
        });

        it('refuses paths through a symlinked parent folder that leads out', async () => {
            await refused(FsMessages.Stat.method, writer, { path: 'proj/linkdir' }, 'forbidden');
            await refused(FsMessages.Readdir.method, writer, { path: 'proj/linkdir' }, 'forbidden');
            await refused(FsMessages.ReadFile.method, writer, { path: 'proj/linkdir/secret.txt', offset: 0, length: 100 }, 'forbidden');
            await refused(FsMessages.WriteFile.method, writer, { path: 'proj/linkdir/new.txt', data: Buffer.from('x'), create: true, overwrite: false }, 'forbidden');
            await refused(FsMessages.WriteBegin.method, writer, { path: 'proj/linkdir/big.bin', size: 10, create: true, overwrite: false }, 'forbidden');
            await refused(FsMessages.Mkdir.method, writer, { path: 'proj/linkdir/newdir' }, 'forbidden');
            await refused(FsMessages.Rename.method, writer, { from: 'proj/a.txt', to: 'proj/linkdir/a.txt', overwrite: true }, 'forbidden');
            await refused(FsMessages.Copy.method, writer, { from: 'proj/a.txt', to: 'proj/linkdir/a.txt', overwrite: true }, 'forbidden');
            assert.deepStrictEqual(fs.readdirSync(outside), ['secret.txt']);
            assert.ok(fs.existsSync(path.join(root, 'a.txt')));
        });

        it('follows symlinks that stay inside the root', async () => {
            assert.strictEqual((await readWhole(reader, 'proj/inlink.txt')).toString(), 'alpha');
            assert.deepStrictEqual(names(await ok(FsMessages.Readdir.method, reader, { path: 'proj/sublink' })), ['b.txt', 'deep']);
            assert.strictEqual((await readWhole(reader, 'proj/sublink/b.txt')).toString(), 'beta');
        });
    });

    describe('exclusions', () => {
        it('hides excluded, git-ignored and escaping entries from listings', async () => {
            const listing = names(await ok(FsMessages.Readdir.method, reader, { path: 'proj' }));
            assert.deepStrictEqual(listing, ['.gitignore', 'a.txt', 'clean', 'inlink.txt', 'sub', 'sublink']);
            assert.deepStrictEqual(names(await ok(FsMessages.Readdir.method, reader, { path: 'proj/sub' })), ['b.txt', 'deep']);
            const entry = (await ok<ReaddirResult>(FsMessages.Readdir.method, reader, { path: 'proj' })).entries.find(e => e.name === 'a.txt')!;
            assert.strictEqual(entry.type, 'file');
            assert.strictEqual(entry.size, 5);
        });

        it('makes excluded files neither stat-able nor readable nor writable', async () => {
            for (const hidden of ['proj/.env', 'proj/sub/.env.local', 'proj/server.pem', 'proj/id_rsa.pub', 'proj/build', 'proj/build/out.js',
                'proj/debug.log', 'proj/envlink', 'proj/sublink/.env.local']) {
                await refused(FsMessages.Stat.method, writer, { path: hidden }, 'not-found');
                await refused(FsMessages.ReadFile.method, writer, { path: hidden, offset: 0, length: 100 }, 'not-found');
                await refused(FsMessages.WriteFile.method, writer, { path: hidden, data: Buffer.from('overwritten'), create: true, overwrite: true }, 'not-found');
                await refused(FsMessages.WriteBegin.method, writer, { path: hidden, size: 1, create: true, overwrite: true }, 'not-found');
                await refused(FsMessages.Delete.method, writer, { path: hidden, recursive: true }, 'not-found');
            }
            await refused(FsMessages.Readdir.method, writer, { path: 'proj/build' }, 'not-found');
            await refused(FsMessages.Rename.method, writer, { from: 'proj/a.txt', to: 'proj/.env', overwrite: true }, 'not-found');
            await refused(FsMessages.Rename.method, writer, { from: 'proj/.env', to: 'proj/visible.txt', overwrite: true }, 'not-found');
            await refused(FsMessages.Copy.method, writer, { from: 'proj/server.pem', to: 'proj/copy.txt', overwrite: true }, 'not-found');
            await refused(FsMessages.WriteFile.method, writer, { path: 'proj/new.key', data: Buffer.from('x'), create: true, overwrite: false }, 'not-found');
            assert.strictEqual(fs.readFileSync(path.join(root, '.env'), 'utf8'), 'SECRET=1');
            assert.strictEqual(fs.readFileSync(path.join(root, 'sub', '.env.local'), 'utf8'), 'SECRET=2');
            assert.ok(!fs.existsSync(path.join(root, 'new.key')));
            assert.ok(!fs.existsSync(path.join(root, 'visible.txt')));
        });

        it('refuses to delete or move a folder that holds hidden files', async () => {
            await refused(FsMessages.Delete.method, writer, { path: 'proj/sub', recursive: true }, 'forbidden');
            await refused(FsMessages.Rename.method, writer, { from: 'proj/sub', to: 'proj/moved', overwrite: false }, 'forbidden');
            await refused(FsMessages.Copy.method, writer, { from: 'proj/sub', to: 'proj/copied', overwrite: false }, 'forbidden');
            assert.strictEqual(fs.readFileSync(path.join(root, 'sub', '.env.local'), 'utf8'), 'SECRET=2');
            assert.ok(!fs.existsSync(path.join(root, 'moved')) && !fs.existsSync(path.join(root, 'copied')));
        });

        it('filters change notifications', async () => {
            assert.deepStrictEqual(await hostFs.filterVisible(['proj/a.txt', 'proj/.env', 'proj/build/x.js', 'proj/gone.txt', 'proj/x.log',
                `proj/${UPLOAD_PREFIX}abc`, 'other/a.txt', '../x', 'proj/sub/deep/c.txt']), ['proj/a.txt', 'proj/gone.txt', 'proj/sub/deep/c.txt']);
        });

        it('shows git-ignored files when not asked to hide them', async () => {
            hostFs.configure({ roots: [{ name: 'proj', path: root }], exclude: [...DEFAULT_EXCLUDED_FILES], excludeGitIgnored: false });
            assert.strictEqual((await readWhole(reader, 'proj/build/out.js')).toString(), 'built');
            await refused(FsMessages.Stat.method, reader, { path: 'proj/.env' }, 'not-found');
        });
    });

    describe('read-only callers', () => {
        it('are refused every mutation and the disk stays unchanged', async () => {
            const before = snapshot(base);
            await refused(FsMessages.WriteFile.method, reader, { path: 'proj/a.txt', data: Buffer.from('changed'), create: true, overwrite: true }, 'permission-denied');
            await refused(FsMessages.WriteFile.method, reader, { path: 'proj/new.txt', data: Buffer.from('new'), create: true, overwrite: false }, 'permission-denied');
            await refused(FsMessages.WriteBegin.method, reader, { path: 'proj/big.bin', size: 10, create: true, overwrite: true }, 'permission-denied');
            await refused(FsMessages.Mkdir.method, reader, { path: 'proj/newdir' }, 'permission-denied');
            await refused(FsMessages.Delete.method, reader, { path: 'proj/a.txt', recursive: false }, 'permission-denied');
            await refused(FsMessages.Delete.method, reader, { path: 'proj/clean', recursive: true }, 'permission-denied');
            await refused(FsMessages.Rename.method, reader, { from: 'proj/a.txt', to: 'proj/renamed.txt', overwrite: false }, 'permission-denied');
            await refused(FsMessages.Copy.method, reader, { from: 'proj/a.txt', to: 'proj/copy.txt', overwrite: false }, 'permission-denied');
            assert.deepStrictEqual(snapshot(base), before);
            // ...but may read.
            assert.strictEqual((await readWhole(reader, 'proj/a.txt')).toString(), 'alpha');
            assert.strictEqual((await ok<FsStat>(FsMessages.Stat.method, reader, { path: 'proj/sub' })).type, 'directory');
        });

        it('cannot finish an upload started before the permission was lowered', async () => {
            const { uploadId } = await ok<WriteBeginResult>(FsMessages.WriteBegin.method, writer, { path: 'proj/a.txt', size: 3, create: true, overwrite: true });
            const lowered: FsCaller = { ...writer, permission: 'readonly' };
            await refused(FsMessages.WriteChunk.method, lowered, { uploadId, offset: 0, data: Buffer.from('abc') }, 'permission-denied');
            await refused(FsMessages.WriteCommit.method, writer, { uploadId }, 'not-found');
            assert.strictEqual(fs.readFileSync(path.join(root, 'a.txt'), 'utf8'), 'alpha');
            assert.ok(!fs.readdirSync(root).some(name => name.startsWith(UPLOAD_PREFIX)));
        });
    });

    describe('read-write callers', () => {
        it('write, create, mkdir, rename, copy and delete on disk', async () => {
            await ok(FsMessages.WriteFile.method, writer, { path: 'proj/a.txt', data: Buffer.from('changed'), create: false, overwrite: true });
            assert.strictEqual(fs.readFileSync(path.join(root, 'a.txt'), 'utf8'), 'changed');
            const stat = await ok<FsStat>(FsMessages.WriteFile.method, writer, { path: 'proj/sub/new.txt', data: new Uint8Array([104, 105]), create: true, overwrite: false });
            assert.deepStrictEqual({ type: stat.type, size: stat.size }, { type: 'file', size: 2 });
            assert.strictEqual(fs.readFileSync(path.join(root, 'sub', 'new.txt'), 'utf8'), 'hi');
            await refused(FsMessages.WriteFile.method, writer, { path: 'proj/sub/new.txt', data: Buffer.from('x'), create: true, overwrite: false }, 'file-exists');
            await refused(FsMessages.WriteFile.method, writer, { path: 'proj/missing.txt', data: Buffer.from('x'), create: false, overwrite: true }, 'not-found');
            await refused(FsMessages.WriteFile.method, writer, { path: 'proj/nodir/x.txt', data: Buffer.from('x'), create: true, overwrite: true }, 'not-found');
            await refused(FsMessages.WriteFile.method, writer, { path: 'proj/sub', data: Buffer.from('x'), create: true, overwrite: true }, 'is-a-directory');

            // Writing through an in-root link replaces the target and keeps the link.
            await ok(FsMessages.WriteFile.method, writer, { path: 'proj/inlink.txt', data: Buffer.from('via link'), create: true, overwrite: true });
            assert.strictEqual(fs.readFileSync(path.join(root, 'a.txt'), 'utf8'), 'via link');
            assert.ok(fs.lstatSync(path.join(root, 'inlink.txt')).isSymbolicLink());

            await ok(FsMessages.Mkdir.method, writer, { path: 'proj/newdir' });
            assert.ok(fs.statSync(path.join(root, 'newdir')).isDirectory());
            await refused(FsMessages.Mkdir.method, writer, { path: 'proj/newdir' }, 'file-exists');

            await ok(FsMessages.Rename.method, writer, { from: 'proj/sub/new.txt', to: 'proj/newdir/moved.txt', overwrite: false });
            assert.ok(!fs.existsSync(path.join(root, 'sub', 'new.txt')));
            assert.strictEqual(fs.readFileSync(path.join(root, 'newdir', 'moved.txt'), 'utf8'), 'hi');
            await refused(FsMessages.Rename.method, writer, { from: 'proj/newdir/moved.txt', to: 'proj/sub/b.txt', overwrite: false }, 'file-exists');

            await ok(FsMessages.Copy.method, writer, { from: 'proj/clean', to: 'proj/clean2', overwrite: false });
            assert.strictEqual(fs.readFileSync(path.join(root, 'clean2', 'd.txt'), 'utf8'), 'delta');
            await refused(FsMessages.Copy.method, writer, { from: 'proj/clean', to: 'proj/clean/inner', overwrite: false }, 'bad-request');
            await refused(FsMessages.Rename.method, writer, { from: 'proj/clean', to: 'proj/clean/inner', overwrite: false }, 'bad-request');

            await refused(FsMessages.Delete.method, writer, { path: 'proj/clean2', recursive: false }, 'not-empty');
            await ok(FsMessages.Delete.method, writer, { path: 'proj/clean2', recursive: true });
            assert.ok(!fs.existsSync(path.join(root, 'clean2')));
            await ok(FsMessages.Delete.method, writer, { path: 'proj/sublink', recursive: true });
            assert.ok(!fs.existsSync(path.join(root, 'sublink')) && fs.existsSync(path.join(root, 'sub', 'b.txt')), 'deleting a link keeps its target');
            await refused(FsMessages.Delete.method, writer, { path: 'proj', recursive: true }, 'forbidden');
            await refused(FsMessages.Rename.method, writer, { from: 'proj', to: 'proj/x', overwrite: true }, 'forbidden');
            assert.ok(!fs.readdirSync(root).some(name => name.startsWith(UPLOAD_PREFIX)));
        });

        it('round-trips a 20 MB file in chunks byte for byte', async () => {
            const original = randomBytes(20 * 1024 * 1024 + 12345);
            fs.writeFileSync(path.join(root, 'big-in.bin'), original);
            const read = await readWhole(reader, 'proj/big-in.bin');
            assert.strictEqual(read.byteLength, original.byteLength);
            assert.strictEqual(sha256(read), sha256(original));

            const upload = randomBytes(20 * 1024 * 1024 + 777);
            const stat = await writeWhole(writer, 'proj/sub/big-out.bin', upload);
            assert.strictEqual(stat.size, upload.byteLength);
            assert.strictEqual(sha256(fs.readFileSync(path.join(root, 'sub', 'big-out.bin'))), sha256(upload));
            assert.strictEqual(sha256(await readWhole(reader, 'proj/sub/big-out.bin')), sha256(upload));
            assert.ok(!fs.readdirSync(path.join(root, 'sub')).some(name => name.startsWith(UPLOAD_PREFIX)));
        });

        it('keeps uploads to their owner, in order and within their announced size', async () => {
            const { uploadId } = await ok<WriteBeginResult>(FsMessages.WriteBegin.method, writer, { path: 'proj/up.txt', size: 4, create: true, overwrite: false });
            assert.ok(!fs.existsSync(path.join(root, 'up.txt')), 'nothing appears before commit');
            const other: FsCaller = { peerId: 'someone-else', permission: 'readwrite' };
            await refused(FsMessages.WriteChunk.method, other, { uploadId, offset: 0, data: Buffer.from('evil') }, 'not-found');
            await refused(FsMessages.WriteCommit.method, other, { uploadId }, 'not-found');
            await ok(FsMessages.WriteChunk.method, writer, { uploadId, offset: 0, data: Buffer.from('ab') });
            await refused(FsMessages.WriteChunk.method, writer, { uploadId, offset: 0, data: Buffer.from('ab') }, 'bad-request');
            await refused(FsMessages.WriteCommit.method, writer, { uploadId }, 'not-found');

            const second = await ok<WriteBeginResult>(FsMessages.WriteBegin.method, writer, { path: 'proj/up.txt', size: 2, create: true, overwrite: false });
            await refused(FsMessages.WriteChunk.method, writer, { uploadId: second.uploadId, offset: 0, data: Buffer.from('abc') }, 'too-large');

            const third = await ok<WriteBeginResult>(FsMessages.WriteBegin.method, writer, { path: 'proj/up.txt', size: 2, create: true, overwrite: false });
            await ok(FsMessages.WriteChunk.method, writer, { uploadId: third.uploadId, offset: 0, data: Buffer.from('a') });
            await refused(FsMessages.WriteCommit.method, writer, { uploadId: third.uploadId }, 'bad-request');

            const fourth = await ok<WriteBeginResult>(FsMessages.WriteBegin.method, writer, { path: 'proj/up.txt', size: 2, create: true, overwrite: false });
            await hostFs.dropPeer(writer.peerId);
            await refused(FsMessages.WriteChunk.method, writer, { uploadId: fourth.uploadId, offset: 0, data: Buffer.from('ab') }, 'not-found');
            assert.ok(!fs.existsSync(path.join(root, 'up.txt')));
            assert.ok(!fs.readdirSync(root).some(name => name.startsWith(UPLOAD_PREFIX)), 'temporary files are removed');
        });
    });

    describe('malformed requests', () => {
        it('are rejected as bad requests without throwing', async () => {
            const cases: [string, unknown][] = [
                [FsMessages.Stat.method, undefined],
                [FsMessages.Stat.method, null],
                [FsMessages.Stat.method, 'proj/a.txt'],
                [FsMessages.Stat.method, { path: 5 }],
                [FsMessages.Stat.method, { path: 'proj/a.txt', extra: true }],
                [FsMessages.Stat.method, { path: 'x'.repeat(FsLimits.maxPathLength + 1) }],
                [FsMessages.Readdir.method, { path: 'proj', cursor: -1 }],
                [FsMessages.ReadFile.method, { path: 'proj/a.txt', offset: 0, length: FsLimits.chunkBytes + 1 }],
                [FsMessages.ReadFile.method, { path: 'proj/a.txt', offset: -1, length: 10 }],
                [FsMessages.ReadFile.method, { path: 'proj/a.txt', offset: 0.5, length: 10 }],
                [FsMessages.ReadFile.method, { path: 'proj/a.txt', offset: 0 }],
                [FsMessages.WriteFile.method, { path: 'proj/a.txt', data: 'not bytes', create: true, overwrite: true }],
                [FsMessages.WriteFile.method, { path: 'proj/a.txt', data: new Uint8Array(FsLimits.chunkBytes + 1), create: true, overwrite: true }],
                [FsMessages.WriteBegin.method, { path: 'proj/a.txt', size: FsLimits.maxUploadBytes + 1, create: true, overwrite: true }],
                [FsMessages.WriteChunk.method, { uploadId: '../../etc', offset: 0, data: new Uint8Array(1) }],
                [FsMessages.Delete.method, { path: 'proj/a.txt' }],
                [FsMessages.Rename.method, { from: 'proj/a.txt', to: { toString: () => 'proj/b.txt' }, overwrite: true }],
                [FsMessages.Copy.method, [1, 2, 3]]
            ];
            const before = snapshot(base);
            for (const [method, params] of cases) {
                const result = await hostFs.handle(method, writer, params);
                assert.ok(!result.ok && result.error.code === 'bad-request', `${method} ${String(JSON.stringify(params))?.slice(0, 80)}: ${JSON.stringify(result).slice(0, 200)}`);
            }
            const badCaller = await hostFs.handle(FsMessages.Stat.method, { peerId: 'x', permission: 'admin' } as unknown as FsCaller, { path: 'proj/a.txt' });
            assert.ok(!badCaller.ok && badCaller.error.code === 'bad-request');
            const noCaller = await hostFs.handle(FsMessages.Delete.method, undefined as unknown as FsCaller, { path: 'proj/a.txt', recursive: false });
            assert.ok(!noCaller.ok && noCaller.error.code === 'bad-request');
            const unknown = await hostFs.handle('fs/chmod', writer, { path: 'proj/a.txt' });
            assert.ok(!unknown.ok && unknown.error.code === 'unknown-method');
            assert.deepStrictEqual(snapshot(base), before);
        });
    });

    it('lists roots and pages large folders', async () => {
        assert.deepStrictEqual(await ok(FsMessages.Roots.method, reader, {}), { roots: [{ name: 'proj' }], caseSensitive: process.platform === 'linux' });
        const many = path.join(root, 'many');
        fs.mkdirSync(many);
        const count = FsLimits.readdirPageSize * 2 + 5;
        for (let i = 0; i < count; i++) {
            fs.writeFileSync(path.join(many, `f${i}.txt`), '');
        }
        const seen: string[] = [];
        let cursor: number | undefined = 0;
        for (let pages = 0; cursor !== undefined && pages < 10; pages++) {
            const page: ReaddirResult = await ok<ReaddirResult>(FsMessages.Readdir.method, reader, { path: 'proj/many', cursor });
            seen.push(...page.entries.map(entry => entry.name));
            cursor = page.next;
        }
        assert.strictEqual(cursor, undefined);
        assert.strictEqual(new Set(seen).size, count);
    });
});
