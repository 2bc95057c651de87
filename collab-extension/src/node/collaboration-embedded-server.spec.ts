import * as assert from 'assert';
import * as http from 'http';
import * as net from 'net';
import { startServer } from '@theia-collab/server';
import { CollaborationError } from '@theia-collab/protocol';
import { isCoordinationServer, parsePort, RunningCoordinationServer, startOrReuseServer } from './collaboration-embedded-server';

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer().on('error', reject).listen(0, '127.0.0.1', () => {
            const { port } = server.address() as net.AddressInfo;
            server.close(() => resolve(port));
        });
    });
}

const start = (options: { hostname: string; port: number }) => startServer({ ...options, logLevel: 'silent' });

describe('embedded coordination server', () => {
    const toClose: (() => Promise<void>)[] = [];
    afterEach(async () => {
        while (toClose.length) {
            await toClose.pop()!();
        }
    });

    it('starts a server on a free port', async () => {
        const port = await freePort();
        const result = await startOrReuseServer({ hostname: '127.0.0.1', port, start });
        assert.strictEqual(result.kind, 'started');
        toClose.push(() => (result as { server: RunningCoordinationServer }).server.close());
        assert.strictEqual(result.url, `http://127.0.0.1:${port}`);
        assert.ok(await isCoordinationServer(result.url));
    });

    it('reuses a coordination server that already holds the port', async () => {
        const port = await freePort();
        const first = await startOrReuseServer({ hostname: '127.0.0.1', port, start });
        toClose.push(() => (first as { server: RunningCoordinationServer }).server.close());
        const second = await startOrReuseServer({ hostname: '127.0.0.1', port, start });
        assert.deepStrictEqual(second, { kind: 'reused', url: `http://127.0.0.1:${port}` });
    });

    it('refuses a port held by another program, with a message that says what to do', async () => {
        const other = http.createServer((_, response) => response.writeHead(404).end('not ours'));
        await new Promise<void>(resolve => other.listen(0, '127.0.0.1', resolve));
        toClose.push(() => new Promise(resolve => other.close(() => resolve())));
        const { port } = other.address() as net.AddressInfo;
        await assert.rejects(startOrReuseServer({ hostname: '127.0.0.1', port, start }), (error: unknown) =>
            error instanceof CollaborationError && /COLLAB_EMBEDDED_PORT/.test(error.message) && error.message.includes(String(port)));
        assert.strictEqual(await isCoordinationServer(`http://127.0.0.1:${port}`), false);
    });

    it('passes other start errors through', async () => {
        const failure = new Error('boom');
        await assert.rejects(startOrReuseServer({ hostname: '127.0.0.1', port: 1, start: () => Promise.reject(failure), probe: async () => true }), failure);
    });

    it('parses ports', () => {
        assert.strictEqual(parsePort(undefined, 8100), 8100);
        assert.strictEqual(parsePort(' ', 8100), 8100);
        assert.strictEqual(parsePort('9000', 8100), 9000);
        assert.throws(() => parsePort('http', 8100));
        assert.throws(() => parsePort('70000', 8100));
    });
});
