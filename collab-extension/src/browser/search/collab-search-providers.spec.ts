/**
 * The guest's Quick Open and Find in Files providers against a real server and a real host search backend:
 * `collab:` roots go to the host, results come back as `collab:` URIs under the guest's roots, a cancelled
 * Find in Files stops the host's search.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { ChildProcess } from 'child_process';
import { FileUri } from '@theia/core/lib/common/file-uri';
import { CancellationTokenSource } from '@theia/core/lib/common/cancellation';
import type { SearchInWorkspaceResult, SearchInWorkspaceServer } from '@theia/search-in-workspace/lib/common/search-in-workspace-interface';
import { until } from '@theia-collab/test-kit';
import { nameRoots } from '../../common/collaboration-uri';
import { DEFAULT_EXCLUDED_FILES } from '../../common/fs/host-file-system-protocol';
import { registerSearchHandlers } from '../../common/search/search-host-handlers';
import { useFsTestSession } from '../../node/fs/fs-session-fixture';
import { HostSearchServiceImpl } from '../../node/search/host-search-service';
import { CollabFileSearchService } from './collab-file-search-service';
import { CollabSearchInWorkspaceServer, LocalSearchRelay } from './collab-search-in-workspace-server';
import { SearchGuestService } from './search-guest-service';

const NEEDLE = 'needle-e2c1';

describe('guest search providers (Quick Open, Find in Files)', function (): void {
    this.timeout(60_000);
    const fixture = useFsTestSession();
    let project: string;
    let search: HostSearchServiceImpl;
    let rootUri: string;

    async function setUp(): Promise<SearchGuestService> {
        project = path.join(fixture.tempFolder('collab-search-ui-'), 'app');
        fs.mkdirSync(path.join(project, 'src'), { recursive: true });
        fs.writeFileSync(path.join(project, 'src', 'server.ts'), `// ${NEEDLE}\n`);
        fs.writeFileSync(path.join(project, '.env'), `${NEEDLE}=1\n`);
        const roots = nameRoots([FileUri.create(project).toString()]);
        search = new HostSearchServiceImpl();
        fixture.afterTest(() => search.reset());
        await search.configure({ roots, exclude: [...DEFAULT_EXCLUDED_FILES], excludeGitIgnored: false });
        await fixture.shareFolders([project]);
        registerSearchHandlers(fixture.host, search).forEach(disposable => fixture.track(disposable));
        const { session } = await fixture.join('Guest Gil', 'readonly');
        const service = new SearchGuestService();
        const registration = service.onSessionStarted(session);
        if (registration) {
            fixture.track(registration);
        }
        rootUri = `collab:/${roots[0].name}`;
        return service;
    }

    const noLocal = {
        find: async () => assert.fail('no own roots to search'),
        search: async () => assert.fail('no own roots to search'),
        cancel: async () => undefined,
        dispose: () => undefined,
        setClient: () => undefined
    };

    it('Quick Open finds host files as collab: URIs, never .env', async () => {
        const service = await setUp();
        const fileSearch = new CollabFileSearchService(noLocal, service);
        assert.deepStrictEqual(await fileSearch.find('server', { rootUris: [rootUri], fuzzyMatch: true, limit: 200 }), [`${rootUri}/src/server.ts`]);
        assert.deepStrictEqual(await fileSearch.find('env', { rootUris: [rootUri], fuzzyMatch: true, limit: 200 }), []);
        const cancelled = new CancellationTokenSource();
        cancelled.cancel();
        assert.deepStrictEqual(await fileSearch.find('server', { rootUris: [rootUri] }, cancelled.token), []);
    });

    it('Find in Files reports host matches under the guest\'s root, then done', async () => {
        const service = await setUp();
        const server = new CollabSearchInWorkspaceServer(noLocal as unknown as SearchInWorkspaceServer, new LocalSearchRelay(), service);
        const results: SearchInWorkspaceResult[] = [];
        let done: { id: number; error?: string } | undefined;
        server.setClient({ onResult: (_id, result) => results.push(result), onDone: (id, error) => done = { id, error } });
        const id = await server.search(NEEDLE, [rootUri], { include: [], exclude: [], maxResults: 2000 });
        await until(() => done !== undefined, 'the search is done');
        assert.deepStrictEqual(done, { id, error: undefined });
        assert.deepStrictEqual(results, [{ root: rootUri, fileUri: `${rootUri}/src/server.ts`, matches: [{ line: 1, character: 4, length: NEEDLE.length, lineText: `// ${NEEDLE}` }] }]);
    });

    it('cancelling Find in Files stops the host\'s ripgrep', async () => {
        const service = await setUp();
        const line = Array.from({ length: 40 }, () => NEEDLE).join(' ');
        for (let i = 0; i < 200; i++) {
            fs.writeFileSync(path.join(project, `many-${i}.txt`), Array.from({ length: 400 }, () => line).join('\n'));
        }
        const exits: (string | null)[] = [];
        search.search.onDidStartProcess = ({ process }: { process: ChildProcess }) => process.on('exit', (_code, signal) => exits.push(signal));
        const server = new CollabSearchInWorkspaceServer(noLocal as unknown as SearchInWorkspaceServer, new LocalSearchRelay(), service);
        let results = 0;
        let id = -1;
        server.setClient({
            onResult: () => {
                if (++results === 1) {
                    server.cancel(id);
                }
            },
            onDone: () => undefined
        });
        id = await server.search(NEEDLE, [rootUri], { maxResults: 20_000 });
        await until(() => exits.length === 1, 'ripgrep exits');
        assert.deepStrictEqual(exits, ['SIGTERM']);
        await until(() => search.search.runningSearches === 0, 'the host forgets the search');
    });
});
