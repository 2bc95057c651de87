/**
 * Shared servers after a guest lost the host's list announcements for good (a server without a replay window,
 * a real outage): the guest asks for the list again and forwards exactly the servers the host shares now.
 * Real TCP backends on loopback, as the node port spec uses them.
 */
import * as assert from 'assert';
import * as net from 'net';
import { AddressInfo } from 'net';
import { PortTunnelServiceImpl } from '../../node/ports/port-tunnel-service';
import { offline, until, useMissedMessagesFixture } from '../chat/missed-messages-fixture';
import { PortTunnelGuest } from './port-tunnel-guest';
import { PortTunnelHost } from './port-tunnel-host';

const quiet = { warn: () => undefined, info: () => undefined };

function listen(): Promise<net.Server> {
    return new Promise(resolve => {
        const server = net.createServer(socket => socket.end('hi'));
        server.listen(0, '127.0.0.1', () => resolve(server));
    });
}

describe('shared servers after missed messages', function () {
    this.timeout(60_000);
    const fixture = useMissedMessagesFixture();
    const servers: net.Server[] = [];

    afterEach(() => servers.splice(0).forEach(server => server.close()));

    it('gives a guest that was away exactly the host\'s list of shared servers', async () => {
        for (let i = 0; i < 3; i++) {
            servers.push(await listen());
        }
        const [a, b, c] = servers.map(server => (server.address() as AddressInfo).port);
        const host = await fixture.host();
        const hostBackend = fixture.track(new PortTunnelServiceImpl());
        const hostPorts = fixture.track(new PortTunnelHost(host.session, hostBackend, { logger: quiet }));
        hostBackend.setClient(hostPorts);
        await hostPorts.start();
        await hostPorts.share(a, 'web');
        await hostPorts.share(b, 'api');

        const away = await fixture.join(host.session, 'Away');
        const guestBackend = new PortTunnelServiceImpl();
        const guestPorts = new PortTunnelGuest(away.session, guestBackend, { logger: quiet });
        fixture.track(guestBackend);
        fixture.track(guestPorts);
        guestBackend.setClient(guestPorts);
        await guestPorts.start();
        const shown = () => guestPorts.servers.map(server => `${server.port}:${server.label}`).sort();
        const hosted = () => hostPorts.servers.map(server => `${server.port}:${server.label}`).sort();
        assert.deepStrictEqual(shown(), hosted());

        await offline(away, async () => {
            await hostPorts.unshare(a);
            await hostPorts.share(b, 'api v2');
            await hostPorts.share(c, 'docs');
        });
        assert.deepStrictEqual(hosted(), [`${b}:api v2`, `${c}:docs`].sort());
        await until(() => JSON.stringify(shown()) === JSON.stringify(hosted()), 'the guest forwards what the host shares now');
        await guestPorts.settled();
        assert.deepStrictEqual(shown(), hosted());

        // Live announcements keep working afterwards.
        await hostPorts.unshare(c);
        await until(() => guestPorts.servers.length === 1, 'a live change arrives');
        assert.deepStrictEqual(shown(), hosted());
    });
});
