/**
 * A session's events are Theia events: they type-check as `@theia/core`'s `Event<T>` (this file compiles only if
 * they do), work with Theia's `Event.map`/`filter`/`once`/`toPromise`, call listeners with `thisArgs`, and put
 * their subscriptions into a `DisposableCollection`, an array or a set. Against a real server, host and guests.
 */
import * as assert from 'assert';
import { DisposableCollection } from '@theia/core/lib/common/disposable';
import { Emitter as TheiaEmitter, Event } from '@theia/core/lib/common/event';
import { ConnectionState, Disposable, Emitter, Event as SessionEvent, Peer, PeerLeft, SessionClosed } from '@theia-collab/protocol';
import { SessionFixture, until } from '@theia-collab/test-kit';

describe('a session\'s events are Theia\'s Event', function (): void {
    this.timeout(60_000);
    let fixture: SessionFixture;

    beforeEach(async () => fixture = await SessionFixture.start());
    afterEach(() => fixture.close());

    it('type-check as Theia events, and Theia events as session events', async () => {
        const { host } = await fixture.room(0);
        const joined: Event<Peer> = host.onPeerJoined;
        const left: Event<PeerLeft> = host.onPeerLeft;
        const closed: Event<SessionClosed> = host.onClose;
        const connection: Event<ConnectionState> = host.onDidChangeConnection;
        const missed: Event<void> = host.onMissedMessages;
        const back: SessionEvent<number> = new TheiaEmitter<number>().event;
        assert.ok([joined, left, closed, connection, missed, back].every(event => typeof event === 'function'));
    });

    it('work with Event.map, Event.filter, Event.once and Event.toPromise', async () => {
        const { host } = await fixture.room(0);
        const names: string[] = [];
        const readers: string[] = [];
        const toDispose = new DisposableCollection();
        toDispose.push(Event.map(host.onPeerJoined, peer => peer.name)(name => names.push(name)));
        toDispose.push(Event.filter(host.onPeerJoined, peer => peer.permission === 'readonly')(peer => readers.push(peer.name)));
        const first = Event.toPromise(Event.once(host.onPeerJoined));
        const admit = host.onJoinRequest(request => request.admit(request.name === 'Reader' ? 'readonly' : 'readwrite'));
        await (await fixture.connect('Writer')).joinSession(host.invite!.code);
        await (await fixture.connect('Reader')).joinSession(host.invite!.code);
        await until(() => names.length === 2, 'both joins mapped');
        assert.deepStrictEqual(names, ['Writer', 'Reader']);
        assert.deepStrictEqual(readers, ['Reader']);
        assert.strictEqual((await first).name, 'Writer');
        admit.dispose();
        toDispose.dispose();
    });

    it('call listeners with thisArgs and add their subscriptions to a DisposableCollection', async () => {
        const { host } = await fixture.room(0);
        class Recorder {
            readonly names: string[] = [];
            record(peer: Peer): void {
                this.names.push(peer.name);
            }
        }
        const recorder = new Recorder();
        const collection = new DisposableCollection();
        const subscription = host.onPeerJoined(recorder.record, recorder, collection);
        const admit = host.onJoinRequest(request => request.admit('readwrite'));
        await (await fixture.connect('First')).joinSession(host.invite!.code);
        await until(() => recorder.names.length === 1, 'the listener ran with its thisArgs');
        assert.ok(!collection.disposed, 'the collection holds the subscription');
        collection.dispose();
        await (await fixture.connect('Second')).joinSession(host.invite!.code);
        await until(() => host.peers.length === 3, 'the second guest joined');
        assert.deepStrictEqual(recorder.names, ['First'], 'disposing the collection unsubscribed');
        subscription.dispose();
        admit.dispose();
    });

    it('the protocol Emitter: arrays and sets as groups, thisArgs, one call per subscription', () => {
        const emitter = new Emitter<number>();
        const array: Disposable[] = [];
        const set = new Set<Disposable>();
        const seen: string[] = [];
        const context = { name: 'context' };
        function listener(this: { name: string }, value: number): void {
            seen.push(`${this.name}:${value}`);
        }
        emitter.event(listener, context, array);
        emitter.event(listener, { name: 'other' }, set);
        emitter.fire(1);
        assert.deepStrictEqual(seen, ['context:1', 'other:1']);
        assert.strictEqual(array.length, 1);
        assert.strictEqual(set.size, 1);
        array[0].dispose();
        emitter.fire(2);
        assert.deepStrictEqual(seen, ['context:1', 'other:1', 'other:2']);
        [...set][0].dispose();
        emitter.fire(3);
        assert.strictEqual(seen.length, 3);
    });
});
