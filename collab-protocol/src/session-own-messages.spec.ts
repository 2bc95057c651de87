import * as assert from 'node:assert/strict';
import { OpenedEnvelope, SealedBody } from './envelope-codec';
import { CollaborationError } from './errors';
import { Request } from './messages';
import { Peer } from './session';
import { SessionMessages } from './session-messages';
import { CancelRequest, HandledMethodsRequest, OwnMessagesSession, receiveOwnMessage } from './session-own-messages';
import { ROSTER_METHOD } from './session-roster';
import { EnvelopeKind } from './wire';

const host: Peer = { id: 'host', userId: 'h', name: 'Host', role: 'host', permission: 'readwrite', fingerprint: 'F' };
const guest: Peer = { id: 'guest', userId: 'g', name: 'Guest', role: 'guest', permission: 'readwrite', fingerprint: 'G' };
const Slow = Request.define<{}, string>('test/slow');

function opened(kind: EnvelopeKind, sender: string, body: SealedBody, id?: number): OpenedEnvelope {
    return { header: { room: 'room', sender, kind, seq: 1, key: 0, ...(id !== undefined ? { id } : {}) }, body };
}

/** A session seen by its own messages: what it sends, the rosters it applies and the errors it reports are recorded. */
function session(isHost: boolean) {
    const sent: { kind: EnvelopeKind; body: SealedBody; target?: string; id?: number }[] = [];
    const rosters: unknown[] = [];
    const errors: { error: CollaborationError; sender: string }[] = [];
    const messages = new SessionMessages({
        send: async (kind, body, target, id) => { sent.push({ kind, body, target, id }); },
        reportMessageError: () => undefined,
        logger: { warn: () => undefined, error: () => undefined, info: () => undefined }
    });
    const own: OwnMessagesSession = {
        isHost,
        hostId: 'host',
        messages,
        applyRoster: async params => { rosters.push(params); },
        reportMessageError: (error, sender) => errors.push({ error, sender })
    };
    return { own, messages, sent, rosters, errors };
}

describe('the session\'s own messages', () => {
    it('takes a roster only from the host, and only as a guest', async () => {
        const asGuest = session(false);
        await receiveOwnMessage(asGuest.own, opened('broadcast', 'host', { m: ROSTER_METHOD, p: { v: 1 } }), ROSTER_METHOD, { v: 1 }, host);
        await receiveOwnMessage(asGuest.own, opened('broadcast', 'guest', { m: ROSTER_METHOD, p: { v: 2 } }), ROSTER_METHOD, { v: 2 }, guest);
        assert.deepEqual(asGuest.rosters, [{ v: 1 }]);
        assert.deepEqual(asGuest.errors.map(e => [e.error.code, e.sender]), [['forbidden', 'guest']]);
        const asHost = session(true);
        await receiveOwnMessage(asHost.own, opened('broadcast', 'guest', { m: ROSTER_METHOD, p: {} }), ROSTER_METHOD, {}, guest);
        assert.deepEqual(asHost.rosters, []);
        assert.equal(asHost.errors[0].error.code, 'forbidden');
    });

    it('aborts the handler of a request its sender cancels, and only the sender\'s', async () => {
        const { own, messages } = session(true);
        const signals: AbortSignal[] = [];
        messages.onRequest(Slow, (_params, _sender, context) => {
            signals.push(context.signal);
            return new Promise<string>(() => undefined);
        });
        messages.dispatch(opened('request', 'guest', { m: Slow.method, p: {} }, 5), guest);
        messages.dispatch(opened('request', 'host', { m: Slow.method, p: {} }, 5), host);
        const cancel = { m: CancelRequest.method, p: { id: 5 } };
        await receiveOwnMessage(own, opened('notification', 'guest', cancel), CancelRequest.method, { id: 5 }, guest);
        assert.deepEqual(signals.map(signal => signal.aborted), [true, false]);
        // A cancellation sent as a broadcast is not one.
        await receiveOwnMessage(own, opened('broadcast', 'host', cancel), CancelRequest.method, { id: 5 }, host);
        assert.equal(signals[1].aborted, false);
    });

    it('answers which methods this peer handles, without the session\'s own', async () => {
        const { own, messages, sent } = session(true);
        messages.onRequest(HandledMethodsRequest, () => messages.handledMethods(method => method.startsWith('session/')));
        messages.onRequest(Slow, () => 'done');
        await receiveOwnMessage(own, opened('request', 'guest', { m: HandledMethodsRequest.method, p: {} }, 9), HandledMethodsRequest.method, {}, guest);
        await new Promise(resolve => setTimeout(resolve, 0));
        assert.deepEqual(sent, [{ kind: 'response', body: { r: { requests: ['test/slow'], notifications: [], broadcasts: [] } }, target: 'guest', id: 9 }]);
    });

    it('reports any other session/ method as forbidden', async () => {
        const { own, errors } = session(true);
        await receiveOwnMessage(own, opened('broadcast', 'guest', { m: 'session/other', p: {} }), 'session/other', {}, guest);
        assert.deepEqual(errors.map(e => [e.error.code, e.sender]), [['forbidden', 'guest']]);
        assert.match(errors[0].error.message, /Guest/);
    });
});
