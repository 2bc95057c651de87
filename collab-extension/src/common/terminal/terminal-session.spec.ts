/**
 * Shared terminals over a real coordination server and real protocol clients: a host, a read-write
 * guest, a read-only guest and late joiners. The host's terminal is a plain object here; the
 * browser adapts Theia's TerminalWidget to the same interface.
 */
import * as assert from 'assert';
import { CollaborationClient, CollaborationError, CollaborationSession, Emitter, Permission } from '@theia-collab/protocol';
import { until } from '@theia-collab/test-kit';
import { ServerHandle, startServer } from '@theia-collab/server/lib/server';
import { TerminalHost, TerminalInputEvent, TerminalSource } from './terminal-host';
import { GuestTerminal, TerminalGuest } from './terminal-guest';
import { TerminalMessages } from './terminal-protocol';
import { utf8ByteLength } from './terminal-scrollback';

class FakeTerminal implements TerminalSource {
    readonly title = 'bash';
    dimensions = { cols: 80, rows: 24 };
    readonly typed: string[] = [];
    readonly output = new Emitter<string>();
    readonly closed = new Emitter<void>();
    readonly resized = new Emitter<{ cols: number; rows: number }>();
    readonly onOutput = this.output.event;
    readonly onClosed = this.closed.event;
    readonly onDimensionsChanged = this.resized.event;
    constructor(protected readonly seed = '') { }
    initialContent(): string { return this.seed; }
    sendText(text: string): void { this.typed.push(text); }
}

function delay(ms: number): Promise<void> {
    return new Promise(resolve => setTimeout(resolve, ms));
}

/** A guest's view of one shared terminal: what it printed and which input errors it got. */
interface GuestView { terminal: GuestTerminal; text: () => string; errors: CollaborationError[]; ended: string[] }

function watch(terminal: GuestTerminal): GuestView {
    let text = terminal.text;
    const errors: CollaborationError[] = [];
    const ended: string[] = [];
    terminal.onData(data => text += data);
    terminal.onDidReset(() => text = '');
    terminal.onInputError(error => errors.push(error));
    terminal.onDidEnd(reason => ended.push(reason));
    return { terminal, text: () => text, errors, ended };
}

