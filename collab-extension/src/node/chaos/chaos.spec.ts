/**
 * Chaos test with real processes: two collab-server instances (the real CLI) sharing one real redis-server, a host
 * and three guests (real protocol clients, each behind its own loopback TCP proxy that reaches instance A while it is
 * up and B otherwise; host and guest 1 prefer A, guests 2 and 3 prefer B) co-editing one document, chatting and
 * watching a shared terminal, while everyone keeps typing and chatting at a steady rate. Faults, in sequence:
 *   1. SIGKILL instance A (its clients reconnect to B through their proxies), restart it;
 *   2. kill -9 Redis and start it again from its append-only file (appendfsync always): the state survives;
 *   3. cut guest 2 off for 5 s;  4. cut guest 1 off for 60 s;
 *   then everything is compared: same text, every chat message exactly once, all terminal output, at every peer;
 *   5. kill -9 Redis and start it again empty on the same port: every session is gone from the store, so the servers
 *      must tell every member clearly (room:closed) within seconds; a new session on the same servers then works
 *      and loses nothing.
 * Every server answers /health at the end and none exited unless the test killed it. A table gives, per fault, the
 * recovery time (fault until every peer is 'connected' again, and until every peer has everything produced up to
 * then) and what was lost of what was produced during that fault (the goal, asserted: 0).
 *
 * Self-check (the test must be able to fail): COLLAB_CHAOS_SELF_CHECK=drop-chat makes one guest ignore one chat
 * message; the test must then fail with 1 chat message lost.
 */
import * as assert from 'assert';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ChaosSession, ClientLog, Member, until } from './chaos-peers';
import { FailoverProxy, freePort, health, ManagedProcess, sleep, startCollabServerProcess, startRedisProcess } from './process-control';

const TRAFFIC = { editEveryMs: 60, chatEveryMs: 1500, terminalEveryMs: 100 };
const SHORT_CUT_MS = 5_000;
const LONG_CUT_MS = 60_000;
/** How long peers may take to be connected again after a fault ends, and then to have caught up. */
const RECONNECT_BOUND_MS = 30_000;
const CATCH_UP_BOUND_MS = 30_000;
/** Redis restarted empty: members must be told their session ended within this. */
const TOLD_BOUND_MS = 15_000;

interface FaultRow {
    fault: string;
    start: number;
    /** Fault until every peer is connected again (ms), or undefined when it did not happen within the bound. */
    connectedMs?: number;
    /** Fault until every peer has everything produced up to then (ms). */
    caughtUpMs?: number;
    note?: string;
    lostChars: number;
    lostChats: number;
    duplicatedChats: number;
    lostTerminalLines: number;
    refusedChats: number;
}

interface Losses {
    /** Per phase index: counts. */
    chars: number[];
    chats: number[];
    duplicated: number[];
    terminal: number[];
    refused: number[];
    details: string[];
}

function phaseOf(rows: FaultRow[], at: number): number {
    let index = 0;
    rows.forEach((row, i) => { if (row.start <= at) { index = i; } });
    return index;
}

