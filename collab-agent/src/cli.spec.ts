/**
 * The subcommands for scripts and bots (`cat`, `patch`, `say`) and the argument checks, run as the built CLI
 * against a real server and host: each asks to join, is admitted like any guest, does its one thing and leaves.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from './cli';
import { until, useAgentHost } from './agent-test-fixture';

describe('collab-agent subcommands', function (): void {
    this.timeout(60_000);
    const scope = useAgentHost({ 'src/a.txt': 'alpha\nbeta\ngamma\n', '.env': 'SECRET=EXCLUDED-5678\n' });

    it('cat prints a shared file, not an excluded one, and leaves', async () => {
        const run = scope.runCli(['cat', scope.invite, 'proj/src/a.txt', '--name', 'Cat script']);
        assert.strictEqual(await run.exited, 0, run.stderr);
        assert.strictEqual(run.stdout, 'alpha\nbeta\ngamma\n');
        assert.deepStrictEqual(scope.requests, ['Cat script']);
        await until(() => scope.peerNamed('Cat script') === undefined, 'the script left');

        const secret = scope.runCli(['cat', scope.invite, 'proj/.env']);
        assert.strictEqual(await secret.exited, 1);
        assert.strictEqual(secret.stdout, '');
        assert.match(secret.stderr, /not-found/);
    });

    it('patch applies a unified diff through the shared document (and saves with --save); read-only is refused', async () => {
        scope.permissions.set('Patch bot', 'readwrite');
        const diffFile = path.join(scope.base, 'change.diff');
        fs.writeFileSync(diffFile, '--- a/src/a.txt\n+++ b/src/a.txt\n@@ -1,3 +1,3 @@\n alpha\n-beta\n+BETA\n gamma\n');
        const run = scope.runCli(['patch', scope.invite, 'proj/src/a.txt', diffFile, '--save', '--name', 'Patch bot']);
        assert.strictEqual(await run.exited, 0, run.stderr);
        assert.match(run.stderr, /applied 1 edit\(s\) to proj\/src\/a.txt and saved it/);
        assert.strictEqual(scope.editor.get('proj/src/a.txt')?.text.toString() ?? fs.readFileSync(path.join(scope.root, 'src/a.txt'), 'utf8'), 'alpha\nBETA\ngamma\n');
        assert.strictEqual(fs.readFileSync(path.join(scope.root, 'src/a.txt'), 'utf8'), 'alpha\nBETA\ngamma\n');

        scope.permissions.set('Reader', 'readonly');
        const refused = scope.runCli(['patch', scope.invite, 'proj/src/a.txt', '-', '--name', 'Reader'], '@@ -1 +1 @@\n-alpha\n+ALPHA\n');
        assert.strictEqual(await refused.exited, 1);
        assert.match(refused.stderr, /permission-denied: The host refused the edit/);
        assert.strictEqual(fs.readFileSync(path.join(scope.root, 'src/a.txt'), 'utf8'), 'alpha\nBETA\ngamma\n');
    });

    it('say posts to the chat under the participant\'s name', async () => {
        const run = scope.runCli(['say', scope.invite, 'Build', 'passed', '--name', 'CI bot']);
        assert.strictEqual(await run.exited, 0, run.stderr);
        await until(() => scope.chat.messages.length > 0, 'the host has the message');
        assert.deepStrictEqual(scope.chat.messages.map(m => [m.authorName, m.text]), [['CI bot', 'Build passed']]);
    });

    it('checks its arguments', async () => {
        assert.deepStrictEqual({ ...parseArgs(['mcp', 'x', '--name', 'Review bot', '--http=127.0.0.1:1']), flags: undefined },
            { command: 'mcp', positional: ['x'], name: 'Review bot', server: undefined, http: '127.0.0.1:1', flags: undefined });
        assert.throws(() => parseArgs(['join', 'x', '--bogus']), /Unknown option/);
        const usage = scope.runCli(['frobnicate', scope.invite]);
        assert.strictEqual(await usage.exited, 2);
        assert.match(usage.stderr, /Unknown command 'frobnicate'/);
        const badInvite = scope.runCli(['say', 'not an invite', 'hi']);
        assert.strictEqual(await badInvite.exited, 1);
        assert.match(badInvite.stderr, /bad-request: This is not a collaboration invite/);
    });
});
