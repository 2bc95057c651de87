/**
 * The host's debug state and guests' continue/step over a real coordination server and real protocol clients.
 * This app has no debug adapter, so the host's debugger is a scripted stand-in with the DebugController shape
 * the app binds to Theia's DebugSessionManager; paths are checked with the real HostFileSystem.
 */
import * as assert from 'assert';
import * as path from 'path';
import { FileUri } from '@theia/core/lib/common/file-uri';
import { CollaborationError, CollaborationSession, Disposable, Emitter } from '@theia-collab/protocol';
import { until } from '@theia-collab/test-kit';
import { DebugAction, DebugStateParams } from './debug-session-protocol';
import { DebugController, DebugSessionGuest, DebugSessionHost, HostDebugSession } from './debug-session-sync';
import { useDebugTestSession } from './debug-test-fixture';

class ScriptedDebugger implements DebugController {
    list: HostDebugSession[] = [];
    currentId: string | undefined;
    readonly actions: string[] = [];
    failNext = false;
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
    async control(sessionId: string, action: DebugAction): Promise<void> {
        if (this.failNext) {
            this.failNext = false;
            throw new Error('thread is gone');
        }
        this.actions.push(`${sessionId}:${action}`);
        const session = this.list.find(candidate => candidate.id === sessionId)!;
        this.set(this.list.map(candidate => candidate === session
            ? { ...candidate, state: action === 'pause' ? 'stopped' : 'running', frame: action === 'pause' ? candidate.frame : undefined } : candidate));
    }
    set(list: HostDebugSession[], current = list[0]?.id): void {
        this.list = list;
        this.currentId = current;
        this.emitter.fire();
    }
}

async function code(promise: Promise<unknown>): Promise<string> {
    try {
        await promise;
    } catch (error) {
        return CollaborationError.from(error).code;
    }
    return 'ok';
}

describe('debug state over a real session', function () {
    this.timeout(30_000);
    const fixture = useDebugTestSession('collab-debug-', { 'src/main.js': 'a();\nb();\n', '.env': 'SECRET=1\n' });
    let debuggerStandIn: ScriptedDebugger;

    async function join(name: string): Promise<{ session: CollaborationSession; sync: DebugSessionGuest; states: DebugStateParams[] }> {
        const session = await fixture.join(name);
        const sync = fixture.track(new DebugSessionGuest(session));
        const states: DebugStateParams[] = [];
        sync.onDidChange(state => states.push(state));
        await sync.start();
        return { session, sync, states };
    }

    beforeEach(() => {
        debuggerStandIn = new ScriptedDebugger();
        fixture.track(new DebugSessionHost(fixture.host, debuggerStandIn, fixture.mapper, { debounceMs: 10 })).start();
    });

    it('guests see where the host stopped; frames in unshared files keep only their name', async () => {
        const stoppedAt = (uri: string) => ({
            id: 's1', name: 'Launch Program', state: 'stopped' as const, threadId: 1, threadName: 'main', stoppedReason: 'breakpoint',
            frame: { name: 'b', uri, line: 2, column: 1 }
        });
        debuggerStandIn.set([stoppedAt(fixture.mapper.toHostUri('proj/src/main.js')!)]);
        const guest = await join('Writer');
        assert.deepStrictEqual(guest.sync.state, {
            sessions: [{ id: 's1', name: 'Launch Program', state: 'stopped', threadId: 1, threadName: 'main', stoppedReason: 'breakpoint',
                frame: { name: 'b', path: 'proj/src/main.js', line: 2, column: 1 } }],
            current: 's1'
        });
        assert.strictEqual(guest.sync.focused?.id, 's1');

        debuggerStandIn.set([stoppedAt(fixture.mapper.toHostUri('proj/.env')!)]);
        await until(() => guest.sync.state.sessions[0]?.frame?.path === undefined, 'the excluded frame');
        assert.deepStrictEqual(guest.sync.state.sessions[0].frame, { name: 'b', line: 2, column: 1 });
        debuggerStandIn.set([stoppedAt(FileUri.create(path.join(fixture.base, 'outside.js')).toString())]);
        debuggerStandIn.set([stoppedAt(FileUri.create(path.join(fixture.base, 'outside.js')).toString())]);
        await new Promise(resolve => setTimeout(resolve, 200));
        assert.deepStrictEqual(guest.sync.state.sessions[0].frame, { name: 'b', line: 2, column: 1 });
        assert.ok(!JSON.stringify(guest.states).includes(fixture.base), 'no host path reaches the guest');
        const count = guest.states.length;
        debuggerStandIn.set(debuggerStandIn.list);
        await new Promise(resolve => setTimeout(resolve, 200));
        assert.strictEqual(guest.states.length, count, 'an unchanged state is not announced again');

        debuggerStandIn.set([]);
        await until(() => guest.sync.state.sessions.length === 0, 'the session to end for the guest');
    });

    it('read-write guests continue and step through the host; read-only guests are refused', async () => {
        debuggerStandIn.set([{ id: 's1', name: 'Launch', state: 'stopped', threadId: 1, frame: { name: 'a', uri: fixture.mapper.toHostUri('proj/src/main.js'), line: 1, column: 1 } }]);
        const writer = await join('Writer');
        const reader = await join('Reader');
        assert.strictEqual(await code(reader.sync.control('continue')), 'permission-denied');
        assert.deepStrictEqual(debuggerStandIn.actions, []);

        assert.strictEqual(await code(writer.sync.control('stepOver')), 'ok');
        await until(() => reader.sync.state.sessions[0]?.state === 'running', 'everyone to see it running');
        assert.strictEqual(reader.sync.state.sessions[0].frame, undefined);
        assert.strictEqual(await code(writer.sync.control('pause')), 'ok');
        assert.strictEqual(await code(writer.sync.control('continue', 'nope')), 'not-found');
        debuggerStandIn.failNext = true;
        assert.strictEqual(await code(writer.sync.control('continue')), 'bad-request');
        assert.deepStrictEqual(debuggerStandIn.actions, ['s1:stepOver', 's1:pause']);

        debuggerStandIn.set([]);
        await until(() => writer.sync.state.sessions.length === 0, 'no session');
        assert.strictEqual(await code(writer.sync.control('continue')), 'not-found');
    });
});
