/**
 * Shared breakpoints over a real coordination server and real protocol clients. The host decides what is
 * shared with the shared file system's real HostFileSystem on a temp folder; each window's breakpoints are
 * an in-memory store that fires like Theia's BreakpointManager (synchronously, on every set).
 */
import * as assert from 'assert';
import * as path from 'path';
import { FileUri } from '@theia/core/lib/common/file-uri';
import { CollaborationError, CollaborationSession, Disposable, Emitter } from '@theia-collab/protocol';
import { until } from '@theia-collab/test-kit';
import { BreakpointMessages, SharedBreakpoint } from './debug-breakpoint-protocol';
import { BreakpointGuest, BreakpointHost, BreakpointStore } from './debug-breakpoint-sync';
import { useDebugTestSession } from './debug-test-fixture';

const delay = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

class MemoryBreakpointStore implements BreakpointStore {
    readonly breakpoints = new Map<string, SharedBreakpoint[]>();
    protected readonly emitter = new Emitter<string>();
    sets = 0;

    get(uri: string): SharedBreakpoint[] {
        return this.breakpoints.get(uri) ?? [];
    }

    set(uri: string, breakpoints: SharedBreakpoint[]): void {
        this.sets++;
        if (breakpoints.length > 0) {
            this.breakpoints.set(uri, breakpoints.map(bp => ({ ...bp })));
        } else {
            this.breakpoints.delete(uri);
        }
        this.emitter.fire(uri);
    }

    uris(): string[] {
        return [...this.breakpoints.keys()];
    }

    onDidChange(listener: (uri: string) => void): Disposable {
        return this.emitter.event(listener);
    }

    lines(uri: string): number[] {
        return this.get(uri).map(bp => bp.line).sort((a, b) => a - b);
    }
}

let nextId = 1;
function bp(line: number, extra: Partial<SharedBreakpoint> = {}): SharedBreakpoint {
    return { id: `bp-${nextId++}`, line, enabled: true, ...extra };
}

