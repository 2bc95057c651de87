/**
 * Diagnostics after a guest lost the host's announcements for good (a server without a replay window, a real
 * outage): the guest pages through the host's diagnostics again and shows exactly the host's, files whose
 * problems were fixed meanwhile included.
 */
import * as assert from 'assert';
import { Emitter } from '@theia-collab/protocol';
import { offline, until } from '../chat/missed-messages-fixture';
import { useDebugTestSession } from '../debug/debug-test-fixture';
import { DiagnosticsGuest, DiagnosticsHost, DiagnosticsSource } from './language-diagnostics';
import { Diagnostic } from './language-protocol';

const FILES = ['src/a.ts', 'src/b.ts', 'src/c.ts'];

function problem(line: number, message: string): Diagnostic {
    return { range: { start: { line, character: 0 }, end: { line, character: 3 } }, message, severity: 1, source: 'ts' };
}

describe('diagnostics after missed messages', function () {
    this.timeout(60_000);
    const fixture = useDebugTestSession('collab-diagnostics-missed-', Object.fromEntries(FILES.map(file => [file, 'let x = 1;\nlet y = 2;\n'])),
        { replayWindowMs: 0 });

    it('gives a guest that was away exactly the host\'s diagnostics', async () => {
        const markers = new Map<string, Diagnostic[]>();
        const changed = new Emitter<string>();
        const source: DiagnosticsSource = {
            onDidChange: listener => changed.event(listener),
            get: uri => markers.get(uri) ?? [],
            uris: () => [...markers.keys()]
        };
        const set = (file: string, diagnostics: Diagnostic[]) => {
            const uri = fixture.mapper.toHostUri(`proj/${file}`)!;
            if (diagnostics.length) {
                markers.set(uri, diagnostics);
            } else {
                markers.delete(uri);
            }
            changed.fire(uri);
        };
        /** The host's diagnostics as guests name them. */
        const hostAsGuest = () => new Map(FILES.filter(file => source.get(fixture.mapper.toHostUri(`proj/${file}`)!).length)
            .map(file => [`proj/${file}`, source.get(fixture.mapper.toHostUri(`proj/${file}`)!)]));
        fixture.track(new DiagnosticsHost(fixture.host, source, fixture.mapper, { debounceMs: 20 })).start();
        set('src/a.ts', [problem(0, 'unused x')]);
        set('src/b.ts', [problem(1, 'unused y')]);

        const away = await fixture.joinWithClient('Away');
        const shown = new Map<string, Diagnostic[]>();
        const sink = {
            set: (path: string, diagnostics: Diagnostic[]) => diagnostics.length ? shown.set(path, diagnostics) : shown.delete(path),
            clear: () => shown.clear()
        };
        await fixture.track(new DiagnosticsGuest(away.session, sink)).start();
        assert.deepStrictEqual(shown, hostAsGuest());

        await offline(away, async () => {
            set('src/a.ts', [problem(0, 'unused x'), problem(1, 'unused y')]);
            set('src/b.ts', []);
            set('src/c.ts', [problem(0, 'type error')]);
            await new Promise(resolve => setTimeout(resolve, 100)); // announced (and lost for the guest)
        });
        const expected = hostAsGuest();
        assert.deepStrictEqual([...expected.keys()], ['proj/src/a.ts', 'proj/src/c.ts']);
        await until(() => JSON.stringify([...shown].sort()) === JSON.stringify([...expected]), 'the guest has the host\'s diagnostics');
        assert.deepStrictEqual(new Map([...shown].sort()), expected);
    });
});