/** Counts, per phase, what some member does not have (or has twice). */
function countLosses(session: ChaosSession, rows: FaultRow[]): Losses {
    const zero = () => rows.map(() => 0);
    const losses: Losses = { chars: zero(), chats: zero(), duplicated: zero(), terminal: zero(), refused: zero(), details: [] };
    const texts = session.members.map(member => new Set(member.buffer.getValue()));
    for (const [char, at] of session.inserted) {
        if (session.deleted.has(char)) {
            continue;
        }
        const missing = session.members.filter((_, i) => !texts[i].has(char));
        if (missing.length) {
            losses.chars[phaseOf(rows, at)]++;
            if (losses.details.length < 20) {
                losses.details.push(`character U+${char.charCodeAt(0).toString(16)} typed at +${at - rows[0].start} ms missing at ${missing.map(m => m.name).join(', ')}`);
            }
        }
    }
    // A deletion that did not reach everyone is a lost edit too.
    for (const [char, at] of session.deleted) {
        const still = session.members.filter((_, i) => texts[i].has(char));
        if (still.length) {
            losses.chars[phaseOf(rows, at)]++;
            if (losses.details.length < 25) {
                losses.details.push(`character U+${char.charCodeAt(0).toString(16)} deleted at +${at - rows[0].start} ms still present at ${still.map(m => m.name).join(', ')}`);
            }
        }
    }
    const strange = session.members.map(member => [...member.buffer.getValue()].filter(char => !session.inserted.has(char)).length);
    strange.forEach((count, i) => count && losses.details.push(`${session.members[i].name} has ${count} characters nobody typed`));
    const counts = session.members.map(member => member.seen);
    for (const chat of session.chats) {
        // A refused message belongs to the fault that refused it (it may have been sent just before).
        const phase = phaseOf(rows, chat.status === 'refused' ? chat.settledAt ?? chat.at : chat.at);
        const present = counts.map(count => count.get(chat.text) ?? 0);
        if (chat.status === 'refused') {
            losses.refused[phase]++;
            // The sender was told; but then nobody may have it, or everyone once (a user would send it again).
            if (!(present.every(n => n === 0) || present.every(n => n === 1))) {
                losses.chats[phase]++;
                losses.details.push(`refused chat '${chat.text}' (${chat.error}) is present ${present.join('/')} times at ${session.members.map(m => m.name).join('/')}`);
            }
            continue;
        }
        if (present.some(n => n === 0)) {
            losses.chats[phase]++;
            losses.details.push(`chat '${chat.text}' (${chat.status}, sent at +${chat.at - rows[0].start} ms) missing at ${session.members.filter((_, i) => present[i] === 0).map(m => m.name).join(', ')}`);
        }
        if (present.some(n => n > 1)) {
            losses.duplicated[phase]++;
            losses.details.push(`chat '${chat.text}' present ${present.join('/')} times`);
        }
    }
    for (const guest of session.guests) {
        const text = guest.terminal?.text ?? '';
        let from = 0;
        for (const { line, at } of session.terminalLines) {
            const found = text.indexOf(line, from);
            if (found < 0 || text.indexOf(line, found + line.length) >= 0) {
                losses.terminal[phaseOf(rows, at)]++;
                if (losses.details.length < 40) {
                    losses.details.push(`terminal line ${JSON.stringify(line.slice(0, 24))} ${found < 0 ? 'missing (or out of order)' : 'twice'} at ${guest.name}`);
                }
            } else {
                from = found + line.length;
            }
        }
    }
    return losses;
}

function seconds(ms: number | undefined): string {
    return ms === undefined ? 'NOT' : `${(ms / 1000).toFixed(2)} s`;
}

function table(rows: FaultRow[]): string {
    const header = ['fault', 'all connected', 'all caught up', 'chars lost', 'chat lost', 'chat dup', 'terminal lines lost', 'chat refused (sender told)', 'note'];
    const lines = rows.map(row => [row.fault, seconds(row.connectedMs), seconds(row.caughtUpMs), row.lostChars, row.lostChats, row.duplicatedChats,
        row.lostTerminalLines, row.refusedChats, row.note ?? ''].map(String));
    const widths = header.map((title, i) => Math.max(title.length, ...lines.map(line => line[i].length)));
    const format = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i])).join(' | ')} |`;
    return [format(header), `|${widths.map(w => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(format)].join('\n');
}

