/**
 * Chaos test support: one collaboration session of real protocol clients (a host and guests, each behind its own
 * FailoverProxy) running the real features: co-editing one document (EditorHost/EditorGuest, TextBinding over a
 * string buffer), chat (ChatChannel) and a shared terminal (TerminalHost/TerminalGuest, scripted output). Everyone
 * types and chats at a steady, bounded rate; everything produced is recorded with its time, so that at the end what
 * is missing anywhere can be counted (and attributed to the fault during which it was produced).
 */
import { CollaborationClient } from '@theia-collab/protocol/lib/client';
import { Emitter } from '@theia-collab/protocol/lib/events';
import type { CollaborationSession, SessionClosed } from '@theia-collab/protocol/lib/session';
import { ChatChannel } from '../../common/chat/chat-channel';
import { ChatMessages } from '../../common/chat/chat-protocol';
import { SharedDocument } from '../../common/editor/editor-document';
import { EditorGuest } from '../../common/editor/editor-guest';
import { EditorHost } from '../../common/editor/editor-host';
import { StringTextBuffer } from '../../common/editor/editor-string-buffer';
import { TextBinding } from '../../common/editor/editor-text-binding';
import { TerminalHost, TerminalSource } from '../../common/terminal/terminal-host';
import { GuestTerminal, TerminalGuest } from '../../common/terminal/terminal-guest';
import { FailoverProxy, sleep } from './process-control';

export const DOC_PATH = 'project/src/chaos.ts';
const TERMINAL_SEED = 'chaos@box:~$ tail -f build.log\r\n';

export class ClientLog {
    readonly records: string[] = [];
    warn = (...args: unknown[]) => { this.records.push(`${new Date().toISOString()} ${args.map(describe).join(' ')}`); };
    error = (...args: unknown[]) => { this.records.push(`${new Date().toISOString()} ERROR ${args.map(describe).join(' ')}`); };
    info = (...args: unknown[]) => { this.records.push(`${new Date().toISOString()} info ${args.map(describe).join(' ')}`); };

    /** The same log, each line prefixed with `name`. */
    for(name: string): ClientLog {
        const prefixed = new ClientLog();
        (prefixed as { records: string[] }).records = this.records;
        const tag = (fn: (...args: unknown[]) => void) => (...args: unknown[]) => fn(`[${name}]`, ...args);
        prefixed.warn = tag(this.warn);
        prefixed.error = tag(this.error);
        prefixed.info = tag(this.info);
        return prefixed;
    }
}

function describe(value: unknown): string {
    if (value instanceof Error) {
        return `${value.name}: ${value.message}`;
    }
    if (typeof value === 'object' && value !== null) {
        try {
            return JSON.stringify(value).slice(0, 300);
        } catch {
            return String(value);
        }
    }
    return String(value);
}

export async function until(condition: () => boolean, what: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
        if (Date.now() > deadline) {
            throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
        }
        await sleep(20);
    }
}

/** The scripted process of the shared terminal: prints numbered lines. */
class ScriptedTerminal implements TerminalSource {
    readonly title = 'build';
    readonly dimensions = { cols: 120, rows: 30 };
    protected readonly outputEmitter = new Emitter<string>();
    protected readonly closedEmitter = new Emitter<void>();
    readonly onOutput = this.outputEmitter.event;
    readonly onClosed = this.closedEmitter.event;
    initialContent(): string { return TERMINAL_SEED; }
    sendText(): void { }
    print(data: string): void { this.outputEmitter.fire(data); }
}

export interface Member {
    readonly name: string;
    readonly isHost: boolean;
    readonly proxy: FailoverProxy;
    readonly client: CollaborationClient;
    readonly session: CollaborationSession;
    readonly buffer: StringTextBuffer;
    readonly chat: ChatChannel;
    /**
     * Every chat message this member was shown, as a chat view appends them: the history it got on joining, then each
     * message the channel announced (onDidReceive). The channel's own history keeps only the last 500.
     */
    readonly seen: Map<string, number>;
    /** Guests: the shared terminal as this guest sees it. */
    terminal?: GuestTerminal;
    /** When this member's session closed, and why. */
    closed?: { at: number; event: SessionClosed };
    /** Times this member's own connection went 'reconnecting'. */
    readonly dropped: number[];
}

