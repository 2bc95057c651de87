/**
 * An MCP client from the SDK drives the real built CLI (`collab-agent mcp`, over stdio and over Streamable HTTP)
 * in a real session: a real coordination server and a host running the extension's host-side code over a temp
 * folder. The host admits the agent like any guest; everything it does goes through the host's checks.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CollaborationClient } from '@theia-collab/protocol';
import { toAbsoluteIndex } from '@theia-collab/extension/lib/common/editor/editor-text-binding';
import { AgentHost, CLI, until, useAgentHost } from './agent-test-fixture';

const MAIN = 'export const answer = 41;\n\nexport function greet(name: string): string {\n    return `Hello ${name}`;\n}\n';
const FILES = { 'src/main.ts': MAIN, 'README.md': '# Demo\n', '.env': 'TOKEN=EXCLUDED-SECRET-1234\n' };

interface ToolResult { isError?: boolean; content: { type: string; text?: string }[] }

function textOf(result: unknown): string {
    return (result as ToolResult).content.map(item => item.text ?? '').join('\n');
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<{ isError: boolean; text: string }> {
    const result = await client.callTool({ name, arguments: args }) as ToolResult;
    return { isError: result.isError === true, text: textOf(result) };
}

async function stdioAgent(scope: AgentHost, name: string): Promise<{ client: Client; transport: StdioClientTransport; stderr: () => string }> {
    const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp', scope.invite, '--name', name], stderr: 'pipe' });
    let stderr = '';
    transport.stderr?.on('data', chunk => stderr += chunk);
    const client = new Client({ name: 'agent-spec', version: '1.0.0' });
    await client.connect(transport);
    scope.trackPid(transport.pid);
    return { client, transport, stderr: () => stderr };
}

describe('collab-agent over MCP', function (): void {
    this.timeout(60_000);
    const scope = useAgentHost(FILES);

    it('a read-write agent lists and reads what the host shares, edits with a named cursor the host sees, saves and chats', async () => {
        scope.permissions.set('Review bot', 'readwrite');
        const { client, transport } = await stdioAgent(scope, 'Review bot');
        try {
            assert.deepStrictEqual(scope.requests, ['Review bot'], 'the host was asked like for any guest');
            assert.deepStrictEqual(scope.programRequests, ['Review bot'], 'the host\'s join request is marked as a program');
            const agentPeer = scope.peerNamed('Review bot')!;
            assert.ok(agentPeer, 'the host sees the agent');
            assert.strictEqual(agentPeer.permission, 'readwrite');
            assert.strictEqual(agentPeer.program, true, 'the host\'s peer list marks it as a program');
            assert.strictEqual(scope.host.self.program, undefined, 'the host is not marked');

            const tools = (await client.listTools()).tools.map(tool => tool.name).sort();
            for (const tool of ['list_files', 'read_file', 'open_document', 'edit_document', 'save_document', 'read_diagnostics', 'hover', 'definitions',
                'read_chat', 'send_chat', 'list_participants', 'host_view', 'patch_document', 'set_cursor', 'search_text', 'search_files']) {
                assert.ok(tools.includes(tool), `tool ${tool}`);
            }

            const listed = await call(client, 'list_files', { path: 'proj', depth: 3 });
            assert.strictEqual(listed.isError, false, listed.text);
            const paths = (JSON.parse(listed.text).entries as { path: string }[]).map(entry => entry.path);
            assert.ok(paths.includes('proj/src/main.ts') && paths.includes('proj/README.md'), paths.join(', '));
            assert.ok(!paths.some(p => p.includes('.env')), 'excluded files are not listed');

            const secret = await call(client, 'read_file', { path: 'proj/.env' });
            assert.strictEqual(secret.isError, true);
            assert.ok(!secret.text.includes('EXCLUDED-SECRET'), secret.text);
            assert.match(secret.text, /not-found/);
            const readme = await call(client, 'read_file', { path: 'proj/README.md' });
            assert.strictEqual(JSON.parse(readme.text).text, '# Demo\n');

            const invalid = await call(client, 'edit_document', { path: 'proj/src/main.ts', edits: [] });
            assert.strictEqual(invalid.isError, true, 'input is validated');
            const traversal = await call(client, 'read_file', { path: 'proj/../../etc/passwd' });
            assert.strictEqual(traversal.isError, true);

            const opened = await call(client, 'open_document', { path: 'proj/src/main.ts' });
            assert.match(opened.text, /1 {2}export const answer = 41;/);

            const edited = await call(client, 'edit_document', {
                path: 'proj/src/main.ts', edits: [{ oldText: 'answer = 41', newText: 'answer = 42 /* by the bot */' }]
            });
            assert.strictEqual(edited.isError, false, edited.text);
            const expected = MAIN.replace('answer = 41', 'answer = 42 /* by the bot */');
            const hostDoc = scope.editor.get('proj/src/main.ts')!;
            assert.strictEqual(hostDoc.text.toString(), expected, 'the host document has the agent\'s text');

            await until(() => scope.awareness.stateOf(agentPeer.id)?.selections !== undefined
                && toAbsoluteIndex(hostDoc, scope.awareness.stateOf(agentPeer.id)!.selections![0].head) === expected.indexOf(' /* by the bot */') + ' /* by the bot */'.length,
            'the host sees the agent\'s cursor after its edit');
            const state = scope.awareness.stateOf(agentPeer.id)!;
            assert.strictEqual(state.name, 'Review bot');
            assert.strictEqual(state.document, 'proj/src/main.ts');
            assert.deepStrictEqual(JSON.parse(edited.text).cursor, { line: 1, column: 'export const answer = 42 /* by the bot */'.length + 1 });

            const saved = await call(client, 'save_document', { path: 'proj/src/main.ts' });
            assert.strictEqual(saved.isError, false, saved.text);
            assert.strictEqual(fs.readFileSync(path.join(scope.root, 'src/main.ts'), 'utf8'), expected);

            await scope.chat.send('Please look at greet()');
            let chat = await call(client, 'read_chat', {});
            for (let i = 0; i < 100 && JSON.parse(chat.text).messages.length === 0; i++) {
                await new Promise(resolve => setTimeout(resolve, 50));
                chat = await call(client, 'read_chat', {});
            }
            assert.deepStrictEqual(JSON.parse(chat.text).messages.map((m: { author: string; text: string }) => [m.author, m.text]),
                [['Hosting Hana', 'Please look at greet()']]);
            const sent = await call(client, 'send_chat', { text: 'Done: answer is 42.' });
            assert.strictEqual(sent.isError, false, sent.text);
            await until(() => scope.chat.messages.some(m => m.text === 'Done: answer is 42.'), 'the host gets the message');
            assert.strictEqual(scope.chat.messages.find(m => m.text === 'Done: answer is 42.')!.authorName, 'Review bot');

            const noSearch = await call(client, 'search_text', { pattern: 'greet' });
            assert.strictEqual(noSearch.isError, true, 'this host runs no search service');
            assert.match(noSearch.text, /unknown-method: No handler for 'search\/text'/);

            const participants = JSON.parse((await call(client, 'list_participants')).text).participants as { name: string; role: string; self: boolean; program: boolean }[];
            assert.deepStrictEqual(participants.map(p => [p.name, p.role, p.self, p.program]), [['Hosting Hana', 'host', false, false], ['Review bot', 'guest', true, true]]);
        } finally {
            await client.close();
        }
        await until(() => scope.peerNamed('Review bot') === undefined, 'the agent left when its MCP client went away');
        assert.strictEqual(transport.pid, null);
    });

    it('a person in the session sees the agent marked as a program (the host\'s roster says so); the person is not marked', async () => {
        const person = await CollaborationClient.connect({ serverUrl: scope.server.url, name: 'Pat', logger: { info: () => undefined, warn: () => undefined, error: () => undefined } });
        try {
            const session = await person.joinSession(scope.invite);
            const { client } = await stdioAgent(scope, 'Marked bot');
            try {
                await until(() => session.peers.some(peer => peer.name === 'Marked bot'), 'the person sees the agent');
                assert.strictEqual(session.peers.find(peer => peer.name === 'Marked bot')!.program, true);
                assert.strictEqual(session.self.program, undefined);
                assert.deepStrictEqual(scope.requests, ['Pat', 'Marked bot']);
                assert.deepStrictEqual(scope.programRequests, ['Marked bot'], 'only the agent\'s request is marked');
                assert.strictEqual(scope.peerNamed('Pat')!.program, undefined);
            } finally {
                await client.close();
            }
        } finally {
            person.dispose();
        }
    });

    it('a read-only agent\'s edit is refused by the host and changes nothing', async () => {
        scope.permissions.set('Reader bot', 'readonly');
        const { client } = await stdioAgent(scope, 'Reader bot');
        try {
            const refused = await call(client, 'edit_document', { path: 'proj/src/main.ts', edits: [{ oldText: 'answer = 41', newText: 'answer = 0' }] });
            assert.strictEqual(refused.isError, true);
            assert.match(refused.text, /permission-denied: The host refused the edit: You have read-only access/);
            assert.strictEqual(scope.editor.get('proj/src/main.ts')!.text.toString(), MAIN, 'the host document is unchanged');
            const saved = await call(client, 'save_document', { path: 'proj/src/main.ts' });
            assert.strictEqual(saved.isError, true, saved.text);
            assert.strictEqual(fs.readFileSync(path.join(scope.root, 'src/main.ts'), 'utf8'), MAIN);
            const live = await call(client, 'open_document', { path: 'proj/src/main.ts' });
            assert.match(live.text, /answer = 41;/, 'the agent is back at the host\'s text');
        } finally {
            await client.close();
        }
    });

    it('the host removing the agent ends its session and the process exits, saying so', async () => {
        scope.permissions.set('Removable bot', 'readwrite');
        const run = scope.runCli(['mcp', scope.invite, '--name', 'Removable bot', '--http', '127.0.0.1:0']);
        await until(() => /serving MCP \(Streamable HTTP\) at (\S+)/.test(run.stderr), 'the agent serves MCP', 20_000);
        const peer = scope.peerNamed('Removable bot')!;
        await scope.host.removePeer(peer.id);
        assert.strictEqual(await run.exited, 3);
        assert.match(run.stderr, /the host removed you from the session/);
    });

    it('serves Streamable HTTP on loopback only; SIGTERM leaves the session cleanly', async () => {
        scope.permissions.set('HTTP bot', 'readwrite');
        const run = scope.runCli(['mcp', scope.invite, '--name', 'HTTP bot', '--http', '127.0.0.1:0']);
        await until(() => /serving MCP \(Streamable HTTP\) at (\S+)/.test(run.stderr), 'the agent serves MCP', 20_000);
        const url = /serving MCP \(Streamable HTTP\) at (\S+)/.exec(run.stderr)![1];
        assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);

        const fromPage = await fetch(url, { method: 'POST', headers: { origin: 'https://evil.example', 'content-type': 'application/json' }, body: '{}' });
        assert.strictEqual(fromPage.status, 403, 'requests from web pages are refused');

        const client = new Client({ name: 'agent-spec-http', version: '1.0.0' });
        await client.connect(new StreamableHTTPClientTransport(new URL(url)));
        try {
            const participants = JSON.parse((await call(client, 'list_participants')).text).participants as { name: string }[];
            assert.deepStrictEqual(participants.map(p => p.name), ['Hosting Hana', 'HTTP bot']);
            const edited = await call(client, 'edit_document', {
                path: 'proj/README.md', edits: [{ range: { start: { line: 2, column: 1 }, end: { line: 2, column: 1 } }, newText: 'Edited over HTTP.\n' }]
            });
            assert.strictEqual(edited.isError, false, edited.text);
            assert.strictEqual(scope.editor.get('proj/README.md')!.text.toString(), '# Demo\nEdited over HTTP.\n');
            const view = JSON.parse((await call(client, 'host_view')).text);
            assert.strictEqual(view.host.name, 'Hosting Hana');
        } finally {
            await client.close();
        }
        assert.throws(() => {
            // Only loopback is served.
            require('./agent-mcp').parseHttpAddress('0.0.0.0:8123');
        }, /loopback/);
        run.child.kill('SIGTERM');
        assert.strictEqual(await run.exited, 0);
        assert.match(run.stderr, /leaving the session \(SIGTERM\)/);
        await until(() => scope.peerNamed('HTTP bot') === undefined, 'the host sees the agent leave');
    });
});
