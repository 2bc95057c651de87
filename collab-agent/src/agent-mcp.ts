/**
 * The participant's MCP server (official TypeScript SDK): one tool per thing a guest can do. Every tool validates
 * its input (zod), goes through the guest-side protocol (the host decides), and answers JSON text, or an error
 * result `code: message` (e.g. a read-only participant's edit: the host's 'permission-denied' reason).
 */
import { randomUUID } from 'crypto';
import * as http from 'http';
import type { AddressInfo } from 'net';
import { z } from 'zod';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { CollaborationError } from '@theia-collab/protocol';
import { ChatLimits } from '@theia-collab/extension/lib/common/chat/chat-protocol';
import { FsLimits } from '@theia-collab/extension/lib/common/fs/fs-messages';
import { AgentParticipant } from './agent-participant';
import { MAX_DIFF_BYTES } from './unified-diff';

export const AGENT_VERSION = '0.1.0';

const Path = z.string().min(1).max(FsLimits.maxPathLength)
    .describe('Workspace path: `<root>/<relative/path>` as list_files shows it, e.g. `proj/src/main.ts`.');
const Line = z.number().int().min(1).max(10_000_000).describe('1-based line');
const Column = z.number().int().min(1).max(10_000_000).describe('1-based column (UTF-16 code units)');
const Position = z.object({ line: Line, column: Column }).strict();
const Edit = z.object({
    range: z.object({ start: Position, end: Position }).strict().optional()
        .describe('The text to replace, 1-based; start = end inserts. Positions refer to the text before this call.'),
    oldText: z.string().max(1_000_000).optional().describe('Alternatively: the exact text to replace; it must occur exactly once.'),
    newText: z.string().max(1_000_000).describe('The replacement text.')
}).strict();

function json(value: unknown): CallToolResult {
    return { content: [{ type: 'text', text: JSON.stringify(value, undefined, 2) }] };
}

function failure(error: unknown): CallToolResult {
    const { code, message } = CollaborationError.from(error);
    return { isError: true, content: [{ type: 'text', text: `${code}: ${message}` }] };
}

/** Runs a tool; errors become error results the model can read. */
async function run(work: () => Promise<unknown> | unknown): Promise<CallToolResult> {
    try {
        return json(await work());
    } catch (error) {
        return failure(error);
    }
}

/** A text with line numbers, the way models read files best. */
function numbered(text: string): string {
    return text.split('\n').map((line, index) => `${String(index + 1).padStart(5)}  ${line}`).join('\n');
}

interface ToolConfig<S extends z.ZodRawShape> {
    title: string;
    description: string;
    inputSchema: S;
    annotations?: { readOnlyHint?: boolean; destructiveHint?: boolean };
}

/**
 * `McpServer.registerTool` with the argument types taken from our (zod 3) shape directly: the SDK's own inference
 * over its zod 3/4 compatibility types makes the compiler run out of memory. The SDK still validates the input
 * against `inputSchema` before the handler runs.
 */
function registerTool<S extends z.ZodRawShape>(
    server: McpServer, name: string, config: ToolConfig<S>, handler: (args: z.infer<z.ZodObject<S>>) => Promise<CallToolResult>
): void {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    (server.registerTool as (name: string, config: unknown, cb: (args: any) => Promise<CallToolResult>) => unknown).call(server, name, config, handler);
}

