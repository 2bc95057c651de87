/**
 * A y-websocket client on raw `ws` + y-protocols sync (what the `y-websocket` provider does, minus
 * awareness and reconnection): sync step 1/2 on connect, then every local update is sent and every
 * remote update applied.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import { WebSocket } from 'ws';
import * as Y from 'yjs';

const MESSAGE_SYNC = 0;

export class YWebsocketClient {
    readonly ws: WebSocket;
    readonly opened: Promise<void>;
    /** Resolves when the server's sync step 2 (its full state) has been applied. */
    readonly synced: Promise<void>;
    protected resolveSynced!: () => void;
    protected readonly onUpdate = (update: Uint8Array, origin: unknown) => {
        if (origin !== this) {
            const encoder = encoding.createEncoder();
            encoding.writeVarUint(encoder, MESSAGE_SYNC);
            syncProtocol.writeUpdate(encoder, update);
            this.send(encoding.toUint8Array(encoder));
        }
    };

    constructor(url: string, room: string, readonly doc: Y.Doc = new Y.Doc()) {
        this.synced = new Promise(resolve => this.resolveSynced = resolve);
        this.ws = new WebSocket(`${url.replace(/^http/, 'ws')}/${room}`);
        this.ws.binaryType = 'nodebuffer';
        this.opened = new Promise((resolve, reject) => {
            this.ws.once('open', () => resolve());
            this.ws.once('error', reject);
        });
        this.ws.on('open', () => {
            const encoder = encoding.createEncoder();
            encoding.writeVarUint(encoder, MESSAGE_SYNC);
            syncProtocol.writeSyncStep1(encoder, doc);
            this.send(encoding.toUint8Array(encoder));
        });
        this.ws.on('message', (data: Buffer) => this.receive(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)));
        doc.on('update', this.onUpdate);
    }

    protected receive(message: Uint8Array): void {
        const decoder = decoding.createDecoder(message);
        const type = decoding.readVarUint(decoder);
        if (type !== MESSAGE_SYNC) {
            return; // awareness
        }
        const encoder = encoding.createEncoder();
        encoding.writeVarUint(encoder, MESSAGE_SYNC);
        const syncType = syncProtocol.readSyncMessage(decoder, encoder, this.doc, this);
        if (encoding.length(encoder) > 1) {
            this.send(encoding.toUint8Array(encoder));
        }
        if (syncType === syncProtocol.messageYjsSyncStep2) {
            this.resolveSynced();
        }
    }

    protected send(message: Uint8Array): void {
        if (this.ws.readyState === WebSocket.OPEN) {
            this.ws.send(message);
        }
    }

    /** Bytes queued in the socket, not yet written. */
    get buffered(): number {
        return this.ws.bufferedAmount;
    }

    close(): void {
        this.doc.off('update', this.onUpdate);
        this.ws.close();
    }
}
