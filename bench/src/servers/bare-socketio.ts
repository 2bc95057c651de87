/**
 * The baseline: a bare socket.io 4.8 server (the same socket.io the collab-server uses) that only joins
 * rooms and forwards with `socket.to(room).emit(...)`. No authentication, validation, limits or state.
 *
 *   node bare-socketio.js <port>
 */
import * as http from 'http';
import * as path from 'path';
import type { Server as ServerType } from 'socket.io';

// socket.io as resolved from the collab-server package: same version on both sides of the comparison.
const { Server } = require(require.resolve('socket.io', { paths: [path.resolve(__dirname, '..', '..', '..', 'collab-server')] })) as typeof import('socket.io');

const port = Number(process.argv[2]);
const httpServer = http.createServer((_request, response) => response.writeHead(404).end());
const io: ServerType = new Server(httpServer, { serveClient: false });

io.on('connection', socket => {
    socket.on('join', (room: string, ack?: () => void) => {
        socket.join(room);
        ack?.();
    });
    socket.on('relay', (envelope: { room: string }) => {
        socket.to(envelope.room).emit('relay', envelope);
    });
});

httpServer.listen(port, '127.0.0.1', () => process.stdout.write(`bare socket.io listening on ${port}\n`));
process.on('SIGTERM', () => {
    io.close();
    httpServer.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
});