/** An MCP server whose tools act as `agent` in its session. */
export function createAgentMcpServer(agent: AgentParticipant): McpServer {
    const server = new McpServer({ name: 'theia-collab-agent', version: AGENT_VERSION }, {
        instructions: `You take part in a live collaboration session of the Theia IDE as "${agent.self.name}" (${agent.self.permission}). ` +
            'The host decides what you may see and change: excluded files stay invisible, read-only participants cannot edit. ' +
            'Edits go into the shared documents everyone has open; your cursor is visible to the others with your name.'
    });
    registerTool(server, 'list_files', {
        title: 'List files',
        description: 'Lists the host\'s shared files and folders. Without a path: the shared roots. The host\'s exclusions apply (e.g. `.env` is never listed).',
        inputSchema: {
            path: Path.optional(),
            depth: z.number().int().min(1).max(20).optional().describe('Levels to descend (1 = direct children, default 1).')
        },
        annotations: { readOnlyHint: true }
    }, ({ path, depth }) => run(() => agent.listFiles(path, depth ?? 1)));

    registerTool(server, 'read_file', {
        title: 'Read file',
        description: 'Reads a shared file as saved on the host\'s disk (UTF-8). For the live text others are editing, use open_document.',
        inputSchema: { path: Path },
        annotations: { readOnlyHint: true }
    }, ({ path }) => run(async () => ({ path, text: await agent.readFile(path) })));

    registerTool(server, 'open_document', {
        title: 'Open document',
        description: 'Opens the live shared document of a file (what everyone edits, unsaved changes included) and returns its text with line numbers. Others see you in it.',
        inputSchema: { path: Path },
        annotations: { readOnlyHint: true }
    }, async ({ path }) => {
        try {
            const text = await agent.documentText(path);
            return { content: [{ type: 'text', text: `${path} (${text.split('\n').length} lines, live shared text):\n${numbered(text)}` }] };
        } catch (error) {
            return failure(error);
        }
    });

    registerTool(server, 'edit_document', {
        title: 'Edit document',
        description: 'Changes the live shared document as one edit (everyone sees it at once, and your cursor at its end). ' +
            'Each edit replaces a range or the single occurrence of oldText. Resolves once the host applied it; fails with the host\'s reason when it refused it. Does not save.',
        inputSchema: { path: Path, edits: z.array(Edit).min(1).max(500) },
        annotations: { destructiveHint: false }
    }, ({ path, edits }) => run(async () => {
        const result = await agent.editDocument(path, edits);
        return { path, applied: edits.length, cursor: result.cursor, lines: result.text.split('\n').length };
    }));

    registerTool(server, 'patch_document', {
        title: 'Patch document',
        description: 'Applies a unified diff (one file, `@@ -l,s +l,s @@` hunks) to the live shared document, hunk by hunk as small edits.',
        inputSchema: { path: Path, diff: z.string().min(1).max(MAX_DIFF_BYTES) }
    }, ({ path, diff }) => run(async () => {
        const result = await agent.patchDocument(path, diff);
        return { path, edits: result.edits, cursor: result.cursor };
    }));

    registerTool(server, 'save_document', {
        title: 'Save document',
        description: 'Asks the host to save the shared document to its disk.',
        inputSchema: { path: Path }
    }, ({ path }) => run(async () => {
        await agent.saveDocument(path);
        return { path, saved: true };
    }));

    registerTool(server, 'set_cursor', {
        title: 'Move cursor',
        description: 'Moves your cursor (or selects from start to end) in a shared document, e.g. to point others at a line. Everyone sees it with your name.',
        inputSchema: { path: Path, start: Position, end: Position.optional() },
        annotations: { readOnlyHint: true }
    }, ({ path, start, end }) => run(async () => {
        await agent.setCursor(path, start, end);
        return { path, start, end: end ?? start };
    }));

    registerTool(server, 'read_diagnostics', {
        title: 'Read diagnostics',
        description: 'The host\'s problems (errors, warnings) of shared files, as its language services report them. LSP ranges: 0-based lines and characters; severity 1 = error, 2 = warning, 3 = info, 4 = hint.',
        inputSchema: { path: Path.optional() },
        annotations: { readOnlyHint: true }
    }, ({ path }) => run(() => ({ files: agent.diagnosticsOf(path) })));

    registerTool(server, 'hover', {
        title: 'Hover',
        description: 'What the host\'s language services show when hovering a position of a shared document (types, documentation).',
        inputSchema: { path: Path, line: Line, column: Column },
        annotations: { readOnlyHint: true }
    }, ({ path, line, column }) => run(async () => ({ hovers: await agent.hover(path, { line, column }) })));

    registerTool(server, 'definitions', {
        title: 'Go to definition',
        description: 'Where the symbol at a position is defined, by the host\'s language services (locations in shared files only; 1-based ranges).',
        inputSchema: { path: Path, line: Line, column: Column },
        annotations: { readOnlyHint: true }
    }, ({ path, line, column }) => run(async () => ({ locations: await agent.definitions(path, { line, column }) })));

    registerTool(server, 'search_text', {
        title: 'Search text',
        description: 'Searches the text of the host\'s shared files (its search service; excluded files are never searched). Matches: 1-based line and character.',
        inputSchema: {
            pattern: z.string().min(1).max(1000),
            matchCase: z.boolean().optional(),
            matchWholeWord: z.boolean().optional(),
            useRegExp: z.boolean().optional(),
            include: z.array(z.string().min(1).max(1000)).max(32).optional().describe('Glob patterns of files to search.'),
            exclude: z.array(z.string().min(1).max(1000)).max(32).optional().describe('Glob patterns of files to leave out.'),
            maxResults: z.number().int().min(1).max(10_000).optional()
        },
        annotations: { readOnlyHint: true }
    }, ({ pattern, ...options }) => run(async () => {
        const { files, result } = await agent.searchText(pattern, options);
        return { matches: result.matches, limitHit: result.limitHit, files: files.map(file => ({ path: file.path, matches: file.matches.map(m => ({ line: m.line, character: m.character, length: m.length, lineText: m.lineText })) })) };
    }));

    registerTool(server, 'search_files', {
        title: 'Find files by name',
        description: 'Finds shared files by name (fuzzy, as quick open does), through the host\'s search service.',
        inputSchema: { pattern: z.string().max(1000), limit: z.number().int().min(1).max(10_000).optional() },
        annotations: { readOnlyHint: true }
    }, ({ pattern, limit }) => run(() => agent.searchFiles(pattern, limit)));

    registerTool(server, 'read_chat', {
        title: 'Read chat',
        description: 'The session chat\'s latest messages (author names as the host stamped them).',
        inputSchema: { limit: z.number().int().min(1).max(ChatLimits.maxHistory).optional().describe('How many of the latest messages (default 50).') },
        annotations: { readOnlyHint: true }
    }, ({ limit }) => run(() => ({
        messages: agent.readChat(limit ?? 50).map(message => ({
            id: message.id, author: message.authorName, authorId: message.authorId, time: new Date(message.time).toISOString(), text: message.text
        }))
    })));

    registerTool(server, 'send_chat', {
        title: 'Send chat message',
        description: 'Posts a message to the session chat, under your participant name.',
        inputSchema: { text: z.string().min(1).max(ChatLimits.maxMessageBytes) }
    }, ({ text }) => run(async () => {
        const message = await agent.sendChat(text);
        return { id: message.id, author: message.authorName, time: new Date(message.time).toISOString() };
    }));

    registerTool(server, 'list_participants', {
        title: 'List participants',
        description: 'Everyone in the session (you included): name, role, permission, key fingerprint, whether they are a program, and where they are (document, cursor), who presents.',
        inputSchema: {},
        annotations: { readOnlyHint: true }
    }, () => run(() => ({ participants: agent.listParticipants() })));

    registerTool(server, 'host_view', {
        title: 'What the host is looking at',
        description: 'The host\'s active document, cursor, selections and visible lines, whom the host follows, and who presents.',
        inputSchema: {},
        annotations: { readOnlyHint: true }
    }, () => run(() => agent.hostView()));

    return server;
}

