/**
 * Guests search the host: a real coordination server, the host's real search handlers backed by the backend's
 * HostSearchServiceImpl (ripgrep) on real temp folders, guests speaking the protocol through SearchGuest.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { ChildProcess } from 'child_process';
import { FileUri } from '@theia/core/lib/common/file-uri';
import { CollaborationError, Permission } from '@theia-collab/protocol';
import { until } from '@theia-collab/test-kit';
import { nameRoots } from '../../common/collaboration-uri';
import { DEFAULT_EXCLUDED_FILES } from '../../common/fs/host-file-system-protocol';
import { registerSearchHandlers } from '../../common/search/search-host-handlers';
import { SearchGuest } from '../../common/search/search-guest';
import { FileMatches, SearchMessages, TextSearchParams } from '../../common/search/search-messages';
import { rejection, useFsTestSession } from '../fs/fs-session-fixture';
import { HostSearchServiceImpl } from './host-search-service';

const NEEDLE = 'needle-7f3a';
const SECRET = 'SECRET-ENV-91b2';
const OUTSIDE = 'OUTSIDE-5c0d';

function write(file: string, content: string): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
}

describe('guests search the host', function (): void {
    this.timeout(60_000);
    const fixture = useFsTestSession();
    let project: string;
    let outside: string;
    let search: HostSearchServiceImpl;

    /** A project with a secret, an excluded folder and links leading out of the root; shared with a search backend. */
    async function share(extraExclude: string[] = [], excludeGitIgnored = false): Promise<string> {
        outside = fixture.tempFolder('collab-search-outside-');
        write(path.join(outside, 'outside-needle.txt'), `${NEEDLE} ${OUTSIDE}\n`);
        project = path.join(fixture.tempFolder('collab-search-'), 'project');
        write(path.join(project, 'src', 'main.ts'), `const a = 1;\n// ${NEEDLE} here\nexport const b = '${NEEDLE}';\n`);
        write(path.join(project, 'src', 'util', 'helper-needle.ts'), `export function helper() { return 'Needle-7F3A'; }\n`);
        write(path.join(project, 'README.md'), `# readme\nfoo bar foo\n`);
        write(path.join(project, '.env'), `TOKEN=${SECRET} ${NEEDLE}\n`);
        write(path.join(project, 'config', '.env.local'), `TOKEN=${SECRET} ${NEEDLE}\n`);
        write(path.join(project, 'private', 'needle-private.txt'), `${NEEDLE} private\n`);
        fs.symlinkSync(outside, path.join(project, 'linked-out'));
        fs.symlinkSync(path.join(outside, 'outside-needle.txt'), path.join(project, 'needle-link.txt'));
        fs.symlinkSync(path.join(project, '.env'), path.join(project, 'env-needle-link.txt'));
        const roots = nameRoots([FileUri.create(project).toString()]);
        search = new HostSearchServiceImpl();
        fixture.afterTest(() => search.reset());
        write(path.join(project, '.gitignore'), 'build/\nignored-needle.txt\n');
        write(path.join(project, 'build', 'out-needle.js'), `${NEEDLE} built\n`);
        write(path.join(project, 'ignored-needle.txt'), `${NEEDLE} ignored\n`);
        await search.configure({ roots, exclude: [...DEFAULT_EXCLUDED_FILES, '**/private', ...extraExclude], excludeGitIgnored });
        await fixture.shareFolders([project], { exclude: [...DEFAULT_EXCLUDED_FILES, '**/private', ...extraExclude], excludeGitIgnored });
        for (const disposable of registerSearchHandlers(fixture.host, search)) {
            fixture.track(disposable);
        }
        return roots[0].name;
    }

    async function guest(permission: Permission = 'readonly'): Promise<SearchGuest> {
        const { session } = await fixture.join(permission === 'readonly' ? 'Reading Rui' : 'Writing Wen', permission);
        return fixture.track(new SearchGuest(session));
    }

    async function textSearch(client: SearchGuest, params: Omit<TextSearchParams, 'searchId'>): Promise<{ files: FileMatches[]; batches: number; matches: number }> {
        const files: FileMatches[] = [];
        let batches = 0;
        const result = await client.text(params, batch => {
            batches++;
            files.push(...batch);
        });
        assert.strictEqual(batches, result.batches, 'every batch the host sent arrived');
        return { files, batches, matches: result.matches };
    }

    it('finds host files by name, never excluded files, files outside the root or links leading out', async () => {
        const root = await share();
        const client = await guest();
        const all = await client.files({ pattern: '' });
        assert.deepStrictEqual([...all.paths].sort(), [`${root}/.gitignore`, `${root}/README.md`, `${root}/src/main.ts`, `${root}/src/util/helper-needle.ts`]);
        assert.deepStrictEqual([...(await client.files({ pattern: 'needle', useGitIgnore: false })).paths].sort(),
            [`${root}/build/out-needle.js`, `${root}/ignored-needle.txt`, `${root}/src/util/helper-needle.ts`], 'the host shares what git ignores');
        const needle = await client.files({ pattern: 'needle' });
        assert.deepStrictEqual(needle.paths, [`${root}/src/util/helper-needle.ts`]);
        // fuzzy: 'smain' matches src/main.ts
        assert.deepStrictEqual((await client.files({ pattern: 'srcmain' })).paths, [`${root}/src/main.ts`]);
        assert.deepStrictEqual((await client.files({ pattern: 'srcmain', fuzzy: false })).paths, []);
        for (const pattern of ['.env', 'env', 'private', 'outside', 'linked']) {
            assert.deepStrictEqual((await client.files({ pattern })).paths, [], `nothing for '${pattern}'`);
        }
        assert.deepStrictEqual((await client.files({ pattern: '', include: ['*.md'] })).paths, [`${root}/README.md`]);
        assert.deepStrictEqual([...(await client.files({ pattern: '', exclude: ['src/util', '.gitignore'] })).paths].sort(), [`${root}/README.md`, `${root}/src/main.ts`]);
        const limited = await client.files({ pattern: '', limit: 1 });
        assert.strictEqual(limited.paths.length, 1);
        assert.strictEqual(limited.limitHit, true);
    });

    it('searches text on the host: plain, case, whole word, regex and globs; never excluded or linked-out files', async () => {
        const root = await share();
        const client = await guest();
        const plain = await textSearch(client, { pattern: NEEDLE });
        const paths = plain.files.map(file => file.path);
        assert.deepStrictEqual([...new Set(paths)].sort(), [`${root}/src/main.ts`, `${root}/src/util/helper-needle.ts`]);
        const text = JSON.stringify(plain.files);
        for (const leaked of [SECRET, OUTSIDE, 'private']) {
            assert.ok(!text.includes(leaked), `no '${leaked}' in ${text}`);
        }
        const main = plain.files.filter(file => file.path === `${root}/src/main.ts`).flatMap(file => file.matches);
        assert.deepStrictEqual(main.map(match => [match.line, match.character, match.length]), [[2, 4, NEEDLE.length], [3, 19, NEEDLE.length]]);
        assert.strictEqual(main[0].lineText, `// ${NEEDLE} here`);

        const caseSensitive = await textSearch(client, { pattern: NEEDLE, matchCase: true });
        assert.deepStrictEqual([...new Set(caseSensitive.files.map(file => file.path))], [`${root}/src/main.ts`]);

        const regex = await textSearch(client, { pattern: 'fo+ ba[rz]', useRegExp: true });
        assert.deepStrictEqual(regex.files.map(file => [file.path, file.matches.map(m => [m.line, m.character, m.length])]),
            [[`${root}/README.md`, [[2, 1, 7]]]]);
        const literal = await textSearch(client, { pattern: 'fo+ ba[rz]' });
        assert.strictEqual(literal.files.length, 0, 'without useRegExp the pattern is literal');

        const word = await textSearch(client, { pattern: 'foo', matchWholeWord: true, matchCase: true });
        assert.strictEqual(word.matches, 2);
        const notWord = await textSearch(client, { pattern: 'fo', matchWholeWord: true });
        assert.strictEqual(notWord.matches, 0);

        const included = await textSearch(client, { pattern: NEEDLE, include: ['**/util/**'] });
        assert.deepStrictEqual([...new Set(included.files.map(file => file.path))], [`${root}/src/util/helper-needle.ts`]);
        const excluded = await textSearch(client, { pattern: NEEDLE, exclude: ['**/util/**'] });
        assert.deepStrictEqual([...new Set(excluded.files.map(file => file.path))], [`${root}/src/main.ts`]);

        // Even when the guest asks for ignored files and includes the excluded ones by glob.
        const sneaky = await textSearch(client, { pattern: SECRET, includeIgnored: true, include: ['**/.env*', '**/private/**', 'linked-out/**'] });
        assert.strictEqual(sneaky.matches, 0);
        assert.strictEqual(JSON.stringify(sneaky.files).includes(SECRET), false);

        const invalid = await rejection(client.text({ pattern: '(unclosed', useRegExp: true }, () => undefined));
        assert.strictEqual(CollaborationError.from(invalid).code, 'bad-request');
    });

    it('never finds what the host hides by .gitignore, even when the guest asks for ignored files', async () => {
        const root = await share([], true);
        const client = await guest('readwrite');
        assert.deepStrictEqual((await client.files({ pattern: 'needle', useGitIgnore: false })).paths, [`${root}/src/util/helper-needle.ts`]);
        const text = await textSearch(client, { pattern: NEEDLE, includeIgnored: true });
        assert.deepStrictEqual([...new Set(text.files.map(file => file.path))].sort(), [`${root}/src/main.ts`, `${root}/src/util/helper-needle.ts`]);
        const ignored = await rejection(client.replace({
            path: `${root}/ignored-needle.txt`, replacement: 'x', matches: [{ line: 1, character: 1, length: NEEDLE.length, text: NEEDLE }]
        }));
        assert.strictEqual(CollaborationError.from(ignored).code, 'not-found');
        assert.strictEqual(fs.readFileSync(path.join(project, 'ignored-needle.txt'), 'utf8'), `${NEEDLE} ignored\n`);
    });

    it('refuses malformed searches at the host (zod) and leaves them unanswered by the backend', async () => {
        await share();
        const client = await guest();
        const session = client.session;
        for (const params of [
            { pattern: 'x', searchId: 'ok', roots: ['../etc'] },
            { pattern: '', searchId: 'ok' },
            { pattern: 'x'.repeat(5000), searchId: 'ok' },
            { pattern: 'x', searchId: 'ok', maxResults: 10_000_000 },
            { pattern: 'x', searchId: 'ok', include: new Array(1000).fill('*') },
            { pattern: 'x', searchId: 'ok', follow: true }
        ]) {
            const error = await rejection(session.sendRequest(SearchMessages.Text, params as TextSearchParams, { timeout: 10_000 }));
            assert.strictEqual(CollaborationError.from(error).code, 'invalid-params', JSON.stringify(params).slice(0, 80));
        }
        // The backend's JSON-RPC service checks again (its callers are not trusted either).
        const direct = await search.startTextSearch({ pattern: 'x', searchId: 'ok', roots: ['../etc'] } as TextSearchParams);
        assert.strictEqual(direct.ok ? 'ok' : direct.error.code, 'bad-request');
        const files = await search.findFiles({ pattern: 'x', limit: 1e9 });
        assert.strictEqual(files.ok ? 'ok' : files.error.code, 'bad-request');
        const replace = await search.replace({ peerId: client.session.self.id, permission: 'readwrite' }, { path: '/etc/passwd', replacement: '', matches: [] });
        assert.strictEqual(replace.ok ? 'ok' : replace.error.code, 'bad-request');
        assert.strictEqual(search.search.runningSearches, 0);
    });

    it('streams results in batches and bounds them by maxResults', async () => {
        const root = await share();
        const many = Array.from({ length: 1000 }, (_, i) => `line ${i} ${NEEDLE}`).join('\n');
        for (let i = 0; i < 3; i++) {
            write(path.join(project, 'big', `file-${i}.txt`), many);
        }
        const client = await guest();
        const all = await textSearch(client, { pattern: NEEDLE, include: ['big/**'] });
        assert.strictEqual(all.matches, 3000);
        assert.strictEqual(all.files.reduce((sum, file) => sum + file.matches.length, 0), 3000);
        assert.ok(all.batches >= 15, `3000 matches in batches of at most 200 (${all.batches})`);
        assert.ok(all.files.every(file => file.path.startsWith(`${root}/big/`)));
        const bounded = await client.text({ pattern: NEEDLE, include: ['big/**'], maxResults: 250 }, () => undefined);
        assert.strictEqual(bounded.matches, 250);
        assert.strictEqual(bounded.limitHit, true);
    });

    it('cuts long lines around the match', async () => {
        await share();
        write(path.join(project, 'long.txt'), 'x'.repeat(5000) + NEEDLE + 'y'.repeat(5000) + '\n');
        const client = await guest();
        const { files } = await textSearch(client, { pattern: NEEDLE, include: ['long.txt'] });
        const [match] = files[0].matches;
        assert.strictEqual(match.character, 5001);
        assert.ok(match.lineText.length <= 500);
        assert.strictEqual(match.lineText.substr(match.previewCharacter - 1, NEEDLE.length), NEEDLE);
    });

    it('cancelling a search kills the host\'s ripgrep process', async () => {
        await share();
        const line = Array.from({ length: 40 }, () => NEEDLE).join(' ');
        const content = Array.from({ length: 400 }, () => line).join('\n');
        for (let i = 0; i < 200; i++) {
            write(path.join(project, 'huge', `file-${i}.txt`), content);
        }
        const processes: { process: ChildProcess; exit?: { code: number | null; signal: string | null } }[] = [];
        search.search.onDidStartProcess = ({ process }) => {
            const entry: typeof processes[number] = { process };
            process.on('exit', (code, signal) => entry.exit = { code, signal });
            processes.push(entry);
        };
        const client = await guest();
        const controller = new AbortController();
        let received = 0;
        const running = client.text({ pattern: NEEDLE, include: ['huge/**'] }, files => {
            received += files.reduce((sum, file) => sum + file.matches.length, 0);
            controller.abort();
        }, controller.signal);
        const error = await rejection(running);
        assert.strictEqual(CollaborationError.from(error).code, 'cancelled');
        await until(() => processes.length === 1 && processes[0].exit !== undefined, 'ripgrep exits');
        assert.deepStrictEqual(processes[0].exit, { code: null, signal: 'SIGTERM' }, 'killed, not finished');
        assert.ok(received < 20_000, `the search did not run to its end (${received})`);
        await until(() => search.search.runningSearches === 0, 'the host forgets the search');
    });

    it('bounds concurrent searches per guest', async () => {
        await share();
        const line = Array.from({ length: 40 }, () => NEEDLE).join(' ');
        for (let i = 0; i < 100; i++) {
            write(path.join(project, 'huge', `file-${i}.txt`), Array.from({ length: 400 }, () => line).join('\n'));
        }
        const client = await guest();
        const controllers = [new AbortController(), new AbortController()];
        const first = controllers.map(controller => client.text({ pattern: NEEDLE }, () => undefined, controller.signal).catch(e => e));
        await until(() => search.search.runningSearches === 2, 'two searches run');
        const third = await rejection(client.text({ pattern: NEEDLE }, () => undefined));
        assert.strictEqual(CollaborationError.from(third).code, 'busy');
        controllers.forEach(controller => controller.abort());
        await Promise.all(first);
        await until(() => search.search.runningSearches === 0, 'both stopped');
    });

    it('refuses replace for read-only guests and changes nothing', async () => {
        const root = await share();
        const before = fs.readFileSync(path.join(project, 'src', 'main.ts'), 'utf8');
        const client = await guest('readonly');
        const error = await rejection(client.replace({
            path: `${root}/src/main.ts`, replacement: 'HACKED', matches: [{ line: 2, character: 4, length: NEEDLE.length, text: NEEDLE }]
        }));
        assert.strictEqual(CollaborationError.from(error).code, 'forbidden');
        assert.strictEqual(fs.readFileSync(path.join(project, 'src', 'main.ts'), 'utf8'), before);
    });

    it('replaces exactly the matches for read-write guests, refuses stale matches, excluded and read-only files', async () => {
        const root = await share();
        write(path.join(project, '.vscode', 'settings.json'), `{"x": "${NEEDLE}"}`);
        const client = await guest('readwrite');
        const { files } = await textSearch(client, { pattern: NEEDLE, include: ['src/main.ts'] });
        const matches = files.flatMap(file => file.matches).map(m => ({ line: m.line, character: m.character, length: m.length, text: NEEDLE }));
        assert.strictEqual(matches.length, 2);
        const result = await client.replace({ path: `${root}/src/main.ts`, replacement: 'pin', matches });
        assert.strictEqual(result.replaced, 2);
        assert.strictEqual(fs.readFileSync(path.join(project, 'src', 'main.ts'), 'utf8'), `const a = 1;\n// pin here\nexport const b = 'pin';\n`);

        const stale = await rejection(client.replace({ path: `${root}/src/main.ts`, replacement: 'x', matches }));
        assert.strictEqual(CollaborationError.from(stale).code, 'conflict');
        assert.strictEqual(fs.readFileSync(path.join(project, 'src', 'main.ts'), 'utf8'), `const a = 1;\n// pin here\nexport const b = 'pin';\n`);

        const envBefore = fs.readFileSync(path.join(project, '.env'), 'utf8');
        const env = await rejection(client.replace({ path: `${root}/.env`, replacement: 'x', matches: [{ line: 1, character: 1, length: 5, text: 'TOKEN' }] }));
        assert.strictEqual(CollaborationError.from(env).code, 'not-found');
        const linked = await rejection(client.replace({
            path: `${root}/env-needle-link.txt`, replacement: 'x', matches: [{ line: 1, character: 1, length: 5, text: 'TOKEN' }]
        }));
        assert.strictEqual(CollaborationError.from(linked).code, 'not-found');
        assert.strictEqual(fs.readFileSync(path.join(project, '.env'), 'utf8'), envBefore);
        const outsideLink = await rejection(client.replace({
            path: `${root}/linked-out/outside-needle.txt`, replacement: 'x', matches: [{ line: 1, character: 1, length: NEEDLE.length, text: NEEDLE }]
        }));
        assert.ok(['forbidden', 'not-found'].includes(CollaborationError.from(outsideLink).code));
        assert.strictEqual(fs.readFileSync(path.join(outside, 'outside-needle.txt'), 'utf8'), `${NEEDLE} ${OUTSIDE}\n`);

        const readOnly = await rejection(client.replace({
            path: `${root}/.vscode/settings.json`, replacement: 'x', matches: [{ line: 1, character: 8, length: NEEDLE.length, text: NEEDLE }]
        }));
        assert.strictEqual(CollaborationError.from(readOnly).code, 'forbidden');
        assert.strictEqual(fs.readFileSync(path.join(project, '.vscode', 'settings.json'), 'utf8'), `{"x": "${NEEDLE}"}`);
    });

    it('a guest demoted to read-only can no longer replace', async () => {
        const root = await share();
        const client = await guest('readwrite');
        await fixture.host.setPermission(client.session.self.id, 'readonly');
        await until(() => fixture.host.getPeer(client.session.self.id)?.permission === 'readonly', 'demoted');
        const error = await rejection(client.replace({
            path: `${root}/src/main.ts`, replacement: 'x', matches: [{ line: 2, character: 4, length: NEEDLE.length, text: NEEDLE }]
        }));
        assert.strictEqual(CollaborationError.from(error).code, 'forbidden');
        assert.ok(fs.readFileSync(path.join(project, 'src', 'main.ts'), 'utf8').includes(NEEDLE));
    });
});
