/**
 * The document sync baseline: a y-websocket server (`@y/websocket-server` 0.1.1, in memory, no
 * persistence), the same as its own `server.js` but on a given port of 127.0.0.1.
 *
 *   node y-websocket.js <port>
 */
import * as http from 'http';
import { WebSocketServer } from 'ws';
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { setupWSConnection } = require('@y/websocket-server/utils') as { setupWSConnection: (conn: unknown, request: http.IncomingMessage) => void };

const port = Number(process.argv[2]);
const wss = new WebSocketServer({ noServer: true });
const server = http.createServer((_request, response) => {
    response.writeHead(200, { 'Content-Type': 'text/plain' });
    response.end('okay');
});
wss.on('connection', setupWSConnection);
server.on('upgrade', (request, socket, head) => {
    wss.handleUpgrade(request, socket, head, ws => wss.emit('connection', ws, request));
});
server.listen(port, '127.0.0.1', () => process.stdout.write(`y-websocket listening on ${port}\n`));
process.on('SIGTERM', () => {
    wss.clients.forEach(client => client.terminate());
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
});
