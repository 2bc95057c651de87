import * as assert from 'assert';
import { Peer } from '@theia-collab/protocol';
import { checkTerminalInput } from './terminal-permission';

function peer(role: Peer['role'], permission: Peer['permission']): Peer {
    return { id: `${role}-${permission}`, userId: 'u', name: 'N', role, permission, fingerprint: 'F' };
}

describe('checkTerminalInput', () => {
    const writable = { title: 'bash', writable: true };
    const readOnly = { title: 'bash', writable: false };

    it('lets a read-write guest type into a writable terminal', () => {
        assert.strictEqual(checkTerminalInput(writable, peer('guest', 'readwrite')), undefined);
    });

    it('refuses a read-only guest even in a writable terminal', () => {
        assert.strictEqual(checkTerminalInput(writable, peer('guest', 'readonly'))?.code, 'permission-denied');
    });

    it('refuses everyone but the host in a read-only terminal', () => {
        assert.strictEqual(checkTerminalInput(readOnly, peer('guest', 'readwrite'))?.code, 'permission-denied');
        assert.strictEqual(checkTerminalInput(readOnly, peer('guest', 'readonly'))?.code, 'permission-denied');
        assert.strictEqual(checkTerminalInput(readOnly, peer('host', 'readwrite')), undefined);
    });

    it('refuses unknown senders and unshared terminals', () => {
        assert.strictEqual(checkTerminalInput(writable, undefined)?.code, 'permission-denied');
        assert.strictEqual(checkTerminalInput(undefined, peer('guest', 'readwrite'))?.code, 'not-found');
    });
});
