/**
 * The host's debug state after a guest lost the host's announcements for good (a server without a replay
 * window, a real outage): the guest asks for the state again and shows exactly what the host's debugger is at.
 */
import * as assert from 'assert';
import { Disposable, Emitter } from '@theia-collab/protocol';
import { offline, until } from '../chat/missed-messages-fixture';
import { DebugAction } from './debug-session-protocol';
import { DebugController, DebugSessionGuest, DebugSessionHost, HostDebugSession } from './debug-session-sync';
import { useDebugTestSession } from './debug-test-fixture';

class ScriptedDebugger implements DebugController {
    list: HostDebugSession[] = [];
    currentId: string | undefined;
    protected readonly emitter = new Emitter<void>();
    sessions(): HostDebugSession[] {
        return this.list;
    }
    current(): string | undefined {
        return this.currentId;
    }
    onDidChange(listener: () => void): Disposable {
        return this.emitter.event(listener);
    }
    async control(_sessionId: string, _action: DebugAction): Promise<void> { }
    set(list: HostDebugSession[], current = list[0]?.id): void {
        this.list = list;
        this.currentId = current;
        this.emitter.fire();
    }
}

describe('debug state after missed messages', function () {
    this.timeout(60_000);
    const fixture = useDebugTestSession('collab-debug-missed-', { 'src/main.js': 'a();\nb();\nc();\n' }, { replayWindowMs: 0 });

    it('gives a guest that was away the host\'s current debug state', async () => {
        const standIn = new ScriptedDebugger();
        fixture.track(new DebugSessionHost(fixture.host, standIn, fixture.mapper, { debounceMs: 10 })).start();
        const main = fixture.mapper.toHostUri('proj/src/main.js')!;
        standIn.set([{ id: 's1', name: 'Launch', state: 'running' }]);

        const away = await fixture.joinWithClient('Away');
        const stay = await fixture.join('Stay');
        const awaySync = fixture.track(new DebugSessionGuest(away.session));
        const staySync = fixture.track(new DebugSessionGuest(stay));
        await awaySync.start();
        await staySync.start();
        assert.deepStrictEqual(awaySync.state, { sessions: [{ id: 's1', name: 'Launch', state: 'running' }], current: 's1' });

        await offline(away, async () => {
            standIn.set([
                { id: 's1', name: 'Launch', state: 'stopped', threadId: 1, threadName: 'main', stoppedReason: 'breakpoint', frame: { name: 'c', uri: main, line: 3, column: 1 } },
                { id: 's2', name: 'Attach', state: 'running' }
            ], 's1');
            await until(() => staySync.state.sessions.length === 2, 'the guest that stayed sees the change');
        });
        const expected = {
            sessions: [
                { id: 's1', name: 'Launch', state: 'stopped', threadId: 1, threadName: 'main', stoppedReason: 'breakpoint', frame: { name: 'c', path: 'proj/src/main.js', line: 3, column: 1 } },
                { id: 's2', name: 'Attach', state: 'running' }
            ],
            current: 's1'
        };
        await until(() => awaySync.state.sessions.length === 2, 'the guest that was away catches up');
        assert.deepStrictEqual(awaySync.state, expected);
        assert.deepStrictEqual(staySync.state, expected);
        assert.strictEqual(awaySync.focused?.id, 's1');

        // Live announcements keep working afterwards.
        standIn.set([], undefined);
        await until(() => awaySync.state.sessions.length === 0, 'the end of debugging arrives');
        assert.deepStrictEqual(awaySync.state, staySync.state);
    });
});
