import * as assert from 'node:assert/strict';
import { generateSessionKeyPair, shortFingerprint } from './crypto';
import { CollaborationError } from './errors';
import { HostJoinRequests, INVALID_INVITE, JoinRequestEvent, JoinRequestsHost } from './host-join-requests';
import { joinProof } from './invite';
import { InviteRegistry } from './invite-registry';
import { JoinRequest, Peer } from './session';
import { Permission, PeerInfo } from './wire';

const ROOM = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

interface Recorded {
    requests: { event: string; payload: Record<string, unknown> }[];
    asked: JoinRequest[];
    admitted: { requestId: string; info: PeerInfo; permission: Permission }[];
    errors: CollaborationError[];
}

/** A host whose server calls, dialogs and admissions are recorded; `failDeny` makes the server refuse 'room:deny'. */
function fakeHost(registry: InviteRegistry, failDeny = false): { host: JoinRequestsHost; recorded: Recorded } {
    const recorded: Recorded = { requests: [], asked: [], admitted: [], errors: [] };
    const host: JoinRequestsHost = {
        roomId: ROOM,
        connection: {
            logger: { warn: () => undefined, error: () => undefined, info: () => undefined },
            request: async <T>(event: string, payload: object): Promise<T> => {
                recorded.requests.push({ event, payload: payload as Record<string, unknown> });
                if (failDeny && event === 'room:deny') {
                    throw new CollaborationError('not-found', 'No such request.');
                }
                return {} as T;
            }
        },
        invites: () => registry,
        describe: async info => ({
            id: info.id, userId: info.userId, name: info.name, role: info.role, permission: info.permission, fingerprint: await shortFingerprint(info.publicKey)
        }) as Peer,
        admit: async (requestId, info, permission) => { recorded.admitted.push({ requestId, info, permission }); },
        reportMessageError: error => recorded.errors.push(error),
        ask: request => recorded.asked.push(request)
    };
    return { host, recorded };
}

async function joinEvent(requestId: string, secret: string | undefined, name = 'Guest\u202E name', keyFor?: string): Promise<JoinRequestEvent> {
    const publicKey = (await generateSessionKeyPair()).publicKeyEncoded;
    return {
        roomId: ROOM,
        requestId,
        peer: { id: `peer-${requestId}`, userId: 'user', name, publicKey, role: 'guest', permission: 'readwrite' },
        ...(secret ? { proof: joinProof(secret, ROOM, keyFor ?? publicKey) } : {})
    };
}