describe('shared terminal over a real session', function () {
    this.timeout(30000);
    let server: ServerHandle;
    const clients: CollaborationClient[] = [];
    let host: CollaborationSession;
    const permissions = new Map<string, Permission>();

    async function join(name: string, permission: Permission): Promise<CollaborationSession> {
        permissions.set(name, permission);
        const client = await CollaborationClient.connect({ serverUrl: server.url, name });
        clients.push(client);
        const session = await client.joinSession(host.invite!.code);
        await until(() => host.getPeer(session.self.id) !== undefined, `the host sees ${name}`);
        return session;
    }

    async function guestOf(session: CollaborationSession): Promise<{ guest: TerminalGuest; shared: GuestTerminal[] }> {
        const guest = new TerminalGuest(session, { historyBytes: 64 * 1024 });
        const shared: GuestTerminal[] = [];
        guest.onDidShare(terminal => shared.push(terminal));
        await guest.start();
        return { guest, shared };
    }

    before(async () => {
        server = await startServer({
            hostname: '127.0.0.1', port: 0, logLevel: 'silent',
            loginRateLimit: { max: 10_000, windowMs: 60_000 }, joinRateLimit: { max: 10_000, windowMs: 60_000 }
        });
    });

    beforeEach(async () => {
        const client = await CollaborationClient.connect({ serverUrl: server.url, name: 'Hosting Hana' });
        clients.push(client);
        host = await client.createSession();
        host.onJoinRequest(request => request.admit(permissions.get(request.name) ?? 'readonly'));
    });

    afterEach(() => {
        clients.splice(0).forEach(client => client.dispose());
    });

    after(async () => {
        await server?.close();
    });

    it('streams raw output to guests, and scrollback to late joiners', async () => {
        const writer = await join('Rita RW', 'readwrite');
        const reader = await join('Olaf RO', 'readonly');
        const terminalHost = new TerminalHost(host, { scrollbackBytes: 256 * 1024 });
        const source = new FakeTerminal('hana@box:~$ ');
        const shared = terminalHost.share(source);
        assert.strictEqual(shared.writable, false);

        const [w, r] = await Promise.all([guestOf(writer), guestOf(reader)]);
        await until(() => w.shared.length === 1 && r.shared.length === 1, 'both guests see the terminal');
        const wv = watch(w.shared[0]);
        const rv = watch(r.shared[0]);
        await until(() => wv.text() === 'hana@box:~$ ' && rv.text() === 'hana@box:~$ ', 'the seed arrives');

        const colours = 'echo hi\r\n\x1b[31mred\x1b[0m \x1b[1;32mgreen\x1b[0m\r\n\x1b[2K\x1b[1Ghana@box:~$ ';
        source.output.fire(colours.slice(0, 9));
        source.output.fire(colours.slice(9));
        const expected = 'hana@box:~$ ' + colours;
        await until(() => wv.text() === expected && rv.text() === expected, 'output arrives unchanged, escape sequences included');
        assert.deepStrictEqual(wv.terminal.info, { id: shared.id, title: 'bash', writable: false, cols: 80, rows: 24 });

        // A late joiner gets the scrollback, then live output, with nothing lost or doubled.
        const late = await join('Lena Late', 'readonly');
        const l = await guestOf(late);
        await until(() => l.shared.length === 1, 'the late joiner sees the terminal');
        const lv = watch(l.shared[0]);
        for (let i = 0; i < 20; i++) {
            source.output.fire(`line ${i}\r\n`);
            if (i % 5 === 0) {
                await delay(5);
            }
        }
        const all = expected + Array.from({ length: 20 }, (_, i) => `line ${i}\r\n`).join('');
        await until(() => lv.text() === all && wv.text() === all, 'the late joiner has everything in order');

        // The host resizes; guests follow (their own size never goes to the host).
        source.dimensions = { cols: 100, rows: 30 };
        source.resized.fire(source.dimensions);
        await until(() => wv.terminal.info.cols === 100 && lv.terminal.info.rows === 30, 'guests follow the host size');
    });

    it('keeps only the configured scrollback for late joiners', async () => {
        const terminalHost = new TerminalHost(host, { scrollbackBytes: 1024 });
        const source = new FakeTerminal();
        terminalHost.share(source);
        for (let i = 0; i < 200; i++) {
            source.output.fire(`output line ${String(i).padStart(4, '0')}\r\n`);
        }
        await delay(50);
        const late = await join('Lena Late', 'readonly');
        const l = await guestOf(late);
        await until(() => l.shared.length === 1 && l.shared[0].state === 'live', 'the snapshot arrives');
        const text = l.shared[0].text;
        assert.ok(utf8ByteLength(text) <= 1024, `snapshot has ${utf8ByteLength(text)} bytes`);
        assert.ok(text.startsWith('output line '), text.slice(0, 40));
        assert.ok(text.endsWith('output line 0199\r\n'));
    });

    it('accepts input only when the terminal is writable and the guest may write', async () => {
        const writer = await join('Rita RW', 'readwrite');
        const reader = await join('Olaf RO', 'readonly');
        const terminalHost = new TerminalHost(host, { scrollbackBytes: 1024 });
        const inputs: TerminalInputEvent[] = [];
        const refusals: string[] = [];
        terminalHost.onDidInput(event => inputs.push(event));
        terminalHost.onDidRefuseInput(event => refusals.push(`${event.peer?.name}: ${event.error.code}`));
        const source = new FakeTerminal();
        const shared = terminalHost.share(source);
        const [w, r] = await Promise.all([guestOf(writer), guestOf(reader)]);
        await until(() => w.shared.length === 1 && r.shared.length === 1, 'both guests see the terminal');
        const wv = watch(w.shared[0]);
        const rv = watch(r.shared[0]);

        // Read-only terminal: even the read-write guest is refused.
        wv.terminal.sendInput('touch should-not-exist\r');
        await until(() => wv.errors.length === 1, 'the writer is refused');
        assert.strictEqual(wv.errors[0].code, 'permission-denied');
        assert.deepStrictEqual(source.typed, []);

        terminalHost.setWritable(shared.id, true);
        await until(() => wv.terminal.info.writable && rv.terminal.info.writable, 'guests learn it is writable');
        assert.strictEqual(wv.terminal.writable, true);
        assert.strictEqual(rv.terminal.writable, false, 'a read-only guest knows it cannot type');

        for (const key of 'ls -la\r') {
            wv.terminal.sendInput(key);
        }
        await until(() => source.typed.join('') === 'ls -la\r', 'the keystrokes reach the terminal in order');
        assert.strictEqual(inputs[0].peer.name, 'Rita RW');
        assert.strictEqual(inputs[0].peer.id, writer.self.id);

        // The read-only guest is refused, nothing is typed.
        rv.terminal.sendInput('rm -rf ~\r');
        await until(() => rv.errors.length === 1, 'the reader is refused');
        assert.strictEqual(rv.errors[0].code, 'permission-denied');
        assert.strictEqual(source.typed.join(''), 'ls -la\r');

        // Sending the request by hand, around GuestTerminal, is refused the same way.
        await assert.rejects(reader.sendRequest(TerminalMessages.Input, { id: shared.id, data: 'whoami\r' }),
            (error: CollaborationError) => error.code === 'permission-denied');

        // The host's live permission counts: demoted, the writer is refused too.
        await host.setPermission(writer.self.id, 'readonly');
        await until(() => host.getPeer(writer.self.id)?.permission === 'readonly', 'the host demoted the writer');
        await assert.rejects(writer.sendRequest(TerminalMessages.Input, { id: shared.id, data: 'id\r' }),
            (error: CollaborationError) => error.code === 'permission-denied');
        assert.strictEqual(source.typed.join(''), 'ls -la\r');
        assert.deepStrictEqual(refusals, ['Rita RW: permission-denied', 'Olaf RO: permission-denied', 'Olaf RO: permission-denied', 'Rita RW: permission-denied']);

        // Malformed and oversized input never reaches a handler.
        await assert.rejects(writer.sendRequest(TerminalMessages.Input, { id: shared.id, data: 'x'.repeat(5000) }),
            (error: CollaborationError) => error.code === 'invalid-params');
        await assert.rejects(writer.sendRequest(TerminalMessages.Input, { id: shared.id, data: 5 } as never),
            (error: CollaborationError) => error.code === 'invalid-params');
        await assert.rejects(writer.sendRequest(TerminalMessages.Input, { id: 'nope', data: 'ls\r' }),
            (error: CollaborationError) => error.code === 'permission-denied' || error.code === 'not-found');
    });

    it('ignores terminal output that does not come from the host', async () => {
        const forger = await join('Fred Forger', 'readwrite');
        const victim = await join('Vera Victim', 'readonly');
        const terminalHost = new TerminalHost(host, { scrollbackBytes: 1024 });
        const source = new FakeTerminal('$ ');
        const shared = terminalHost.share(source);
        const v = await guestOf(victim);
        await until(() => v.shared.length === 1 && v.shared[0].state === 'live', 'the victim sees the terminal');
        const vv = watch(v.shared[0]);
        await forger.sendBroadcast(TerminalMessages.Output, { id: shared.id, offset: 2, data: 'rm -rf / done\r\n' });
        await forger.sendBroadcast(TerminalMessages.Ended, { id: shared.id, reason: 'stopped' });
        source.output.fire('real\r\n');
        await until(() => vv.text() === '$ real\r\n', 'the real output arrives');
        assert.strictEqual(vv.terminal.ended, false);
    });

    it('tells guests when the host stops sharing or closes the terminal', async () => {
        const writer = await join('Rita RW', 'readwrite');
        const terminalHost = new TerminalHost(host, { scrollbackBytes: 1024 });
        const first = new FakeTerminal();
        const second = new FakeTerminal();
        const a = terminalHost.share(first, { writable: true });
        terminalHost.share(second, { writable: true });
        const w = await guestOf(writer);
        await until(() => w.shared.length === 2, 'the guest sees both terminals');
        const [av, bv] = w.shared[0].id === a.id ? [watch(w.shared[0]), watch(w.shared[1])] : [watch(w.shared[1]), watch(w.shared[0])];

        terminalHost.stop(a.id);
        second.closed.fire();
        await until(() => av.ended.length === 1 && bv.ended.length === 1, 'both end');
        assert.deepStrictEqual([av.ended[0], bv.ended[0]], ['stopped', 'closed']);
        assert.strictEqual(av.terminal.writable, false);
        av.terminal.sendInput('ls\r');
        await delay(50);
        assert.deepStrictEqual(first.typed, [], 'an ended terminal takes no input');
        assert.deepStrictEqual(terminalHost.shared, []);

        // Leaving the session ends what is left for guests.
        const third = new FakeTerminal();
        terminalHost.share(third);
        await until(() => w.guest.all.length === 1, 'the guest sees the new terminal');
        const cv = watch(w.guest.all[0]);
        await host.leave();
        await until(() => cv.ended.length === 1, 'the session end reaches the guest');
        assert.strictEqual(cv.ended[0], 'session-ended');
    });
});
