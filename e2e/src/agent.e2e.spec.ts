import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { ChildProcess } from 'child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
    activeEditor, e2eSuite, editorText, GuestPermission, openFile, REPO_ROOT, showParticipants, startSession, TheiaWindow, waitFor
} from './harness';
import { spawnOwnedNode, stopOwnedProcess } from './harness/owned-processes';

/** The built collab-agent command line (`npm run build` builds it with the other packages). */
const AGENT_CLI = path.join(REPO_ROOT, 'collab-agent', 'lib', 'cli.js');
const MAIN = 'export const answer = 41;\n\nexport function greet(name: string): string {\n    return `Hello ${name}`;\n}\n';
const SECRET = 'TOKEN=AGENT-E2E-SECRET-7731';

interface ToolResult { isError?: boolean; content: { type: string; text?: string }[] }

async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<{ isError: boolean; text: string }> {
    const result = await client.callTool({ name, arguments: args }) as ToolResult;
    return { isError: result.isError === true, text: result.content.map(item => item.text ?? '').join('\n') };
}

/** The next join request dialog of the host: checks it names `name` marked as a program, screenshots it, answers `permission`. */
async function admitProgram(host: TheiaWindow, name: string, permission: GuestPermission, screenshot: string): Promise<void> {
    const request = host.dialog('collaboration-join-request-dialog');
    await request.waitFor({ state: 'visible', timeout: 60_000 });
    assert.strictEqual((await request.locator('.collaboration-join-request-name').textContent())?.trim(), name);
    const marker = request.locator('.collaboration-join-request-program');
    await marker.waitFor({ state: 'visible' });
    assert.strictEqual((await marker.innerText()).trim(), '(program)');
    assert.strictEqual(await marker.locator('.codicon-robot').count(), 1, 'a robot icon');
    assert.match(await request.locator('.collaboration-join-request-program-hint').innerText(), /says it is a program/);
    await host.screenshot(screenshot);
    await request.locator(`button.collaboration-allow-${permission}`).click();
    await request.waitFor({ state: 'detached' });
}

/** The remote carets in `host`'s editor: their name label, 1-based line and left offset in that line. */
async function remoteCarets(host: TheiaWindow): Promise<{ label: string; line: number; offsetInLine: number; height: number }[]> {
    return activeEditor(host).locator('.collab-caret.collab-caret-primary').evaluateAll(nodes => nodes.map(node => {
        const box = node.getBoundingClientRect();
        const line = node.closest('.view-line') as HTMLElement | null;
        const tops = [...(line?.parentElement?.querySelectorAll<HTMLElement>(':scope > .view-line') ?? [])]
            .map(candidate => parseFloat(candidate.style.top)).sort((a, b) => a - b);
        return {
            label: getComputedStyle(node, '::after').content,
            line: line ? tops.indexOf(parseFloat(line.style.top)) + 1 : -1,
            offsetInLine: line ? box.left - line.getBoundingClientRect().left : -1,
            height: box.height
        };
    }));
}

/**
 * AI agents in a session with a real Theia host in Chromium, driven by an MCP client from the SDK: the `collab-agent`
 * command line serves MCP (over stdio, and over Streamable HTTP) and joins as a participant marked as a program.
 * The host admits it from its dialog; its edits show in the host's Monaco editor with its named caret; a read-only
 * agent's edit is refused; the host's exclusions hide files from it; the host removes it and its session ends.
 */