export interface ChatRecord { text: string; author: string; at: number; status: 'pending' | 'acked' | 'refused'; error?: string; settledAt?: number }

/** Options of a session's traffic. */
export interface TrafficOptions {
    /** Mean milliseconds between two edits of one member. */
    editEveryMs: number;
    /** Mean milliseconds between two chat messages of one member. */
    chatEveryMs: number;
    /** Milliseconds between two terminal output lines. */
    terminalEveryMs: number;
    /** Self-check of the test: one guest ignores this chat message (the test must then report it lost). */
    dropChatText?: string;
}

function prng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6D2B79F5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

/** A session where a host and guests co-edit, chat and watch a shared terminal. */
export class ChaosSession {
    readonly members: Member[] = [];
    /** Every character typed (all unique), with when it was typed; deleted ones too. */
    readonly inserted = new Map<string, number>();
    /** Every character deleted, with when. */
    readonly deleted = new Map<string, number>();
    readonly chats: ChatRecord[] = [];
    /** Terminal output lines, with when they were printed. */
    readonly terminalLines: { line: string; at: number }[] = [];
    terminalEmitted = TERMINAL_SEED;
    protected readonly disposables: { dispose(): void }[] = [];
    protected readonly random: () => number;
    protected nextChar = 0x4E00;
    protected running = false;
    protected loops: Promise<void>[] = [];
    protected terminalTimer?: ReturnType<typeof setInterval>;
    protected source = new ScriptedTerminal();
    protected hostSync?: EditorHost;

    constructor(readonly label: string, readonly log: ClientLog, seed: number, readonly traffic: TrafficOptions) {
        this.random = prng(seed);
    }

    get host(): Member {
        return this.members[0];
    }

    get guests(): Member[] {
        return this.members.slice(1);
    }

    /** Opens the session: the host behind `hostProxy`, then one guest per entry of `guestProxies`. */
    async open(hostProxy: FailoverProxy, guestProxies: { name: string; proxy: FailoverProxy }[]): Promise<void> {
        const hostClient = await this.connect(hostProxy, `${this.label} Host`);
        const hostSession = await hostClient.createSession();
        this.disposables.push(hostSession.onJoinRequest(request => { request.admit('readwrite').catch(() => undefined); }));
        const hostSync = new EditorHost(hostSession, { read: async () => 'seed\n', save: async () => true }, { logger: this.log });
        this.hostSync = hostSync;
        this.disposables.push(hostSync);
        [...'seed\n'].forEach(char => this.inserted.set(char, 0));
        const terminalHost = new TerminalHost(hostSession, { scrollbackBytes: 4 * 1024 * 1024 });
        this.disposables.push(terminalHost);
        terminalHost.share(this.source);
        this.members.push(await this.member(hostSession.self.name, true, hostProxy, hostClient, hostSession, await hostSync.acquire(DOC_PATH)));

        for (const { name, proxy } of guestProxies) {
            const client = await this.connect(proxy, `${this.label} ${name}`);
            let session = await client.joinSession(hostSession.invite!.code);
            if (this.traffic.dropChatText) {
                session = dropBroadcast(session, this.traffic.dropChatText);
                this.traffic.dropChatText = undefined;
            }
            await until(() => hostSession.getPeer(session.self.id) !== undefined, `the host sees ${name}`, 15_000);
            const editor = new EditorGuest({ logger: this.log });
            this.disposables.push(editor);
            editor.attach(session);
            const member = await this.member(session.self.name, false, proxy, client, session, await editor.acquire(DOC_PATH));
            const terminals = new TerminalGuest(session, { historyBytes: 4 * 1024 * 1024 });
            this.disposables.push(terminals);
            terminals.onDidShare(terminal => member.terminal ??= terminal);
            await terminals.start();
            await until(() => member.terminal?.state === 'live', `${name} sees the shared terminal`, 15_000);
            this.members.push(member);
        }
        await until(() => this.members.every(member => member.buffer.getValue() === 'seed\n'), 'everyone has the document', 15_000);
    }

