/**
 * Shared breakpoints after a guest lost the host's announcements for good (a server without a replay window, a
 * real outage): the guest pages through the host's breakpoints again and ends up with exactly the host's,
 * files emptied meanwhile included.
 */
import * as assert from 'assert';
import { Disposable, Emitter } from '@theia-collab/protocol';
import { offline, until } from '../chat/missed-messages-fixture';
import { SharedBreakpoint } from './debug-breakpoint-protocol';
import { BreakpointGuest, BreakpointHost, BreakpointStore } from './debug-breakpoint-sync';
import { useDebugTestSession } from './debug-test-fixture';

class MemoryBreakpointStore implements BreakpointStore {
    readonly breakpoints = new Map<string, SharedBreakpoint[]>();
    protected readonly emitter = new Emitter<string>();
    get(uri: string): SharedBreakpoint[] {
        return this.breakpoints.get(uri) ?? [];
    }
    set(uri: string, breakpoints: SharedBreakpoint[]): void {
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
}

let nextId = 1;
function bp(line: number, extra: Partial<SharedBreakpoint> = {}): SharedBreakpoint {
    return { id: `bp-${nextId++}`, line, enabled: true, ...extra };
}

const FILES = ['src/app.ts', 'src/lib.ts', 'src/new.ts'];

describe('shared breakpoints after missed messages', function () {
    this.timeout(60_000);
    const fixture = useDebugTestSession('collab-breakpoints-missed-', Object.fromEntries(FILES.map(file => [file, 'a();\nb();\nc();\nd();\n'])),
        { replayWindowMs: 0 });

    /** The host's breakpoints as a guest names them: collab URI → breakpoints. */
    function hostAsGuest(hostStore: MemoryBreakpointStore): Map<string, SharedBreakpoint[]> {
        const result = new Map<string, SharedBreakpoint[]>();
        for (const file of FILES) {
            const breakpoints = hostStore.get(fixture.mapper.toHostUri(`proj/${file}`)!);
            if (breakpoints.length) {
                result.set(`collab:/proj/${file}`, breakpoints);
            }
        }
        return result;
    }

    it('gives a guest that was away exactly the host\'s breakpoints', async () => {
        const hostStore = new MemoryBreakpointStore();
        fixture.track(new BreakpointHost(fixture.host, hostStore, fixture.mapper, { debounceMs: 20 })).start();
        const hostUri = (file: string) => fixture.mapper.toHostUri(`proj/${file}`)!;
        hostStore.set(hostUri('src/app.ts'), [bp(1), bp(2, { condition: 'x > 1' })]);
        hostStore.set(hostUri('src/lib.ts'), [bp(3)]);

        const away = await fixture.joinWithClient('Away');
        const store = new MemoryBreakpointStore();
        await fixture.track(new BreakpointGuest(away.session, store, { debounceMs: 20 })).start();
        assert.deepStrictEqual(store.breakpoints, hostAsGuest(hostStore));

        await offline(away, async () => {
            hostStore.set(hostUri('src/app.ts'), [bp(4, { enabled: false })]);
            hostStore.set(hostUri('src/lib.ts'), []);
            hostStore.set(hostUri('src/new.ts'), [bp(1, { logMessage: 'here' })]);
            await new Promise(resolve => setTimeout(resolve, 100)); // announced (and lost for the guest)
        });
        const expected = hostAsGuest(hostStore);
        assert.deepStrictEqual([...expected.keys()], ['collab:/proj/src/app.ts', 'collab:/proj/src/new.ts']);
        await until(() => JSON.stringify([...store.breakpoints]) === JSON.stringify([...expected]), 'the guest has the host\'s breakpoints');
        assert.deepStrictEqual(store.breakpoints, expected);

        // Live announcements keep working afterwards.
        hostStore.set(hostUri('src/lib.ts'), [bp(2)]);
        await until(() => store.get('collab:/proj/src/lib.ts').length === 1, 'a live change arrives');
        assert.deepStrictEqual(store.breakpoints, hostAsGuest(hostStore));
    });
});