describe('chaos: server crash, Redis restarts and network cuts lose nothing (real processes)', function () {
    this.timeout(300_000);
    const secret = crypto.randomBytes(32).toString('base64url');
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'collab-chaos-'));
    const redisDir = path.join(work, 'redis');
    const configFile = path.join(work, 'config.json');
    const processes: ManagedProcess[] = [];
    const proxies: FailoverProxy[] = [];
    const sessions: ChaosSession[] = [];
    const log = new ClientLog();
    let redis: ManagedProcess | undefined;
    let serverA: ManagedProcess | undefined;
    let redisPort = 0;
    let portA = 0;
    let portB = 0;

    async function startServer(name: 'A' | 'B'): Promise<ManagedProcess> {
        const server = await startCollabServerProcess({
            name: `collab-server ${name}`, port: name === 'A' ? portA : portB, redisUrl: `redis://127.0.0.1:${redisPort}`, configFile, secret
        });
        processes.push(server);
        return server;
    }

    async function startRedis(persist: boolean): Promise<ManagedProcess> {
        const started = await startRedisProcess({ port: redisPort, persistDir: persist ? redisDir : undefined });
        processes.push(started);
        return started;
    }

    const consoleWarn = console.warn;

    before(async () => {
        // The features report failed broadcasts on the console (with stacks): keep them in the clients' log instead.
        console.warn = (...args: unknown[]) => log.warn('[console]', ...args);
        fs.mkdirSync(redisDir);
        fs.writeFileSync(configFile, JSON.stringify({
            logLevel: 'info',
            // All clients are on 127.0.0.1: lift the per-address limits (not the per-socket ones).
            loginRateLimit: { max: 10_000, windowMs: 60_000 },
            joinRateLimit: { max: 10_000, windowMs: 60_000 },
            maxConnectionsPerAddress: 1000,
            storeCheckIntervalMs: 1000
        }));
        [redisPort, portA, portB] = [await freePort(), await freePort(), await freePort()];
        redis = await startRedis(true);
        serverA = await startServer('A');
        await startServer('B');
        for (const [name, prefer] of [['host', 'A'], ['guest 1', 'A'], ['guest 2', 'B'], ['guest 3', 'B']] as const) {
            const proxy = new FailoverProxy(name, () => prefer === 'A' ? [portA, portB] : [portB, portA]);
            await proxy.listen();
            proxies.push(proxy);
        }
    });

    after(async () => {
        console.warn = consoleWarn;
        sessions.forEach(session => session.dispose());
        await Promise.all(proxies.map(proxy => proxy.close().catch(() => undefined)));
        // Every process this test started, by PID, also when it failed.
        await Promise.all(processes.map(child => child.stop().catch(() => undefined)));
        fs.rmSync(work, { recursive: true, force: true });
    });

    function printLogs(): void {
        for (const child of processes) {
            // Warnings and errors, and what the servers say about resuming and replaying (without repeated Redis client errors).
            const lines = child.output.filter(line => (!/"level":(10|20|30)\b/.test(line) || /resum|replay|detach|grace|left|closed/i.test(line))
                && !/ClientOfflineError|SocketClosedUnexpectedly|publishing to the other instances failed/.test(line));
            if (lines.length) {
                console.log(`      --- ${child.name} (pid ${child.pid}, ${child.exit ? `exited ${child.exit.code ?? child.exit.signal}${child.exit.expected ? ', killed by the test' : ''}` : 'running'}): last ${Math.min(40, lines.length)} of ${lines.length} lines`);
                lines.slice(-40).forEach(line => console.log(`      ${line.replace(/"stack":"[^"]*",?/g, '').slice(0, 350)}`));
            }
        }
        if (log.records.length) {
            const lines = log.records.filter(line => !/chat broadcast failed|terminal broadcast failed/.test(line));
            console.log(`      --- clients: last ${Math.min(60, lines.length)} of ${lines.length} log lines`);
            lines.slice(-60).forEach(line => console.log(`      ${line.slice(0, 300)}`));
        }
    }

    /**
     * Waits until every peer is connected (after the fault's members went 'reconnecting', when they do), then until
     * everyone has what was produced up to that moment; fills the row's times. Never throws (the final checks do).
     */
    async function recover(session: ChaosSession, row: FaultRow, affected: Member[], boundMs = RECONNECT_BOUND_MS): Promise<void> {
        try {
            // The fault must have been noticed first (a dropped connection is seen within a moment).
            await until(() => affected.every(member => member.dropped.some(at => at >= row.start) || member.session.closed),
                `${affected.map(member => member.name).join(' and ')} saw the connection drop after '${row.fault}'`, 10_000);
            await until(() => session.allConnected(), `every peer is connected after '${row.fault}'`, boundMs);
            row.connectedMs = Date.now() - row.start;
            const mark = session.mark();
            try {
                await until(() => session.caughtUp(mark), `every peer caught up after '${row.fault}'`, CATCH_UP_BOUND_MS);
            } catch (error) {
                console.log(`      ${row.fault}: not caught up within ${CATCH_UP_BOUND_MS} ms of being connected:\n        ${session.lacking(mark).join('\n        ')}`);
                throw error;
            }
            row.caughtUpMs = Date.now() - row.start;
        } catch (error) {
            row.note = (error as Error).message;
            const states = session.members.map(m => `${m.name}: ${m.session.closed ? `closed (${m.closed?.event.reason})` : m.session.connectionState}/host ${m.session.hostConnectionState}`);
            console.log(`      ${row.fault}: ${row.note}\n        ${states.join('\n        ')}`);
        }
    }

    function newRow(fault: string): FaultRow {
        return { fault, start: Date.now(), lostChars: 0, lostChats: 0, duplicatedChats: 0, lostTerminalLines: 0, refusedChats: 0 };
    }

    function fillLosses(session: ChaosSession, rows: FaultRow[]): Losses {
        const losses = countLosses(session, rows);
        rows.forEach((row, i) => {
            row.lostChars = losses.chars[i];
            row.lostChats = losses.chats[i];
            row.duplicatedChats = losses.duplicated[i];
            row.lostTerminalLines = losses.terminal[i];
            row.refusedChats = losses.refused[i];
        });
        return losses;
    }

    it('a host and three guests on two instances keep everything through crashes, Redis restarts and cuts', async () => {
        const started = Date.now();
        const selfCheck = process.env.COLLAB_CHAOS_SELF_CHECK === 'drop-chat';
        const [hostProxy, guest1, guest2, guest3] = proxies;
        const first = new ChaosSession('S1', log, Number(process.env.COLLAB_FUZZ_SEED) || (Date.now() % 2147483647), {
            ...TRAFFIC, dropChatText: selfCheck ? 'S1 Host says #3' : undefined
        });
        sessions.push(first);
        await first.open(hostProxy, [{ name: 'Guest 1', proxy: guest1 }, { name: 'Guest 2', proxy: guest2 }, { name: 'Guest 3', proxy: guest3 }]);
        assert.deepStrictEqual(proxies.map(proxy => proxy.routed[0]), [portA, portA, portB, portB], 'host and guest 1 on A, guests 2 and 3 on B');

        const rows: FaultRow[] = [newRow('steady typing (no fault)')];
        rows[0].connectedMs = 0;
        rows[0].caughtUpMs = 0;
        first.start();
        await sleep(3000);

        // 1. SIGKILL instance A; its clients reconnect to B through their proxies; A is started again 3 s later.
        let row = newRow('SIGKILL instance A, restart it after 3 s');
        rows.push(row);
        await serverA!.kill9();
        const restartA = sleep(3000).then(async () => serverA = await startServer('A'));
        await recover(first, row, [first.members[0], first.members[1]]);
        await restartA;
        assert.ok(first.host.dropped.length >= 1 && first.members[1].dropped.length >= 1, 'the clients of A saw their connection drop');
        await sleep(3000);

        // 2. kill -9 Redis, 2 s outage, start it again on the same port from its append-only file.
        row = newRow('kill -9 Redis, 2 s down, restart (AOF)');
        rows.push(row);
        await redis!.kill9();
        await sleep(2000);
        redis = await startRedis(true);
        await recover(first, row, []);
        await sleep(3000);

        // 3. Guest 2 (on B) cut off for 5 s.
        row = newRow('guest 2 cut off for 5 s');
        rows.push(row);
        guest2.cutFor(SHORT_CUT_MS);
        await sleep(SHORT_CUT_MS);
        await recover(first, row, [first.members[2]]);
        await sleep(3000);

        // 4. Guest 1 cut off for 60 s.
        row = newRow('guest 1 cut off for 60 s');
        rows.push(row);
        guest1.cutFor(LONG_CUT_MS);
        await sleep(LONG_CUT_MS);
        await recover(first, row, [first.members[1]]);
        await sleep(2000);

        // Everyone stops; then the same text, every chat message once, all terminal output, at every peer.
        await first.stop();
        const finalMark = first.mark();
        const convergence = await until(() => first.converged(), 'every peer has the same text, chat and terminal output', 30_000)
            .then(() => undefined, (error: Error) => `${error.message}:\n        ${first.lacking(finalMark).join('\n        ')}`);
        const losses = fillLosses(first, rows);

        // 5. kill -9 Redis and start it empty: the session is gone from the store; its members must be told clearly.
        first.start();
        await sleep(1500);
        const emptied = newRow('kill -9 Redis, restart EMPTY: S1 ends');
        await redis!.kill9();
        await sleep(1000);
        redis = await startRedis(false);
        const told = await until(() => first.members.every(member => member.closed !== undefined), 'every member of S1 is told the session ended', TOLD_BOUND_MS)
            .then(() => undefined, (error: Error) => error.message);
        const closeTimes = first.members.map(member => member.closed ? `${member.name}: ${member.closed.event.reason} after ${seconds(member.closed.at - emptied.start)} ('${member.closed.event.message}')` : `${member.name}: NOT told`);
        emptied.connectedMs = told ? undefined : Math.max(...first.members.map(member => member.closed!.at)) - emptied.start;
        emptied.note = told ?? 'told (room:closed) within ' + seconds(emptied.connectedMs);
        await first.stop();
        first.dispose();

        // A new session on the same servers and proxies works and loses nothing.
        const second = new ChaosSession('S2', log, 7, TRAFFIC);
        sessions.push(second);
        const secondRows: FaultRow[] = [newRow('new session S2 after the empty Redis')];
        let secondError: string | undefined;
        try {
            await second.open(hostProxy, [{ name: 'Guest 1', proxy: guest1 }, { name: 'Guest 2', proxy: guest2 }, { name: 'Guest 3', proxy: guest3 }]);
            secondRows[0].connectedMs = Date.now() - emptied.start;
            second.start();
            await sleep(5000);
            await second.stop();
            await until(() => second.converged(), 'every peer of S2 has the same text, chat and terminal output', 30_000);
            secondRows[0].caughtUpMs = Date.now() - emptied.start;
        } catch (error) {
            secondError = (error as Error).message;
            secondRows[0].note = secondError;
        }
        const secondLosses = fillLosses(second, secondRows);

        // Servers: none exited unless killed by the test; both answer /health.
        const crashed = processes.filter(child => child.exit && !child.exit.expected);
        const healthA = await health(portA);
        const healthB = await health(portB);

        const allRows = [...rows, emptied, ...secondRows];
        console.log(`\n      Chaos results (${((Date.now() - started) / 1000).toFixed(1)} s; traffic per peer: an edit every ~${TRAFFIC.editEveryMs} ms, a chat message every ~${TRAFFIC.chatEveryMs} ms; terminal line every ${TRAFFIC.terminalEveryMs} ms):`);
        console.log(table(allRows).split('\n').map(line => `      ${line}`).join('\n'));
        console.log(`      S1: ${first.inserted.size} characters typed, ${first.chats.length} chat messages, ${first.terminalLines.length} terminal lines; final text ${first.host.buffer.getValue().length} characters; ${convergence ?? 'converged'}`);
        console.log(`      S2: ${second.inserted.size} characters typed, ${second.chats.length} chat messages, ${second.terminalLines.length} terminal lines; ${secondError ?? 'converged'}`);
        console.log(`      Redis restarted empty: ${closeTimes.join('; ')}`);
        console.log(`      /health: A ${healthA}, B ${healthB}; processes: ${processes.map(child => `${child.name} pid ${child.pid} ${child.exit ? `exit ${child.exit.code ?? child.exit.signal}${child.exit.expected ? ' (killed by test)' : ' (UNEXPECTED)'}` : 'running'}`).join(', ')}`);
        const details = [...losses.details, ...secondLosses.details];
        if (losses.details.length) {
            console.log(`      What went wrong in S1:\n        ${losses.details.slice(0, 30).join('\n        ')}`);
        }
        if (secondLosses.details.length) {
            console.log(`      What went wrong in S2:\n        ${secondLosses.details.slice(0, 20).join('\n        ')}`);
        }
        const unrecovered = allRows.filter(r => r.connectedMs === undefined || (r !== emptied && r.caughtUpMs === undefined));
        const total = (pick: (row: FaultRow) => number) => allRows.reduce((sum, r) => sum + pick(r), 0);
        if (details.length || unrecovered.length || convergence || told || secondError || crashed.length) {
            printLogs();
        }

        assert.deepStrictEqual(crashed.map(child => `${child.name}: ${child.exit?.code ?? child.exit?.signal}`), [], 'no server process exited unexpectedly');
        assert.strictEqual(healthA, 200, 'instance A answers /health');
        assert.strictEqual(healthB, 200, 'instance B answers /health');
        assert.strictEqual(total(r => r.lostChars), 0, 'characters lost');
        assert.strictEqual(total(r => r.lostChats), 0, 'chat messages lost');
        assert.strictEqual(total(r => r.duplicatedChats), 0, 'chat messages duplicated');
        assert.strictEqual(total(r => r.lostTerminalLines), 0, 'terminal lines lost');
        assert.strictEqual(convergence, undefined, 'S1 converged');
        assert.strictEqual(told, undefined, 'S1 members told their session ended when Redis came back empty');
        assert.ok(first.members.every(member => member.closed && member.closed.event.message.length > 0), 'with a message');
        assert.strictEqual(secondError, undefined, 'a new session works after the empty Redis');
        assert.deepStrictEqual(unrecovered.map(r => `${r.fault}: ${r.note}`), [], 'every fault recovered within its bounds');
        assert.ok(first.inserted.size > 1000 && first.chats.length > 100 && first.terminalLines.length > 500,
            `enough traffic (${first.inserted.size} characters, ${first.chats.length} chat messages, ${first.terminalLines.length} lines)`);
    });
});

