#!/usr/bin/env node
/**
 * collab-agent: a program joins a Theia collaboration session as a participant.
 *
 *   collab-agent join  <invite> [--name N] [--server URL]                      stay in the session (until Ctrl+C)
 *   collab-agent mcp   <invite> [--name N] [--server URL] [--http HOST:PORT]   serve MCP (stdio, or Streamable HTTP on loopback)
 *   collab-agent cat   <invite> <path> [--live]                                print a shared file
 *   collab-agent patch <invite> <path> <diff-file|-> [--save]                  apply a unified diff through the shared document
 *   collab-agent say   <invite> <message...>                                   post to the session chat
 *
 * Everything but MCP traffic goes to stderr. Exit codes: 0 done, 1 failed, 2 usage, 3 removed by the host,
 * 4 the session ended otherwise.
 */
import * as fs from 'fs';
import { CollaborationError } from '@theia-collab/protocol';
import { AgentParticipant, DEFAULT_SERVER_URL } from './agent-participant';
import { serveHttp, serveStdio } from './agent-mcp';

export const USAGE = `Usage:
  collab-agent join  <invite> [--name NAME] [--server URL]
  collab-agent mcp   <invite> [--name NAME] [--server URL] [--http 127.0.0.1:PORT]
  collab-agent cat   <invite> <path> [--live] [--name NAME] [--server URL]
  collab-agent patch <invite> <path> <unified-diff-file|-> [--save] [--name NAME] [--server URL]
  collab-agent say   <invite> <message...> [--name NAME] [--server URL]

<invite> is the invite link (it names the server) or code (room#fingerprint.secret; then --server,
default ${DEFAULT_SERVER_URL}). The host is asked to admit you like any guest, read-only or read-write.
Paths are workspace paths: <root>/<relative path>.`;

export const EXIT = { ok: 0, failed: 1, usage: 2, removed: 3, ended: 4 } as const;

interface Parsed {
    command: string;
    positional: string[];
    name: string;
    server?: string;
    http?: string;
    flags: Set<string>;
}

class UsageError extends Error { }

export function parseArgs(argv: readonly string[]): Parsed {
    const positional: string[] = [];
    const flags = new Set<string>();
    const values: Record<string, string> = {};
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === '--') {
            positional.push(...argv.slice(i + 1));
            break;
        }
        const option = /^--(name|server|http)(?:=(.*))?$/.exec(arg);
        if (option) {
            const value = option[2] ?? argv[++i];
            if (value === undefined) {
                throw new UsageError(`--${option[1]} needs a value.`);
            }
            values[option[1]] = value;
        } else if (arg === '--save' || arg === '--live') {
            flags.add(arg.slice(2));
        } else if (arg === '-h' || arg === '--help') {
            flags.add('help');
        } else if (arg.startsWith('--')) {
            throw new UsageError(`Unknown option ${arg}.`);
        } else {
            positional.push(arg);
        }
    }
    const [command = '', ...rest] = positional;
    const name = (values.name ?? 'collab-agent').trim();
    if (!name) {
        throw new UsageError('--name must not be empty.');
    }
    return { command, positional: rest, name, server: values.server, http: values.http, flags };
}

function log(message: string): void {
    process.stderr.write(`collab-agent: ${message}\n`);
}

async function join(args: Parsed): Promise<AgentParticipant> {
    const invite = args.positional[0];
    if (!invite) {
        throw new UsageError('Give the invite link or code.');
    }
    const abort = new AbortController();
    const cancel = () => abort.abort();
    process.once('SIGINT', cancel);
    process.once('SIGTERM', cancel);
    try {
        const agent = await AgentParticipant.join({
            invite, name: args.name, serverUrl: args.server, signal: abort.signal,
            onPending: ({ fingerprint }) => log(`asked to join as "${args.name}" (fingerprint ${fingerprint}); waiting for the host to admit you...`)
        });
        log(`joined ${agent.session.host.name}'s session as "${agent.self.name}" (${agent.self.permission}).`);
        return agent;
    } finally {
        process.off('SIGINT', cancel);
        process.off('SIGTERM', cancel);
    }
}

/**
 * Keeps the participant in the session until a signal (or `until`) ends it: then it leaves cleanly. When the host
 * removes it or the session ends, says so and resolves with the exit code.
 */