describe('shared breakpoints over a real session', function () {
    this.timeout(30_000);
    const fixture = useDebugTestSession('collab-breakpoints-', {
        'src/app.ts': 'a();\nb();\nc();\nd();\n',
        'src/lib.ts': 'export {};\n',
        '.env': 'SECRET=1\n'
    });
    let hostStore: MemoryBreakpointStore;

    const hostUri = (workspacePath: string) => fixture.mapper.toHostUri(workspacePath)!;
    const APP = 'collab:/proj/src/app.ts';

    async function join(name: string, refusals: string[] = []): Promise<{ session: CollaborationSession; store: MemoryBreakpointStore; sync: BreakpointGuest }> {
        const session = await fixture.join(name);
        const store = new MemoryBreakpointStore();
        const sync = fixture.track(new BreakpointGuest(session, store, { debounceMs: 20, onDidRefuse: (p, error) => refusals.push(`${p}: ${error.code}`) }));
        await sync.start();
        return { session, store, sync };
    }

    beforeEach(() => {
        hostStore = new MemoryBreakpointStore();
        fixture.track(new BreakpointHost(fixture.host, hostStore, fixture.mapper, { debounceMs: 20 })).start();
    });

    it('the host\'s breakpoints in shared files appear on guests\' collab: documents; excluded and outside ones do not', async () => {
        hostStore.set(hostUri('proj/src/app.ts'), [bp(2, { condition: 'x > 1' }), bp(4, { enabled: false, logMessage: 'at {d}' })]);
        hostStore.set(hostUri('proj/.env'), [bp(1)]);
        hostStore.set(FileUri.create(path.join(fixture.base, 'outside.ts')).toString(), [bp(1)]);
        // A late joiner gets them with its first request.
        const guest = await join('Writer');
        assert.deepStrictEqual(guest.store.uris(), [APP]);
        assert.deepStrictEqual(guest.store.get(APP).map(({ line, enabled, condition, logMessage }) => ({ line, enabled, condition, logMessage })), [
            { line: 2, enabled: true, condition: 'x > 1', logMessage: undefined },
            { line: 4, enabled: false, condition: undefined, logMessage: 'at {d}' }
        ]);
        assert.deepStrictEqual(guest.store.get(APP).map(b => b.id), hostStore.get(hostUri('proj/src/app.ts')).map(b => b.id), 'ids are shared');

        // Later changes arrive as they happen.
        hostStore.set(hostUri('proj/src/lib.ts'), [bp(1)]);
        hostStore.set(hostUri('proj/.env'), [bp(1), bp(2)]);
        await until(() => guest.store.uris().includes('collab:/proj/src/lib.ts'), 'lib.ts breakpoints on the guest');
        hostStore.set(hostUri('proj/src/app.ts'), []);
        await until(() => !guest.store.uris().includes(APP), 'removed breakpoints to go');
        assert.deepStrictEqual(guest.store.uris(), ['collab:/proj/src/lib.ts']);
    });

    it('a read-write guest\'s breakpoint reaches the host and the other guests; nothing echoes back and forth', async () => {
        const writer = await join('Writer');
        const other = await join('Other');
        writer.store.set(APP, [bp(3)]);
        await until(() => hostStore.lines(hostUri('proj/src/app.ts')).join() === '3', 'the host to have it');
        await until(() => other.store.lines(APP).join() === '3', 'the other guest to have it');
        assert.strictEqual(other.store.get(APP)[0].id, writer.store.get(APP)[0].id);

        // The host moves it and adds one: both guests follow.
        const [moved] = hostStore.get(hostUri('proj/src/app.ts'));
        hostStore.set(hostUri('proj/src/app.ts'), [{ ...moved, line: 1 }, bp(4)]);
        await until(() => writer.store.lines(APP).join() === '1,4' && other.store.lines(APP).join() === '1,4', 'guests to follow the host');

        const counts = () => [hostStore.sets, writer.store.sets, other.store.sets].join();
        const settled = counts();
        await delay(300);
        assert.strictEqual(counts(), settled, 'no ping-pong once everyone agrees');
    });

    it('a read-only guest cannot change the host\'s breakpoints: its change is refused and rolled back', async () => {
        hostStore.set(hostUri('proj/src/app.ts'), [bp(2)]);
        const refusals: string[] = [];
        const reader = await join('Reader', refusals);
        assert.deepStrictEqual(reader.store.lines(APP), [2]);
        reader.store.set(APP, [...reader.store.get(APP), bp(3)]);
        await until(() => refusals.length === 1, 'the refusal');
        assert.deepStrictEqual(refusals, ['proj/src/app.ts: permission-denied']);
        assert.deepStrictEqual(reader.store.lines(APP), [2], 'rolled back to the host\'s');
        assert.deepStrictEqual(hostStore.lines(hostUri('proj/src/app.ts')), [2]);
    });

    it('the host validates what guests send: excluded files, paths outside the roots, malformed breakpoints', async () => {
        const writer = await join('Writer');
        const refused = async (params: unknown): Promise<string> => {
            try {
                await writer.session.sendRequest(BreakpointMessages.Set, params as never);
            } catch (error) {
                return CollaborationError.from(error).code;
            }
            return 'accepted';
        };
        assert.strictEqual(await refused({ path: 'proj/.env', breakpoints: [bp(1)] }), 'not-found');
        assert.strictEqual(await refused({ path: 'elsewhere/a.ts', breakpoints: [bp(1)] }), 'not-found');
        assert.strictEqual(await refused({ path: 'proj/../outside.ts', breakpoints: [bp(1)] }), 'invalid-params');
        assert.strictEqual(await refused({ path: 'proj/src/app.ts', breakpoints: [{ ...bp(0) }] }), 'invalid-params');
        assert.strictEqual(await refused({ path: 'proj/src/app.ts', breakpoints: [{ ...bp(1), id: 'x'.repeat(65) }] }), 'invalid-params');
        assert.strictEqual(await refused({ path: 'proj/src/app.ts', breakpoints: [{ ...bp(1), condition: 'x'.repeat(1001) }] }), 'invalid-params');
        assert.deepStrictEqual(hostStore.uris(), []);
        // Duplicates at one position are merged.
        assert.strictEqual(await refused({ path: 'proj/src/app.ts', breakpoints: [bp(1), bp(1), bp(2)] }), 'accepted');
        assert.deepStrictEqual(hostStore.lines(hostUri('proj/src/app.ts')), [1, 2]);
    });

    it('a leaving guest drops the session\'s breakpoints; leftovers from an earlier session are cleared on join', async () => {
        hostStore.set(hostUri('proj/src/app.ts'), [bp(2)]);
        const guest = await join('Writer');
        assert.deepStrictEqual(guest.store.uris(), [APP]);
        guest.sync.dispose();
        assert.deepStrictEqual(guest.store.uris(), [], 'no collab: breakpoints outlive the session');

        // Breakpoints a previous session left in a window's (persisted) store.
        const session = await fixture.join('Returning', false);
        const store = new MemoryBreakpointStore();
        store.set('collab:/proj/src/lib.ts', [bp(1)]);
        store.set('file:///home/guest/own.ts', [bp(1)]);
        await fixture.track(new BreakpointGuest(session, store, { debounceMs: 20 })).start();
        assert.deepStrictEqual(store.uris().sort(), [APP, 'file:///home/guest/own.ts']);
        await delay(100);
        assert.deepStrictEqual(hostStore.uris(), [hostUri('proj/src/app.ts')], 'clearing leftovers is not sent to the host');
    });
});