/** Serves MCP on stdin/stdout; resolves when stdin ends (the MCP client went away). */
export async function serveStdio(agent: AgentParticipant): Promise<void> {
    const server = createAgentMcpServer(agent);
    const transport = new StdioServerTransport();
    const ended = new Promise<void>(resolve => {
        process.stdin.once('end', () => resolve());
        process.stdin.once('close', () => resolve());
        transport.onclose = () => resolve();
    });
    await server.connect(transport);
    await ended;
    await server.close().catch(() => undefined);
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);
const MAX_BODY_BYTES = 8 * 1024 * 1024;
const MAX_HTTP_SESSIONS = 16;

/** `127.0.0.1:8123` → host and port; only loopback addresses are accepted. */
export function parseHttpAddress(address: string): { host: string; port: number } {
    const match = /^(\[::1\]|[^:]+):(\d{1,5})$/.exec(address.trim());
    const port = match ? Number(match[2]) : NaN;
    if (!match || !LOOPBACK_HOSTS.has(match[1]) || !(port >= 0 && port <= 65535)) {
        throw new CollaborationError('bad-request', `--http takes a loopback address and port, e.g. 127.0.0.1:8123 (got '${address}'). Only 127.0.0.1, ::1 and localhost are served.`);
    }
    return { host: match[1] === '[::1]' ? '::1' : match[1], port };
}

export interface AgentHttpServer {
    /** `http://127.0.0.1:<port>/mcp` */
    readonly url: string;
    close(): Promise<void>;
}

