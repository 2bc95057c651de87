/**
 * Shared terminals after a guest lost messages for good (a server without a replay window, a real outage):
 * the guest asks for the list again and refills every terminal from the host's scrollback, replacing (not
 * appending to) what it showed; terminals stopped meanwhile end, terminals shared meanwhile open.
 */
import * as assert from 'assert';
import { Emitter } from '@theia-collab/protocol';
import { until, useMissedMessagesFixture } from '../chat/missed-messages-fixture';
import { GuestTerminal, TerminalGuest } from './terminal-guest';
import { TerminalHost, TerminalSource } from './terminal-host';
import { TerminalSnapshotResult } from './terminal-protocol';

class FakeTerminal implements TerminalSource {
    dimensions = { cols: 80, rows: 24 };
    readonly output = new Emitter<string>();
    readonly closed = new Emitter<void>();
    readonly resized = new Emitter<{ cols: number; rows: number }>();
    readonly onOutput = this.output.event;
    readonly onClosed = this.closed.event;
    readonly onDimensionsChanged = this.resized.event;
    constructor(readonly title: string, protected readonly seed = '') { }
    initialContent(): string { return this.seed; }
    sendText(): void { }
}

/** What a guest's view of a terminal shows: everything written since the last reset. */
function view(terminal: GuestTerminal): () => string {
    let text = terminal.text;
    terminal.onData(data => text += data);
    terminal.onDidReset(() => text = '');
    return () => text;
}

function scrollback(host: TerminalHost, id: string): string {
    return (host as unknown as { snapshot(id: string): TerminalSnapshotResult }).snapshot(id).data;
}

describe('shared terminals after missed messages', function () {
    this.timeout(60_000);
    const fixture = useMissedMessagesFixture();

    it('refills the scrollback of a guest that was away, ends stopped terminals and opens new ones', async () => {
        const host = await fixture.host();
        const terminalHost = fixture.track(new TerminalHost(host.session, { scrollbackBytes: 64 * 1024, flushDelay: 1 }));
        const main = new FakeTerminal('main', 'hana@box:~$ ');
        const other = new FakeTerminal('other', 'other$ ');
        const mainShare = terminalHost.share(main);
        const otherShare = terminalHost.share(other);

        const away = await fixture.join(host.session, 'Away Ana');
        const guest = fixture.track(new TerminalGuest(away.session, { historyBytes: 64 * 1024 }));
        const shared: GuestTerminal[] = [];
        guest.onDidShare(terminal => shared.push(terminal));
        await guest.start();
        await until(() => shared.length === 2 && shared.every(terminal => terminal.state === 'live'), 'both terminals are live');
        const mainView = view(guest.get(mainShare.id)!);
        const otherEnded: string[] = [];
        guest.get(otherShare.id)!.onDidEnd(reason => otherEnded.push(reason));

        main.output.fire('ls\r\n');
        await until(() => mainView() === 'hana@box:~$ ls\r\n', 'live output arrives');

        let third: FakeTerminal | undefined;
        await fixture.offline(away, async () => {
            main.output.fire('a.txt  b.txt\r\n');
            main.output.fire('\x1b[32mhana@box:~$ \x1b[0m');
            terminalHost.stop(otherShare.id);
            third = new FakeTerminal('third', 'third$ ');
            terminalHost.share(third);
            third.output.fire('make\r\n');
            await new Promise(resolve => setTimeout(resolve, 50));
        });
        const thirdShare = terminalHost.find(third!)!;
        await until(() => guest.all.length === 2 && guest.get(thirdShare.id)?.state === 'live'
            && mainView() === scrollback(terminalHost, mainShare.id), 'the guest catches up');

        assert.deepStrictEqual(guest.all.map(terminal => terminal.id).sort(), terminalHost.shared.map(terminal => terminal.id).sort());
        assert.strictEqual(mainView(), 'hana@box:~$ ls\r\na.txt  b.txt\r\n\x1b[32mhana@box:~$ \x1b[0m', 'the scrollback, once');
        assert.strictEqual(guest.get(mainShare.id)!.text, scrollback(terminalHost, mainShare.id));
        assert.strictEqual(guest.get(thirdShare.id)!.text, 'third$ make\r\n');
        assert.deepStrictEqual(otherEnded, ['stopped']);
        assert.strictEqual(guest.get(otherShare.id), undefined);

        // Live output continues after the snapshot, once.
        main.output.fire('echo done\r\n');
        await until(() => mainView().endsWith('echo done\r\n'), 'live output after the resync');
        assert.strictEqual(mainView(), scrollback(terminalHost, mainShare.id));
    });
});