function stayUntilDone(agent: AgentParticipant, until?: Promise<void>, cleanup?: () => Promise<void>): Promise<number> {
    return new Promise<number>(resolve => {
        let done = false;
        const finish = async (code: number, message?: string) => {
            if (done) {
                return;
            }
            done = true;
            if (message) {
                log(message);
            }
            await cleanup?.().catch(() => undefined);
            await agent.leave().catch(() => undefined);
            resolve(code);
        };
        agent.session.onClose(closed => {
            if (closed.reason === 'left') {
                return;
            }
            const removed = closed.reason === 'removed';
            finish(removed ? EXIT.removed : EXIT.ended, removed
                ? `the host removed you from the session (${closed.message}).`
                : `the session ended (${closed.reason}): ${closed.message}`);
        });
        process.once('SIGINT', () => finish(EXIT.ok, 'leaving the session (SIGINT).'));
        process.once('SIGTERM', () => finish(EXIT.ok, 'leaving the session (SIGTERM).'));
        until?.then(() => finish(EXIT.ok, 'the MCP client went away; leaving the session.'));
    });
}

export async function main(argv: readonly string[]): Promise<number> {
    let args: Parsed;
    try {
        args = parseArgs(argv);
    } catch (error) {
        log((error as Error).message);
        process.stderr.write(`${USAGE}\n`);
        return EXIT.usage;
    }
    if (args.flags.has('help') || !args.command) {
        process.stderr.write(`${USAGE}\n`);
        return args.flags.has('help') ? EXIT.ok : EXIT.usage;
    }
    try {
        switch (args.command) {
            case 'join': {
                const agent = await join(args);
                log('in the session; Ctrl+C leaves.');
                agent.session.onPeerJoined(peer => log(`${peer.name} joined.`));
                agent.session.onPeerLeft(({ peer, reason }) => log(`${peer.name} left (${reason}).`));
                agent.session.onPeerChanged(peer => peer.id === agent.self.id && log(`the host made you ${peer.permission}.`));
                agent.chat.onDidReceive(message => log(`[chat] ${message.authorName}: ${message.text}`));
                return await stayUntilDone(agent);
            }
            case 'mcp': {
                const agent = await join(args);
                if (args.http) {
                    const server = await serveHttp(agent, args.http);
                    log(`serving MCP (Streamable HTTP) at ${server.url}`);
                    return await stayUntilDone(agent, undefined, () => server.close());
                }
                log('serving MCP on stdio.');
                return await stayUntilDone(agent, serveStdio(agent));
            }
            case 'cat': {
                const path = args.positional[1];
                if (!path) {
                    throw new UsageError('Give the workspace path of the file.');
                }
                const agent = await join(args);
                try {
                    process.stdout.write(args.flags.has('live') ? await agent.documentText(path) : await agent.readFile(path));
                } finally {
                    await agent.leave();
                }
                return EXIT.ok;
            }
            case 'patch': {
                const [, path, diffFile] = args.positional;
                if (!path || !diffFile) {
                    throw new UsageError('Give the workspace path and the unified diff file (- for stdin).');
                }
                const diff = fs.readFileSync(diffFile === '-' ? 0 : diffFile, 'utf8');
                const agent = await join(args);
                try {
                    const result = await agent.patchDocument(path, diff);
                    if (args.flags.has('save')) {
                        await agent.saveDocument(path);
                    }
                    log(`applied ${result.edits} edit(s) to ${path}${args.flags.has('save') ? ' and saved it' : ''}.`);
                } finally {
                    await agent.leave();
                }
                return EXIT.ok;
            }
            case 'say': {
                const text = args.positional.slice(1).join(' ');
                if (!text.trim()) {
                    throw new UsageError('Give the message.');
                }
                const agent = await join(args);
                try {
                    await agent.sendChat(text);
                } finally {
                    await agent.leave();
                }
                return EXIT.ok;
            }
            default:
                throw new UsageError(`Unknown command '${args.command}'.`);
        }
    } catch (error) {
        if (error instanceof UsageError) {
            log(error.message);
            process.stderr.write(`${USAGE}\n`);
            return EXIT.usage;
        }
        const { code, message } = CollaborationError.from(error);
        log(`${code}: ${message}`);
        return EXIT.failed;
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).then(code => process.exit(code), error => {
        log(String(error));
        process.exit(EXIT.failed);
    });
}
