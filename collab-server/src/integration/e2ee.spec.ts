import * as assert from 'node:assert/strict';
import { z } from 'zod';
import { generateSessionKeyPair, fingerprint } from '@theia-collab/protocol/lib/crypto';
import { openBody, EnvelopeHeader } from '@theia-collab/protocol/lib/envelope-codec';
import { Broadcast, Notification, Request } from '@theia-collab/protocol/lib/messages';
import type { CollaborationSession, Peer } from '@theia-collab/protocol/lib/session';
import type { RelayedEnvelope } from '@theia-collab/protocol/lib/wire';
import { peerChannel } from '../socket-state';
import { collector, delay, impl, next, rejection, serverOf, SessionFixture, until } from './session-fixture';

const SECRET = 'TOP-SECRET-4f9a1c-the-launch-code-is-0451';
const FILE_PATH = '/home/ada/projects/rocket/src/guidance/launch-codes.ts';

const DocumentChanged = Broadcast.define<{ path: string; text: string }>('e2ee/document-changed',
    { params: z.object({ path: z.string(), text: z.string() }) });
const OpenDocument = Request.define<{ path: string }, { path: string; text: string; bytes: Uint8Array }>('e2ee/open-document');
const Cursor = Notification.define<{ path: string; line: number }>('e2ee/cursor');
const Note = Broadcast.define<{ text: string }>('e2ee/note');

function capturingRelays(session: CollaborationSession): RelayedEnvelope[] {
    const target = impl(session);
    const seen: RelayedEnvelope[] = [];
    const original = target.receiveEnvelope.bind(target);
    target.receiveEnvelope = payload => {
        seen.push(payload as RelayedEnvelope);
        return original(payload);
    };
    return seen;
}

function headerOf(envelope: RelayedEnvelope): EnvelopeHeader {
    return { room: envelope.room, sender: envelope.sender, kind: envelope.kind, target: envelope.target, id: envelope.id, seq: envelope.seq, key: envelope.key };
}