    protected async connect(proxy: FailoverProxy, name: string): Promise<CollaborationClient> {
        return CollaborationClient.connect({
            serverUrl: proxy.url, name, logger: this.log.for(name), requestTimeout: 15_000, reconnectDelayMs: 200, reconnectDelayMaxMs: 1000
        });
    }

    protected async member(
        name: string, isHost: boolean, proxy: FailoverProxy, client: CollaborationClient, session: CollaborationSession, shared: SharedDocument
    ): Promise<Member> {
        const buffer = new StringTextBuffer('');
        this.disposables.push(new TextBinding(shared, buffer));
        const chat = new ChatChannel(session, { rateLimit: 1000, rateWindow: 10_000 });
        this.disposables.push(chat);
        const seen = new Map<string, number>();
        const show = (text: string) => seen.set(text, (seen.get(text) ?? 0) + 1);
        this.disposables.push(chat.onDidReceive(message => show(message.text)));
        if (!isHost) {
            await chat.start();
            chat.messages.forEach(message => show(message.text));
        }
        const member: Member = { name, isHost, proxy, client, session, buffer, chat, seen, dropped: [] };
        this.disposables.push(
            session.onClose(event => member.closed ??= { at: Date.now(), event }),
            session.onDidChangeConnection(state => state === 'reconnecting' && member.dropped.push(Date.now()))
        );
        return member;
    }

    /** Starts everyone typing and chatting, and the terminal printing. */
    start(): void {
        if (this.running) {
            return;
        }
        this.running = true;
        this.loops = this.members.map(member => this.typist(member));
        let line = this.terminalLines.length;
        this.terminalTimer = setInterval(() => {
            if (this.host.session.closed) {
                return;
            }
            const text = `[${this.label} ${String(line++).padStart(5, '0')}] compiled module ${Math.floor(this.random() * 1e6)}\r\n`;
            this.terminalLines.push({ line: text, at: Date.now() });
            this.terminalEmitted += text;
            this.source.print(text);
        }, this.traffic.terminalEveryMs);
    }

    /** Stops the traffic; resolves when every member stopped. */
    async stop(): Promise<void> {
        this.running = false;
        clearInterval(this.terminalTimer);
        this.terminalTimer = undefined;
        await Promise.all(this.loops);
        // Chat sends still on their way settle within the request timeout.
        await until(() => this.chats.every(chat => chat.status !== 'pending'), 'chat sends settled', 20_000).catch(() => undefined);
    }

    protected async typist(member: Member): Promise<void> {
        let sent = 0;
        let nextChat = Date.now() + this.random() * this.traffic.chatEveryMs;
        while (this.running && !member.session.closed) {
            this.edit(member);
            if (Date.now() >= nextChat) {
                nextChat = Date.now() + this.traffic.chatEveryMs * (0.5 + this.random());
                // Like a chat box that is disabled while offline: only sends while this member and the host are connected.
                if (member.session.connectionState === 'connected' && member.session.hostConnectionState === 'connected') {
                    this.say(member, `${member.name} says #${++sent}`);
                }
            }
            await sleep(this.traffic.editEveryMs * (0.5 + this.random()));
        }
    }

    protected edit(member: Member): void {
        const value = member.buffer.getValue();
        if (value.length > 40 && this.random() < 0.2) {
            const start = Math.floor(this.random() * (value.length - 2));
            value.substring(start, start + 2).split('').forEach(char => this.deleted.set(char, Date.now()));
            member.buffer.replace(start, 2, '');
        } else {
            const char = String.fromCharCode(this.nextChar++);
            this.inserted.set(char, Date.now());
            member.buffer.replace(Math.floor(this.random() * (value.length + 1)), 0, char);
        }
    }