describe('AI agents as participants, through MCP (e2e)', function () {
    this.timeout(300_000);

    const suite = e2eSuite('agent');
    let host: TheiaWindow;
    let serverUrl: string;
    let inviteCode: string;
    let reviewer: { client: Client; transport: StdioClientTransport; stderr: () => string; closed: Promise<void> } | undefined;
    let reader: { client: Client; child: ChildProcess; exited: Promise<void> } | undefined;
    let root: string;

    before(async function () {
        this.timeout(180_000);
        const [backend] = await suite.start([{ name: 'agent-host', files: { 'src/main.ts': MAIN, 'README.md': '# Agents\n', '.env': `${SECRET}\n` } }]);
        serverUrl = suite.server!.url;
        host = await suite.open(backend, 'host');
        inviteCode = await suite.setUp(() => startSession(host, 'Alice'));
    });

    after(async () => {
        await reviewer?.client.close().catch(() => undefined);
        if (reviewer?.transport.pid) {
            try {
                process.kill(reviewer.transport.pid, 'SIGKILL');
            } catch {
                // already gone
            }
        }
        await reader?.client.close().catch(() => undefined);
        if (reader) {
            await stopOwnedProcess(reader.child, reader.exited, 'the read-only agent');
        }
    });

    it('the host admits an agent from its dialog, which marks it as a program; so does the participants view', async () => {
        const transport = new StdioClientTransport({
            command: process.execPath, args: [AGENT_CLI, 'mcp', inviteCode, '--server', serverUrl, '--name', 'Review bot'], stderr: 'pipe'
        });
        let stderr = '';
        transport.stderr?.on('data', chunk => stderr += chunk);
        const client = new Client({ name: 'agent-e2e', version: '1.0.0' });
        const closed = new Promise<void>(resolve => client.onclose = () => resolve());
        // The agent serves MCP once admitted: the client's initialize waits in the pipe until then.
        const connected = client.connect(transport);
        reviewer = { client, transport, stderr: () => stderr, closed };
        await admitProgram(host, 'Review bot', 'readwrite', 'agent-host-join-request');
        await connected;
        await host.waitForStatusBarText('collaboration-status', /2 participants$/);

        await showParticipants(host);
        const entry = host.page.locator('.collab-participant[data-peer-name="Review bot"]');
        await entry.waitFor({ state: 'visible', timeout: 15_000 });
        const marker = entry.locator('.collab-participant-header .collab-participant-program.codicon-robot');
        await marker.waitFor({ state: 'visible' });
        assert.strictEqual(await marker.getAttribute('aria-label'), 'Program');
        assert.match(await marker.getAttribute('title') ?? '', /program \(a bot or an AI agent\)/);
        assert.strictEqual(await host.page.locator('.collab-participant[data-peer-name="Alice"] .collab-participant-program').count(), 0, 'the host is not marked');
        await host.screenshot('agent-host-participants');

        const participants = JSON.parse((await call(client, 'list_participants')).text).participants as { name: string; role: string; permission: string; program: boolean; self: boolean }[];
        assert.deepStrictEqual(participants.map(p => [p.name, p.role, p.permission, p.program, p.self]),
            [['Alice', 'host', 'readwrite', false, false], ['Review bot', 'guest', 'readwrite', true, true]]);
    });

    it('files the host excludes (.env) are invisible to the agent\'s list and read tools', async () => {
        const { client } = reviewer!;
        const roots = JSON.parse((await call(client, 'list_files')).text).entries as { path: string }[];
        assert.strictEqual(roots.length, 1, JSON.stringify(roots));
        root = roots[0].path;
        const listed = await call(client, 'list_files', { path: root, depth: 3 });
        assert.strictEqual(listed.isError, false, listed.text);
        const paths = (JSON.parse(listed.text).entries as { path: string }[]).map(entry => entry.path);
        assert.ok(paths.includes(`${root}/src/main.ts`) && paths.includes(`${root}/README.md`), paths.join(', '));
        assert.ok(!paths.some(p => p.includes('.env')), `.env is not listed: ${paths.join(', ')}`);
        const secret = await call(client, 'read_file', { path: `${root}/.env` });
        assert.strictEqual(secret.isError, true, secret.text);
        assert.ok(!secret.text.includes('AGENT-E2E-SECRET'), secret.text);
        const found = await call(client, 'search_text', { pattern: 'AGENT-E2E-SECRET' });
        assert.ok(!found.text.includes(SECRET), `search does not find it either: ${found.text}`);
        const readme = await call(client, 'read_file', { path: `${root}/README.md` });
        assert.strictEqual(JSON.parse(readme.text).text, '# Agents\n');
    });

    it('the agent\'s edit shows in the host\'s editor, with the agent\'s named caret', async () => {
        const { client } = reviewer!;
        await openFile(host, 'main.ts');
        await waitFor(async () => (await editorText(host)).includes('answer = 41'), 20_000, 'the host\'s editor shows main.ts');
        const opened = await call(client, 'open_document', { path: `${root}/src/main.ts` });
        assert.match(opened.text, /export const answer = 41;/);
        const edited = await call(client, 'edit_document', {
            path: `${root}/src/main.ts`,
            edits: [{ oldText: 'return `Hello ${name}`;', newText: 'return `Hello, ${name}! (reviewed by the bot)`;' }]
        });
        assert.strictEqual(edited.isError, false, edited.text);
        assert.deepStrictEqual(JSON.parse(edited.text).cursor, { line: 4, column: '    return `Hello, ${name}! (reviewed by the bot)`;'.length + 1 });

        await waitFor(async () => (await editorText(host)).includes('(reviewed by the bot)'), 20_000, 'the agent\'s text in the host\'s editor');
        const caret = await waitFor(async () => (await remoteCarets(host)).find(candidate => /Review bot/.test(candidate.label) && candidate.line === 4),
            20_000, 'the agent\'s named caret on line 4 of the host\'s editor');
        assert.ok(caret.offsetInLine > 100, `the caret is at the end of the edited line: ${JSON.stringify(caret)}`);
        assert.ok(caret.height > 5, `the caret is visible: ${JSON.stringify(caret)}`);
        await host.screenshot('agent-host-sees-edit-and-caret');

        const saved = await call(client, 'save_document', { path: `${root}/src/main.ts` });
        assert.strictEqual(saved.isError, false, saved.text);
        await waitFor(() => fs.readFileSync(suite.hostFile('src/main.ts'), 'utf8').includes('(reviewed by the bot)'), 20_000, 'the edit on the host\'s disk');
    });

    it('a read-only agent (over Streamable HTTP) is refused its edit; the host\'s file stays as it was', async () => {
        const child = spawnOwnedNode([AGENT_CLI, 'mcp', inviteCode, '--server', serverUrl, '--name', 'Reader bot', '--http', '127.0.0.1:0'],
            { stdio: ['ignore', 'ignore', 'pipe'] });
        const exited = new Promise<void>(resolve => child.once('exit', () => resolve()));
        let stderr = '';
        child.stderr!.on('data', chunk => stderr += chunk);
        await admitProgram(host, 'Reader bot', 'readonly', 'agent-host-join-request-readonly');
        const url = await waitFor(() => /serving MCP \(Streamable HTTP\) at (\S+)/.exec(stderr)?.[1], 30_000, `the read-only agent serves MCP (${stderr})`);
        assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\//, 'loopback only');
        const client = new Client({ name: 'agent-e2e-reader', version: '1.0.0' });
        await client.connect(new StreamableHTTPClientTransport(new URL(url)));
        reader = { client, child, exited };

        const before = await editorText(host);
        const disk = fs.readFileSync(suite.hostFile('src/main.ts'), 'utf8');
        const refused = await call(client, 'edit_document', { path: `${root}/src/main.ts`, edits: [{ oldText: 'answer = 41', newText: 'answer = 0' }] });
        assert.strictEqual(refused.isError, true, refused.text);
        assert.match(refused.text, /permission-denied: The host refused the edit: You have read-only access/);
        await new Promise(resolve => setTimeout(resolve, 1000));
        assert.strictEqual(await editorText(host), before, 'the host\'s editor is unchanged');
        assert.ok(!(await editorText(host)).includes('answer = 0'));
        assert.strictEqual(fs.readFileSync(suite.hostFile('src/main.ts'), 'utf8'), disk, 'the host\'s file is unchanged');
        const live = await call(client, 'open_document', { path: `${root}/src/main.ts` });
        assert.match(live.text, /answer = 41;/, 'the agent is back at the host\'s text');

        await client.close();
        await stopOwnedProcess(child, exited, 'the read-only agent');
        reader = undefined;
        await host.waitForStatusBarText('collaboration-status', /2 participants$/);
    });

    it('the host removes the agent from the participants view: its session ends and its process exits, saying so', async () => {
        const { client, transport, stderr, closed } = reviewer!;
        const pid = transport.pid!;
        await showParticipants(host);
        await host.page.locator('.collab-participant[data-peer-name="Review bot"] .collab-remove').click();
        const confirm = host.dialog();
        await confirm.waitFor({ state: 'visible' });
        await confirm.locator('button.main').click();
        await confirm.waitFor({ state: 'detached' });
        await waitFor(async () => await host.page.locator('.collab-participant[data-peer-name="Review bot"]').count() === 0, 15_000, 'the agent is gone from the participants view');
        await closed;
        await waitFor(() => !processAlive(pid), 15_000, 'the agent\'s process to exit');
        assert.match(stderr(), /the host removed you from the session/);
        await assert.rejects(call(client, 'list_participants'), 'no more tools once removed');
        await host.waitForStatusBarText('collaboration-status', /1 participant$|Collaborating$/);
        await host.screenshot('agent-host-after-removal');
        reviewer = undefined;
    });
});

function processAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}