describe('end-to-end encryption against a real server', function () {
    this.timeout(20000);

    describe('what the server sees', () => {
        let fixture: SessionFixture;
        const frames: { direction: 'in' | 'out'; data: string | Uint8Array }[] = [];

        before(async () => {
            fixture = await SessionFixture.start();
            // Every engine.io packet the server receives from or sends to any client.
            serverOf(fixture).io.engine.on('connection', (socket: any) => {
                socket.on('packet', (packet: { data?: unknown }) => record('in', packet.data));
                socket.on('packetCreate', (packet: { data?: unknown }) => record('out', packet.data));
            });
            function record(direction: 'in' | 'out', data: unknown): void {
                if (typeof data === 'string') {
                    frames.push({ direction, data });
                } else if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
                    frames.push({ direction, data: Buffer.from(data instanceof ArrayBuffer ? data : data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) });
                }
            }
        });

        after(async () => {
            await fixture?.close();
        });

        it('relays documents and file paths without ever seeing them', async () => {
            const { host, guests: [guest1, guest2] } = await fixture.room(2);
            const documentBytes = new TextEncoder().encode(`// ${SECRET}\n`);
            host.onRequest(OpenDocument, params => ({ path: params.path, text: `export const code = '${SECRET}';`, bytes: documentBytes }));
            const changes = collector<{ path: string; text: string }>();
            host.onBroadcast(DocumentChanged, changes.push);
            guest2.onBroadcast(DocumentChanged, changes.push);
            const cursors = collector<{ path: string; line: number }>();
            guest2.onNotification(Cursor, cursors.push);

            const opened = await guest1.sendRequest(OpenDocument, { path: FILE_PATH });
            assert.equal(opened.text, `export const code = '${SECRET}';`);
            assert.deepEqual(Buffer.from(opened.bytes), Buffer.from(documentBytes));
            await guest1.sendBroadcast(DocumentChanged, { path: FILE_PATH, text: `${SECRET} edited` });
            await host.sendNotification(Cursor, { path: FILE_PATH, line: 3 }, guest2.self.id);
            await until(() => changes.items.length === 2 && cursors.items.length === 1, 'everything arrives');
            assert.deepEqual(cursors.items, [{ path: FILE_PATH, line: 3 }]);

            const texts = frames.map(frame => typeof frame.data === 'string' ? frame.data : Buffer.from(frame.data).toString('latin1'));
            // The capture sees real traffic in both directions: routing headers, names and sealed binary data.
            assert.ok(frames.some(frame => frame.direction === 'in' && typeof frame.data === 'string' && frame.data.includes(host.roomId)));
            assert.ok(frames.some(frame => frame.direction === 'out' && typeof frame.data === 'string' && frame.data.includes('Guest 2')));
            const binary = frames.filter(frame => typeof frame.data !== 'string');
            assert.ok(binary.filter(frame => frame.direction === 'in').length >= 4, 'sealed envelopes were captured');
            assert.ok(binary.filter(frame => frame.direction === 'out').length >= 4, 'relayed envelopes were captured');
            for (const needle of [SECRET, FILE_PATH, 'launch-codes', 'the-launch-code', Buffer.from(SECRET).toString('base64')]) {
                const leaks = texts.filter(text => text.includes(needle));
                assert.equal(leaks.length, 0, `'${needle}' appeared in ${leaks.length} frame(s)`);
            }
            const utf16 = Buffer.from(SECRET, 'utf16le').toString('latin1');
            assert.ok(!texts.some(text => text.includes(utf16)));
        });
    });

    describe('key rotation', () => {
        let fixture: SessionFixture;

        before(async () => {
            fixture = await SessionFixture.start();
        });

        after(async () => {
            await fixture?.close();
        });

        it('leaves a removed guest unable to read anything sent afterwards', async () => {
            const { host, guests: [removed, staying] } = await fixture.room(2);
            const removedKeys = impl(removed).keys.ids().map(id => impl(removed).keys.get(id)!);
            assert.equal(removedKeys.length, 1);
            const atRemoved = collector<{ text: string }>();
            removed.onBroadcast(Note, atRemoved.push);
            const atStaying = collector<{ text: string }>();
            staying.onBroadcast(Note, atStaying.push);
            await host.sendBroadcast(Note, { text: 'before' });
            await until(() => atRemoved.items.length === 1 && atStaying.items.length === 1, 'both guests read the first note');

            const relayed = capturingRelays(staying);
            const closed = next(removed.onClose);
            await host.removePeer(removed.self.id);
            assert.equal((await closed).reason, 'removed');
            assert.equal(impl(host).keys.currentKeyId, 1);
            await host.sendBroadcast(Note, { text: `after ${SECRET}` });
            await until(() => atStaying.items.length === 2, 'the staying guest reads the second note');
            assert.deepEqual(atStaying.items[1], { text: `after ${SECRET}` });
            assert.equal(impl(staying).keys.currentKeyId, 1);
            assert.equal(atRemoved.items.length, 1);

            // The last broadcast is the note (the host's new roster went before it).
            const envelope = relayed.filter(item => item.kind === 'broadcast').pop()!;
            assert.equal(envelope.key, 1);
            const header = headerOf(envelope);
            // Control: the envelope opens with the new key the staying guest holds.
            assert.deepEqual(await openBody(impl(staying).keys.get(1)!, header, new Uint8Array(envelope.data as Uint8Array)),
                { m: 'e2ee/note', p: { text: `after ${SECRET}` } });
            // Every key the removed guest ever held fails, whatever key id one claims.
            for (const key of removedKeys) {
                for (const claimed of [header, { ...header, key: 0 }]) {
                    assert.equal((await rejection(openBody(key, claimed, new Uint8Array(envelope.data as Uint8Array)))).code, 'decrypt-failed');
                }
            }

            // And the staying guest still talks to the host with the new key.
            const atHost = collector<{ text: string }>();
            host.onBroadcast(Note, atHost.push);
            await staying.sendBroadcast(Note, { text: 'still here' });
            await until(() => atHost.items.length === 1, 'the host reads the staying guest');
        });

        it('rotates when a guest leaves on its own', async () => {
            const { host, guests: [leaving, staying] } = await fixture.room(2);
            const keyBefore = impl(leaving).keys.get(0)!;
            await leaving.leave();
            await until(() => impl(host).keys.currentKeyId === 1 && impl(staying).keys.currentKeyId === 1, 'the key rotated');
            const relayed = capturingRelays(staying);
            const notes = collector<{ text: string }>();
            staying.onBroadcast(Note, notes.push);
            await host.sendBroadcast(Note, { text: SECRET });
            await until(() => notes.items.length === 1, 'the note arrives');
            const envelope = relayed[0];
            assert.equal((await rejection(openBody(keyBefore, { ...headerOf(envelope), key: 0 }, new Uint8Array(envelope.data as Uint8Array)))).code, 'decrypt-failed');
        });

        it('gives guests admitted after a rotation the current key', async () => {
            const { host, guests: [first] } = await fixture.room(1);
            await host.removePeer(first.self.id);
            host.onJoinRequest(request => request.admit('readwrite'));
            const late = await (await fixture.connect('Late')).joinSession(host.invite!.code);
            assert.equal(impl(late).keys.currentKeyId, 1);
            const notes = collector<{ text: string }>();
            late.onBroadcast(Note, notes.push);
            await host.sendBroadcast(Note, { text: 'welcome' });
            await until(() => notes.items.length === 1, 'the late guest reads');
        });
    });

    describe('a dishonest server', () => {
        let fixture: SessionFixture;
        let host: CollaborationSession;
        let guest1: CollaborationSession;
        let guest2: CollaborationSession;

        before(async () => {
            fixture = await SessionFixture.start();
            ({ host, guests: [guest1, guest2] } = await fixture.room(2));
        });

        after(async () => {
            await fixture?.close();
        });

        function inject(peer: Peer, event: string, payload: unknown): void {
            (serverOf(fixture).io.to(peerChannel(peer.id)) as any).emit(event, payload);
        }

        it('cannot replay, rewrite, re-address or corrupt envelopes', async () => {
            const notes = collector<[string, string]>();
            guest1.onBroadcast(Note, (params, sender) => notes.push([params.text, sender.id]));
            const pings = collector<number>();
            guest2.onNotification(Cursor, params => pings.push(params.line));
            const errors = collector<{ code: string; sender?: string }>();
            guest1.onMessageError(errors.push);
            guest2.onMessageError(errors.push);
            const relayed = capturingRelays(guest1);

            await host.sendBroadcast(Note, { text: 'genuine' });
            await host.sendNotification(Cursor, { path: FILE_PATH, line: 7 }, guest1.self.id);
            await until(() => notes.items.length === 1 && relayed.length === 2, 'the genuine messages arrive');
            const [broadcast, notification] = relayed;
            const data = new Uint8Array(broadcast.data as Uint8Array);
            const flipped = data.slice();
            flipped[flipped.length - 1] ^= 1;

            inject(guest1.self, 'relay', broadcast);                                                   // replay
            inject(guest1.self, 'relay', { ...broadcast, seq: broadcast.seq + 100 });                   // forged seq
            inject(guest1.self, 'relay', { ...broadcast, seq: broadcast.seq + 101, sender: guest2.self.id }); // rewritten sender
            inject(guest1.self, 'relay', { ...broadcast, seq: broadcast.seq + 102, data: flipped });    // corrupted
            inject(guest2.self, 'relay', { ...notification, target: guest2.self.id });                  // re-addressed
            inject(guest2.self, 'relay', notification);                                                 // not for guest2
            inject(guest1.self, 'relay', 'garbage');
            inject(guest1.self, 'relay', { room: host.roomId, sender: host.self.id, kind: 'broadcast', seq: 1e6, key: 0, data: 'text' });
            // The string cannot be attributed to a room: dropped by the client; the other seven are reported.
            await until(() => errors.items.length === 7, 'every forgery is reported');
            await delay(100);
            assert.deepEqual(errors.items.map(error => error.code).sort(), [
                'bad-request', 'bad-request', 'decrypt-failed', 'decrypt-failed', 'decrypt-failed', 'decrypt-failed', 'decrypt-failed'
            ]);
            assert.deepEqual(notes.items, [['genuine', host.self.id]]);
            assert.deepEqual(pings.items, []);
            assert.equal(guest1.closed || guest2.closed, false);

            // The session goes on: the genuine sequence continues after the forgeries.
            await host.sendBroadcast(Note, { text: 'still genuine' });
            await until(() => notes.items.length === 2, 'the next genuine message arrives');
            assert.equal(fixture.logger.records.filter(record => record.level === 'warn').length >= 7, true);
        });

        it('cannot hand out room keys or add peers in the host\'s name', async () => {
            const errors = collector<{ code: string }>();
            guest1.onMessageError(errors.push);
            const keyId = impl(guest1).keys.currentKeyId;
            inject(guest1.self, 'room:key', { roomId: host.roomId, keyId: keyId + 1, from: guest2.self.id, keyMaterial: new Uint8Array(60) });
            inject(guest1.self, 'room:key', { roomId: host.roomId, keyId: keyId + 1, from: host.self.id, keyMaterial: new Uint8Array(60) });
            await until(() => errors.items.length === 2, 'both forged keys are refused');
            assert.deepEqual(errors.items.map(error => error.code), ['forbidden', 'decrypt-failed']);
            assert.equal(impl(guest1).keys.currentKeyId, keyId);

            const stranger = await generateSessionKeyPair();
            inject(host.self, 'room:peer-joined', {
                roomId: host.roomId,
                peer: { id: 'mallory', userId: 'anonymous:mallory', name: 'Mallory', role: 'guest', permission: 'readwrite', publicKey: stranger.publicKeyEncoded }
            });
            await delay(100);
            assert.equal(host.getPeer('mallory'), undefined);
            assert.equal(host.peers.length, 3);
        });
    });

    describe('host key fingerprint', () => {
        let fixture: SessionFixture;

        before(async () => {
            fixture = await SessionFixture.start();
        });

        after(async () => {
            await fixture?.close();
        });

        it('stops a join whose host key does not match the invite', async () => {
            const host = await (await fixture.connect('Host')).createSession();
            host.onJoinRequest(request => request.admit('readwrite'));
            const other = await fingerprint((await generateSessionKeyPair()).publicKeyEncoded);
            const tampered = `${host.roomId}#${other}.${host.invite!.secret}`;
            const left = next(host.onPeerLeft);
            const guestClient = await fixture.connect('Guest');
            const error = await rejection(guestClient.joinSession(tampered));
            assert.equal(error.code, 'fingerprint-mismatch');
            // The guest walked out again and can still join with the genuine invite.
            assert.equal((await left).reason, 'left');
            const guest = await guestClient.joinSession(host.invite!.link);
            assert.equal(guest.host.id, host.self.id);
        });
    });
});
