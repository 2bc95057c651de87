import * as assert from 'assert';
import * as http from 'http';
import * as net from 'net';
import { e2eSuite, startCollaboration, TheiaWindow, waitFor } from './harness';

/**
 * Shared servers, end to end: Alice runs a web server on her loopback interface and shares it from the
 * Collaborate menu; Bob, a read-only guest, is told where it is available on his machine, opens it from the
 * notification and gets Alice's page through the session; when Alice stops sharing, Bob's port closes.
 */
describe('shared servers (e2e)', function () {
    this.timeout(300_000);

    const suite = e2eSuite('shared-servers');
    let alice: TheiaWindow;
    let bob: TheiaWindow;
    let web: http.Server | undefined;
    let webPort = 0;
    let bobUrl = '';
    const page = '<!doctype html><title>Alice app</title><h1 id="greeting">Hello from Alice\'s server</h1>';

    function get(url: string): Promise<{ status: number; body: string }> {
        return new Promise((resolve, reject) => {
            http.get(url, { agent: false, timeout: 20_000 }, res => {
                let body = '';
                res.setEncoding('utf8');
                res.on('data', chunk => body += chunk);
                res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
            }).on('error', reject).on('timeout', function (this: http.ClientRequest) { this.destroy(new Error('timed out')); });
        });
    }

    function connectResult(port: number): Promise<string> {
        return new Promise(resolve => {
            const socket = net.connect({ host: '127.0.0.1', port });
            socket.once('connect', () => { socket.destroy(); resolve('connected'); });
            socket.once('error', error => resolve((error as NodeJS.ErrnoException).code ?? error.message));
        });
    }

    async function quickInput(window: TheiaWindow, value: string): Promise<void> {
        const widget = window.page.locator('.quick-input-widget');
        await widget.waitFor({ state: 'visible' });
        const input = widget.locator('input').first();
        await input.fill(value);
        await input.press('Enter');
    }

    before(async function () {
        this.timeout(200_000);
        web = http.createServer((req, res) => {
            res.setHeader('content-type', 'text/html');
            res.end(req.url === '/' ? page : `path ${req.url}`);
        });
        await new Promise<void>(resolve => web!.listen(0, '127.0.0.1', resolve));
        webPort = (web.address() as net.AddressInfo).port;
        const [aliceBackend, bobBackend] = await suite.start([{ name: 'shared-servers-alice' }, { name: 'shared-servers-bob' }]);
        alice = await suite.open(aliceBackend, 'alice');
        bob = await suite.open(bobBackend, 'bob');
    });

    after(async () => {
        await new Promise(resolve => web ? web.close(resolve) : resolve(undefined));
    });

    it('Alice hosts, Bob joins read-only', async () => {
        await startCollaboration(alice, bob, { permission: 'readonly' });
    });

    it('Alice shares her web server; read-only Bob gets it on a local port and opens it from the notification', async () => {
        await alice.runMenu('Collaborate', 'Share Server...');
        await quickInput(alice, String(webPort));
        await quickInput(alice, 'Alice app');
        await waitFor(async () => (await alice.notifications()).find(text => /Shared server 'Alice app'.*available to the participants/.test(text)),
            15_000, 'Alice to be told the server is shared');

        const text = await waitFor(async () => (await bob.notifications()).find(text => /^Shared server Alice app available at http:\/\/127\.0\.0\.1:\d+$/.test(text.trim())),
            30_000, 'Bob to be told where the shared server is');
        bobUrl = /http:\/\/127\.0\.0\.1:\d+/.exec(text)![0];
        // Alice's server holds her port on this machine (both backends run here), so Bob got another one.
        assert.notStrictEqual(Number(new URL(bobUrl).port), webPort);

        const direct = await get(`${bobUrl}/some/path?x=1`);
        assert.strictEqual(direct.status, 200);
        assert.strictEqual(direct.body, 'path /some/path?x=1');

        const item = bob.page.locator('.theia-notification-list-item').filter({ has: bob.page.locator('.theia-notification-message', { hasText: /Alice app available/ }) });
        const [popup] = await Promise.all([
            bob.context.waitForEvent('page', { timeout: 30_000 }),
            item.first().locator('.theia-notification-buttons button', { hasText: 'Open' }).click()
        ]);
        // Opened with `noopener`: the tab starts blank, then navigates.
        await popup.waitForURL(`${bobUrl}/`, { timeout: 30_000 });
        assert.strictEqual((await popup.locator('#greeting').textContent({ timeout: 30_000 }))?.trim(), 'Hello from Alice\'s server');
        await popup.close();
        await bob.screenshot('shared-servers-bob-available');
    });

    it('Alice stops sharing: Bob\'s port closes', async () => {
        await alice.runMenu('Collaborate', 'Stop Sharing Server...');
        const port = Number(new URL(bobUrl).port);
        await waitFor(async () => await connectResult(port) === 'ECONNREFUSED', 20_000, 'Bob\'s forwarded port to close');
        const items = await bob.menuItems('Collaborate');
        const openItem = items.find(item => item.label === 'Open Shared Server...');
        assert.ok(!openItem || !openItem.enabled, 'nothing left to open');
    });
});