/**
 * Serves MCP over Streamable HTTP on a loopback address, at `/mcp`: one MCP session per client (stateful). Requests
 * whose Host is not the loopback address served, or that come from a web page (an Origin other than loopback), are
 * refused (DNS rebinding, cross-site requests).
 */
export async function serveHttp(agent: AgentParticipant, address: string): Promise<AgentHttpServer> {
    const { host, port } = parseHttpAddress(address);
    const transports = new Map<string, StreamableHTTPServerTransport>();
    let actualPort = port;
    const allowedHost = (value: string | undefined) => {
        const hostOnly = value?.replace(/:\d+$/, '');
        return value !== undefined && LOOPBACK_HOSTS.has(hostOnly ?? '') && value.endsWith(`:${actualPort}`);
    };
    const allowedOrigin = (origin: string | undefined) => {
        if (origin === undefined) {
            return true;
        }
        try {
            const url = new URL(origin);
            return LOOPBACK_HOSTS.has(url.hostname) && url.port === String(actualPort);
        } catch {
            return false;
        }
    };
    const reply = (res: http.ServerResponse, status: number, message: string) => {
        if (!res.headersSent) {
            res.writeHead(status, { 'content-type': 'application/json' })
                .end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
        }
    };
    const readBody = (req: http.IncomingMessage) => new Promise<unknown>((resolve, reject) => {
        const chunks: Buffer[] = [];
        let size = 0;
        req.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_BODY_BYTES) {
                reject(new Error('too large'));
                req.destroy();
                return;
            }
            chunks.push(chunk);
        });
        req.on('end', () => {
            try {
                resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
            } catch {
                reject(new Error('invalid JSON'));
            }
        });
        req.on('error', reject);
    });
    const server = http.createServer(async (req, res) => {
        try {
            if (!allowedHost(req.headers.host) || !allowedOrigin(req.headers.origin)) {
                reply(res, 403, 'Forbidden: only loopback clients are served.');
                return;
            }
            if (new URL(req.url ?? '/', 'http://localhost').pathname !== '/mcp') {
                reply(res, 404, 'Not found: the MCP endpoint is /mcp.');
                return;
            }
            const sessionId = req.headers['mcp-session-id'];
            const existing = typeof sessionId === 'string' ? transports.get(sessionId) : undefined;
            if (req.method === 'POST') {
                let body: unknown;
                try {
                    body = await readBody(req);
                } catch (error) {
                    reply(res, 400, `Bad request: ${(error as Error).message}.`);
                    return;
                }
                if (existing) {
                    await existing.handleRequest(req, res, body);
                } else if (sessionId === undefined && isInitializeRequest(body)) {
                    if (transports.size >= MAX_HTTP_SESSIONS) {
                        reply(res, 503, 'Too many MCP sessions.');
                        return;
                    }
                    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
                        sessionIdGenerator: () => randomUUID(),
                        onsessioninitialized: id => { transports.set(id, transport); }
                    });
                    transport.onclose = () => {
                        if (transport.sessionId) {
                            transports.delete(transport.sessionId);
                        }
                    };
                    await createAgentMcpServer(agent).connect(transport);
                    await transport.handleRequest(req, res, body);
                } else {
                    reply(res, sessionId ? 404 : 400, sessionId ? 'Session not found.' : 'Bad request: no MCP session; initialize first.');
                }
            } else if (req.method === 'GET' || req.method === 'DELETE') {
                if (!existing) {
                    reply(res, sessionId ? 404 : 400, sessionId ? 'Session not found.' : 'Bad request: no MCP session.');
                    return;
                }
                await existing.handleRequest(req, res);
            } else {
                reply(res, 405, 'Method not allowed.');
            }
        } catch (error) {
            reply(res, 500, `Internal error: ${(error as Error).message}`);
        }
    });
    await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
            server.off('error', reject);
            resolve();
        });
    });
    actualPort = (server.address() as AddressInfo).port;
    const hostInUrl = host === '::1' ? '[::1]' : host;
    return {
        url: `http://${hostInUrl}:${actualPort}/mcp`,
        close: async () => {
            for (const transport of [...transports.values()]) {
                await transport.close().catch(() => undefined);
            }
            transports.clear();
            server.closeAllConnections();
            await new Promise<void>(resolve => server.close(() => resolve()));
        }
    };
}
