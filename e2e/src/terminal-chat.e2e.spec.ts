import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { e2eSuite, GuestPermission, joinSession, startSession, TheiaBackend, TheiaWindow, waitFor } from './harness';

/**
 * Shared terminal and chat, end to end: one coordination server, three Theia backends, four browser windows.
 * Alice hosts; Bob joins read-write, Carol read-only, Dave late. Alice shares a terminal with one click,
 * guests see its raw output; Bob types a command that creates a file on Alice's disk, Carol's typing is
 * refused; chat goes both ways, Dave sees what was said before, markup stays text.
 */
describe('shared terminal and chat (e2e)', function () {
    this.timeout(300_000);

    const suite = e2eSuite('terminal-chat');
    let alice: TheiaWindow;
    let bob: TheiaWindow;
    let carol: TheiaWindow;
    let inviteCode = '';
    const alerts: string[] = [];

    function hostWorkspace(): string {
        return suite.backends[0].workspace;
    }

    async function open(backend: TheiaBackend, name: string): Promise<TheiaWindow> {
        const window = await suite.open(backend, name);
        window.page.on('dialog', dialog => {
            alerts.push(`${name}: ${dialog.type()} ${dialog.message()}`);
            dialog.dismiss().catch(() => undefined);
        });
        return window;
    }

    async function join(guest: TheiaWindow, name: string, permission: GuestPermission): Promise<void> {
        await joinSession(alice, guest, inviteCode, { name, permission });
    }

    /** Clicks the action button of the notification whose message matches `message`. */
    async function clickNotificationAction(window: TheiaWindow, message: RegExp, action: string): Promise<void> {
        const item = window.page.locator('.theia-notification-list-item').filter({ has: window.page.locator('.theia-notification-message', { hasText: message }) });
        await item.first().waitFor({ state: 'visible', timeout: 30_000 });
        await item.first().locator('.theia-notification-buttons button', { hasText: action }).click();
    }

    async function waitForNotification(window: TheiaWindow, pattern: RegExp, timeoutMs = 15_000): Promise<string> {
        return waitFor(async () => (await window.notifications()).find(text => pattern.test(text)), timeoutMs,
            `${window.name}: a notification matching ${pattern}`);
    }

    function guestTerminal(window: TheiaWindow) {
        return window.page.locator('.collaboration-guest-terminal').first();
    }

    async function guestTerminalText(window: TheiaWindow): Promise<string> {
        return (await guestTerminal(window).locator('.xterm-rows').innerText().catch(() => '')).replace(/\u00a0/g, ' ');
    }

    async function typeIntoGuestTerminal(window: TheiaWindow, text: string): Promise<void> {
        await guestTerminal(window).locator('.xterm-screen').click();
        await window.page.keyboard.type(text, { delay: 15 });
        await window.page.keyboard.press('Enter');
    }

    function chatTab(window: TheiaWindow) {
        return window.page.locator('#shell-tab-collaboration-chat');
    }

    /** Opens the chat view (its tab appears in the right side bar when a session starts). */
    async function openChat(window: TheiaWindow): Promise<void> {
        const view = window.page.locator('#collaboration-chat');
        if (!await view.isVisible()) {
            await chatTab(window).click();
        }
        await view.waitFor({ state: 'visible' });
    }

    async function sendChat(window: TheiaWindow, text: string): Promise<void> {
        await openChat(window);
        const input = window.page.locator('#collaboration-chat textarea.collaboration-chat-input');
        await input.fill(text);
        await input.press('Enter');
        await waitFor(async () => (await input.inputValue()) === '', 10_000, `${window.name}: the chat input to clear after sending`);
    }

    async function chatMessages(window: TheiaWindow): Promise<{ author: string; text: string }[]> {
        return window.page.locator('#collaboration-chat .collaboration-chat-message').evaluateAll(nodes => nodes.map(node => ({
            author: node.querySelector('.collaboration-chat-author')?.textContent ?? '',
            text: node.querySelector('.collaboration-chat-text')?.textContent ?? ''
        })));
    }

    async function waitForChat(window: TheiaWindow, count: number): Promise<{ author: string; text: string }[]> {
        await openChat(window);
        return waitFor(async () => {
            const messages = await chatMessages(window);
            return messages.length >= count ? messages : undefined;
        }, 15_000, `${window.name}: ${count} chat messages`);
    }

    before(async function () {
        this.timeout(200_000);
        const env = { SHELL: '/bin/bash', THEIA_SHELL: '/bin/bash' };
        const [aliceBackend, bobBackend, carolBackend] = await suite.start([
            { name: 'terminal-chat-host', env, files: { 'README.md': '# Alice\n' } },
            { name: 'terminal-chat-bob', env },
            { name: 'terminal-chat-carol', env }
        ]);
        alice = await open(aliceBackend, 'alice');
        bob = await open(bobBackend, 'bob');
        carol = await open(carolBackend, 'carol');
    });

    it('Alice hosts; Bob joins read-write and Carol read-only', async () => {
        inviteCode = await startSession(alice, 'Alice');

        await join(bob, 'Bob', 'readwrite');
        await join(carol, 'Carol', 'readonly');
        await alice.waitForStatusBarText('collaboration-status', /Collaborating · 3 participants$/);
    });

    let marker = '';

    it('Alice opens a terminal, shares it with one click; guests see its output', async () => {
        await alice.runMenu('Terminal', 'New Terminal');
        await clickNotificationAction(alice, /opened a terminal during a collaboration session/, 'Share with participants');
        for (const guest of [bob, carol]) {
            await guestTerminal(guest).waitFor({ state: 'visible', timeout: 30_000 });
        }
        const terminal = alice.page.locator('.terminal-container:visible').first();
        await terminal.click();
        await alice.page.keyboard.type('echo collab-$RANDOM | tee host-marker.txt', { delay: 10 });
        await alice.page.keyboard.press('Enter');
        const markerFile = path.join(hostWorkspace(), 'host-marker.txt');
        marker = await waitFor(() => {
            const content = fs.existsSync(markerFile) ? fs.readFileSync(markerFile, 'utf8').trim() : '';
            return /^collab-\d+$/.test(content) ? content : undefined;
        }, 20_000, 'the host command to run');
        for (const guest of [bob, carol]) {
            await waitFor(async () => (await guestTerminalText(guest)).split('\n').some(line => line.trim() === marker), 20_000,
                `${guest.name} to see ${marker} printed in the shared terminal`);
        }
        const status = await guestTerminal(carol).locator('.collaboration-guest-terminal-status').textContent();
        assert.match(status ?? '', /read-only/);
        await alice.screenshot('terminal-chat-host-terminal');
        await bob.screenshot('terminal-chat-bob-terminal');
    });

    it('read-only until Alice allows typing; then Bob\'s command runs on Alice\'s machine', async () => {
        await typeIntoGuestTerminal(bob, 'touch too-early.txt');
        await waitForNotification(bob, /read-only/);
        assert.ok(!fs.existsSync(path.join(hostWorkspace(), 'too-early.txt')));

        await alice.page.locator('.terminal-container:visible').first().click();
        await alice.runMenu('Terminal', 'Let Participants Type in Shared Terminal');
        await waitFor(async () => /you can type here/.test(await guestTerminal(bob).locator('.collaboration-guest-terminal-status').textContent() ?? ''),
            15_000, 'Bob to learn he may type');

        await typeIntoGuestTerminal(bob, 'echo from bob > from-bob.txt');
        const created = path.join(hostWorkspace(), 'from-bob.txt');
        await waitFor(() => fs.existsSync(created) && fs.readFileSync(created, 'utf8') === 'from bob\n', 20_000, 'from-bob.txt on Alice\'s disk');
        await waitForNotification(alice, /Bob is typing in the shared terminal/);
        await waitFor(async () => (await guestTerminalText(carol)).includes('echo from bob > from-bob.txt'), 15_000,
            'Carol to see Bob\'s command echoed');
        await alice.screenshot('terminal-chat-host-sees-bob');
        await bob.screenshot('terminal-chat-bob-typed');
    });

    it('Carol is read-only: her typing is refused and nothing runs', async () => {
        const before = await guestTerminalText(carol);
        await typeIntoGuestTerminal(carol, 'touch from-carol.txt');
        const refusal = await waitForNotification(carol, /read-only/);
        assert.match(refusal, /cannot type/);
        await new Promise(resolve => setTimeout(resolve, 2000));
        assert.ok(!fs.existsSync(path.join(hostWorkspace(), 'from-carol.txt')), 'Carol\'s command must not run');
        assert.ok(!(await guestTerminalText(carol)).includes('from-carol'), 'nothing Carol typed reached the terminal');
        assert.ok(before.length > 0);
        await carol.screenshot('terminal-chat-carol-refused');
    });

    const html = '<img src=x onerror=alert(1)>';

    it('chat goes both ways, with an unread badge and a notification while the view is hidden', async () => {
        await sendChat(bob, 'Hi Alice, Bob here');
        // Alice's chat view is not open: a badge on its tab and a notification.
        await waitForNotification(alice, /Bob: Hi Alice, Bob here/);
        await chatTab(alice).locator('.theia-badge-decorator-sidebar', { hasText: '1' }).waitFor({ state: 'visible', timeout: 15_000 });
        await alice.screenshot('terminal-chat-host-unread');

        const aliceSees = await waitForChat(alice, 1);
        assert.deepStrictEqual(aliceSees, [{ author: 'Bob', text: 'Hi Alice, Bob here' }]);
        await chatTab(alice).locator('.theia-badge-decorator-sidebar').waitFor({ state: 'detached', timeout: 10_000 });

        await sendChat(alice, 'Welcome Bob and Carol!');
        await sendChat(carol, html);
        // Alice's chat view is open now: Carol's message shows there, with no toast over the chat input.
        await waitForChat(alice, 3);
        await new Promise(resolve => setTimeout(resolve, 1000));
        assert.ok(!(await alice.notifications()).some(text => /^Carol:/.test(text.trim())), `no chat toast while the chat shows: ${await alice.notifications()}`);
        const expected = [
            { author: 'Bob', text: 'Hi Alice, Bob here' },
            { author: 'Alice', text: 'Welcome Bob and Carol!' },
            { author: 'Carol', text: html }
        ];
        for (const window of [alice, bob, carol]) {
            assert.deepStrictEqual(await waitForChat(window, 3), expected, window.name);
            // Markup is text: no image element was created from it.
            assert.strictEqual(await window.page.locator('#collaboration-chat .collaboration-chat-text img').count(), 0);
        }
        await alice.screenshot('terminal-chat-host-chat');
        await carol.screenshot('terminal-chat-carol-chat');
    });

    it('Dave joins late and sees the earlier messages and the terminal\'s scrollback', async () => {
        const dave = await open(suite.backends[2], 'dave');
        await join(dave, 'Dave', 'readonly');
        const messages = await waitForChat(dave, 3);
        assert.deepStrictEqual(messages.map(message => message.text), ['Hi Alice, Bob here', 'Welcome Bob and Carol!', html]);
        assert.strictEqual(await dave.page.locator('#collaboration-chat .collaboration-chat-text img').count(), 0);
        await guestTerminal(dave).waitFor({ state: 'visible', timeout: 30_000 });
        // The scrollback is replayed into Dave's terminal, whose width differs (the chat view is open beside it):
        // the host's prompt lines wrap differently, so the printed marker may share a row with a wrapped command.
        await waitFor(async () => (await guestTerminalText(dave)).includes(marker), 20_000,
            'Dave to see the earlier output in the scrollback');
        await sendChat(dave, 'Sorry I am late');
        await waitFor(async () => (await chatMessages(bob)).some(message => message.author === 'Dave' && message.text === 'Sorry I am late'),
            15_000, 'Bob to get Dave\'s message');
        await dave.screenshot('terminal-chat-late-joiner');
        assert.deepStrictEqual(alerts, [], 'no script ran from a chat message');
    });

    it('Alice stops sharing: guests are told and their stale terminal tabs close', async () => {
        // The host's tab says the terminal is shared.
        assert.strictEqual(await alice.page.locator('#theia-bottom-content-panel .lm-TabBar-tab.collaboration-shared-terminal').count(), 1);
        await alice.page.locator('.terminal-container:visible').first().click();
        await alice.runMenu('Terminal', 'Stop Sharing Terminal');
        // (Before: the guest's tab stayed, saying sharing stopped. Now it closes, and a notification says why.)
        for (const guest of [bob, carol]) {
            await waitForNotification(guest, /The host stopped sharing the terminal/);
            await waitFor(async () => await guest.page.locator('.collaboration-guest-terminal').count() === 0, 15_000,
                `${guest.name}: the shared terminal's tab to close`);
        }
        assert.strictEqual(await alice.page.locator('#theia-bottom-content-panel .lm-TabBar-tab.collaboration-shared-terminal').count(), 0);
        await new Promise(resolve => setTimeout(resolve, 1500));
        assert.ok(!fs.existsSync(path.join(hostWorkspace(), 'after-stop.txt')));
        await bob.screenshot('terminal-chat-bob-stopped');
    });
});