    protected say(member: Member, text: string): void {
        const record: ChatRecord = { text, author: member.name, at: Date.now(), status: 'pending' };
        this.chats.push(record);
        member.chat.send(text).then(() => {
            record.status = 'acked';
            record.settledAt = Date.now();
        }, error => {
            record.status = 'refused';
            record.settledAt = Date.now();
            record.error = `${error?.code ?? ''} ${error?.message ?? error}`.trim();
        });
    }

    /** Everyone connected (own connection and the host's), nobody closed. */
    allConnected(): boolean {
        return this.members.every(member => !member.session.closed && member.session.connectionState === 'connected'
            && member.session.hostConnectionState === 'connected');
    }

    /** What everyone must have once caught up: the typed characters, the acknowledged chat messages, the terminal output, so far. */
    mark(): { chars: string[]; chats: string[]; terminalLength: number } {
        return {
            chars: [...this.inserted.keys()],
            chats: this.chats.filter(chat => chat.status === 'acked').map(chat => chat.text),
            terminalLength: this.terminalEmitted.length
        };
    }

    /** Whether every member has what `mark` recorded (characters deleted meanwhile excepted). */
    caughtUp(mark: { chars: string[]; chats: string[]; terminalLength: number }): boolean {
        return this.members.every(member => {
            const text = new Set(member.buffer.getValue());
            if (!mark.chars.every(char => text.has(char) || this.deleted.has(char))) {
                return false;
            }
            if (!mark.chats.every(chat => member.seen.has(chat))) {
                return false;
            }
            return member.isHost || (member.terminal !== undefined && member.terminal.text.length >= mark.terminalLength);
        });
    }

    /** Everyone has the same text, every acknowledged chat message, the same chat history and the whole terminal output. */
    converged(): boolean {
        const text = this.host.buffer.getValue();
        const chat = chatTexts(this.host).join('\n');
        const acked = this.chats.filter(record => record.status === 'acked');
        return this.members.every(member => member.buffer.getValue() === text && chatTexts(member).join('\n') === chat
            && acked.every(record => member.seen.has(record.text))
            && (member.isHost || member.terminal?.text === this.terminalEmitted));
    }

    /** What each member lacks of `mark` (for reports). */
    lacking(mark: { chars: string[]; chats: string[]; terminalLength: number }): string[] {
        return this.members.map(member => {
            const text = new Set(member.buffer.getValue());
            const chars = mark.chars.filter(char => !text.has(char) && !this.deleted.has(char)).length;
            const chats = mark.chats.filter(chat => !member.seen.has(chat));
            const terminal = member.isHost ? 0 : Math.max(0, mark.terminalLength - (member.terminal?.text.length ?? 0));
            return `${member.name} (${member.session.closed ? 'closed' : member.session.connectionState}, host ${member.session.hostConnectionState}`
                + `${member.terminal ? `, terminal ${member.terminal.state}` : ''}): lacks ${chars} characters, ${chats.length} chat messages`
                + `${chats.length ? ` (${chats.slice(0, 3).join(', ')}${chats.length > 3 ? ', ...' : ''})` : ''}, ${terminal} terminal characters`;
        });
    }

    dispose(): void {
        this.running = false;
        clearInterval(this.terminalTimer);
        this.disposables.splice(0).forEach(disposable => {
            try {
                disposable.dispose();
            } catch {
                // already gone
            }
        });
        this.members.forEach(member => member.client.dispose());
    }
}

export function chatTexts(member: Member): string[] {
    return member.chat.messages.map(message => message.text);
}

/** The session, except that the chat message `text` broadcast by the host is never delivered to this member (self-check). */
function dropBroadcast(session: CollaborationSession, text: string): CollaborationSession {
    const onBroadcast: CollaborationSession['onBroadcast'] = (definition, handler) => session.onBroadcast(definition, (params, sender) => {
        if (definition.method === ChatMessages.Posted.method && (params as { text?: string }).text === text) {
            return;
        }
        return handler(params, sender);
    });
    return new Proxy(session, {
        get(target, property) {
            if (property === 'onBroadcast') {
                return onBroadcast;
            }
            const value = Reflect.get(target, property, target);
            return typeof value === 'function' ? value.bind(target) : value;
        }
    });
}