describe('host join requests', () => {
    let now = 1000;
    let registry: InviteRegistry;
    beforeEach(() => {
        now = 1000;
        registry = new InviteRegistry('http://127.0.0.1:1', ROOM, 'q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA', () => now);
    });

    it('asks the host\'s user about a request with a valid proof, as a read-only guest with a clean name, and admits it once', async () => {
        const invite = registry.create({}, 'default');
        const { host, recorded } = fakeHost(registry);
        const requests = new HostJoinRequests(host);
        const event = await joinEvent('r1', invite.secret);
        await requests.received(event);
        await requests.received(event);
        assert.equal(recorded.asked.length, 1, 'the same request is asked once');
        const [request] = recorded.asked;
        assert.equal(request.inviteId, 'default');
        assert.equal(request.name, 'Guest name', 'bidi characters are gone');
        assert.equal(request.fingerprint, await shortFingerprint(event.peer.publicKey));
        assert.ok(requests.has('r1'));
        await request.admit('readwrite');
        assert.deepEqual(recorded.admitted.map(a => [a.requestId, a.info.permission, a.info.role, a.permission]), [['r1', 'readonly', 'guest', 'readwrite']]);
        await assert.rejects(request.admit('readwrite'), /already answered/);
        await assert.rejects(request.deny(), /already answered/);
        assert.equal(await requests.usableInvite('r1'), 'default');
    });

    it('refuses at once, asking nobody, a request without a proof, with a proof for another key, or for a revoked invite', async () => {
        const invite = registry.create({}, 'default');
        const { host, recorded } = fakeHost(registry);
        const requests = new HostJoinRequests(host);
        const otherKey = (await generateSessionKeyPair()).publicKeyEncoded;
        await requests.received(await joinEvent('no-proof', undefined));
        await requests.received(await joinEvent('swapped-key', invite.secret, 'Guest', otherKey));
        registry.revoke('default');
        await requests.received(await joinEvent('revoked', invite.secret));
        assert.deepEqual(recorded.asked, []);
        assert.deepEqual(recorded.requests.map(r => [r.event, r.payload.requestId, r.payload.reason]), [
            ['room:deny', 'no-proof', INVALID_INVITE], ['room:deny', 'swapped-key', INVALID_INVITE], ['room:deny', 'revoked', INVALID_INVITE]
        ]);
        assert.deepEqual(recorded.errors.map(error => error.code), ['forbidden', 'forbidden', 'forbidden']);
        assert.ok(!requests.has('no-proof'));
    });

    it('keeps going when the server does not take a refusal', async () => {
        const { host, recorded } = fakeHost(registry, true);
        await new HostJoinRequests(host).received(await joinEvent('r1', undefined));
        assert.equal(recorded.errors.length, 1);
    });

    it('denies with the host\'s reason, cut to 256 characters', async () => {
        const invite = registry.create({}, 'default');
        const { host, recorded } = fakeHost(registry);
        const requests = new HostJoinRequests(host);
        await requests.received(await joinEvent('r1', invite.secret));
        await recorded.asked[0].deny('x'.repeat(300));
        assert.deepEqual(recorded.requests.map(r => [r.event, (r.payload.reason as string).length]), [['room:deny', 256]]);
        assert.ok(!requests.has('r1'));
    });

    it('refuses to admit with an invite used up or expired since the request came', async () => {
        const once = registry.create({ singleUse: true });
        const brief = registry.create({ expiresInMs: 50 });
        const { host, recorded } = fakeHost(registry);
        const requests = new HostJoinRequests(host);
        await requests.received(await joinEvent('first', once.secret));
        await requests.received(await joinEvent('second', once.secret));
        await requests.received(await joinEvent('slow', brief.secret));
        assert.equal(recorded.asked.length, 3);
        assert.equal(await requests.usableInvite('first'), once.id);
        registry.consume(once.id);
        await assert.rejects(requests.usableInvite('second'), (error: CollaborationError) => error.code === 'forbidden');
        now += 51;
        await assert.rejects(requests.usableInvite('slow'), (error: CollaborationError) => error.code === 'forbidden');
        assert.deepEqual(recorded.requests.map(r => [r.event, r.payload.requestId]), [['room:deny', 'second'], ['room:deny', 'slow']]);
        assert.ok(!requests.has('second') && !requests.has('slow'));
    });

    it('after a reconnection, forgets requests withdrawn meanwhile and asks about those that came meanwhile', async () => {
        const invite = registry.create({}, 'default');
        const { host, recorded } = fakeHost(registry);
        const requests = new HostJoinRequests(host);
        const stays = await joinEvent('stays', invite.secret);
        await requests.received(stays);
        await requests.received(await joinEvent('withdrawn', invite.secret));
        const withdrawnLive = await joinEvent('withdrawn-live', invite.secret);
        await requests.received(withdrawnLive);
        requests.withdrawn('withdrawn-live');
        assert.ok(!requests.has('withdrawn-live'));
        await requests.resumed([stays, await joinEvent('new', invite.secret)]);
        assert.deepEqual(recorded.asked.map(request => request.requestId), ['stays', 'withdrawn', 'withdrawn-live', 'new']);
        assert.ok(requests.has('stays') && requests.has('new') && !requests.has('withdrawn'));
    });
});
