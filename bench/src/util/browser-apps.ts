/**
 * Two Theia browser apps (host and guest) in headless Chromium, driven through the e2e harness, with
 * in-page instrumentation: wall-clock marks (performance.timeOrigin + now) taken inside the pages, so
 * that machine time can be told apart from the time a person takes to click or type.
 */
import type { Browser, Page } from 'playwright-core';
import {
    launchBrowser, startTheiaBackend, TheiaBackend, TheiaWindow, waitFor
} from '../../../e2e/lib/harness';
import { RunningServer, startCollabServer } from './servers';

export { TheiaWindow, waitFor };

export interface Apps {
    server: RunningServer;
    hostBackend: TheiaBackend;
    guestBackend: TheiaBackend;
    browser: Browser;
    host: TheiaWindow;
    guest: TheiaWindow;
    close(): Promise<void>;
}

export async function startApps(name: string, hostFiles: Record<string, string>, guestFiles: Record<string, string> = { 'guest-only.txt': 'mine\n' }): Promise<Apps> {
    const closers: (() => Promise<void>)[] = [];
    const close = async () => {
        for (const closer of closers.reverse()) {
            await closer().catch(() => undefined);
        }
    };
    try {
        const server = await startCollabServer({ config: { allowedOrigins: ['*'] } });
        closers.push(() => server.stop());
        const [hostBackend, guestBackend] = await Promise.all([
            startTheiaBackend({ name: `${name}-host`, serverUrl: server.url, files: hostFiles, startTimeoutMs: 120_000 }),
            startTheiaBackend({ name: `${name}-guest`, serverUrl: server.url, files: guestFiles, startTimeoutMs: 120_000 })
        ]);
        closers.push(() => hostBackend.stop(), () => guestBackend.stop());
        const browser = await launchBrowser();
        closers.push(() => browser.close());
        const host = await TheiaWindow.open(browser, hostBackend, 'host');
        closers.push(() => host.close());
        const guest = await TheiaWindow.open(browser, guestBackend, 'guest');
        closers.push(() => guest.close());
        await instrument(host.page);
        await instrument(guest.page);
        return { server, hostBackend, guestBackend, browser, host, guest, close };
    } catch (error) {
        await close();
        throw error;
    }
}

/** Installs `window.__bench`: marks, one-shot input marks and one-shot DOM condition marks. */
export async function instrument(page: Page): Promise<void> {
    await page.evaluate(() => {
        const w = window as unknown as { __bench?: unknown };
        if (w.__bench) {
            return;
        }
        const wall = () => performance.timeOrigin + performance.now();
        const marks: Record<string, number> = {};
        const bench = {
            marks,
            wall,
            /** The next event of this type (capture phase, anywhere) is marked as `name`. */
            armInput(name: string, type: string) {
                delete marks[name];
                const listener = () => {
                    marks[name] = wall();
                    document.removeEventListener(type, listener, true);
                };
                document.addEventListener(type, listener, true);
            },
            /** Marks `name` when `condition` (source of a function body returning boolean) first holds after a DOM change. */
            armCondition(name: string, condition: string) {
                delete marks[name];
                const test = new Function(condition) as () => boolean;
                if (test()) {
                    marks[name] = wall();
                    return;
                }
                const observer = new MutationObserver(() => {
                    if (test()) {
                        marks[name] = wall();
                        observer.disconnect();
                    }
                });
                observer.observe(document.body, { childList: true, subtree: true, characterData: true, attributes: true });
            }
        };
        w.__bench = bench;
        // Frames to and from the coordination server (sockets not to the page's own backend), marked before
        // socket.io sees them. engine.io keeps the WebSocket class it found at load and sets `onmessage`.
        const sends: number[] = [];
        const received: number[] = [];
        Object.assign(bench, { sends, received });
        const proto = WebSocket.prototype;
        const remote = (socket: WebSocket) => !socket.url.includes(location.host);
        const send = proto.send;
        proto.send = function (this: WebSocket, data: string | ArrayBufferLike | Blob | ArrayBufferView) {
            if (remote(this)) {
                sends.push(wall());
            }
            return send.call(this, data);
        };
        const onmessage = Object.getOwnPropertyDescriptor(proto, 'onmessage')!;
        Object.defineProperty(proto, 'onmessage', {
            ...onmessage,
            set(this: WebSocket, handler: ((event: MessageEvent) => unknown) | null) {
                const marked = handler && remote(this)
                    ? function (this: WebSocket, event: MessageEvent) { received.push(wall()); return handler.call(this, event); }
                    : handler;
                onmessage.set!.call(this, marked);
            }
        });
    });
}

export function armInput(page: Page, name: string, type = 'mousedown'): Promise<void> {
    return page.evaluate(([n, t]) => (window as any).__bench.armInput(n, t), [name, type]);
}

export function armCondition(page: Page, name: string, condition: string): Promise<void> {
    return page.evaluate(([n, c]) => (window as any).__bench.armCondition(n, c), [name, condition]);
}

export async function mark(page: Page, name: string, timeoutMs = 60_000): Promise<number> {
    return waitFor(() => page.evaluate(n => (window as any).__bench.marks[n] as number | undefined, name), timeoutMs, `mark '${name}'`, 20);
}

export const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Shows the Explorer (it may be open already: View > Explorer toggles it, so look before and after). */
export async function openExplorer(window: TheiaWindow): Promise<void> {
    const files = window.page.locator('#files');
    for (let attempt = 0; attempt < 5; attempt++) {
        if (await files.isVisible().catch(() => false)) {
            return;
        }
        await window.runMenu('View', 'Explorer').catch(() => undefined);
        await files.waitFor({ state: 'visible', timeout: 5000 }).catch(() => undefined);
    }
    await files.waitFor({ state: 'visible', timeout: 10_000 });
}

export async function navigatorNames(window: TheiaWindow): Promise<string[]> {
    return (await window.page.locator('#files .theia-TreeNodeSegmentGrow').allTextContents()).map(text => text.trim());
}

export function navigatorNode(window: TheiaWindow, name: string) {
    return window.page.locator('#files .theia-TreeNodeSegmentGrow').filter({ hasText: new RegExp(`^${escapeRegExp(name)}$`) });
}

export interface JoinMarks {
    /** Start Session clicked -> invite shown (without the name dialog, if it was asked). */
    startMs: number;
    /** Join clicked (guest) -> join request shown (host). */
    requestMs: number;
    /** Allow clicked (host) -> the host's files shown in the guest's navigator. */
    admitMs: number;
    /** Sum: machine time of the whole flow. */
    totalMs: number;
    /** Allow clicked -> guest's status bar says 2 participants. */
    admitToStatusMs: number;
    nameDialog: boolean;
}

/** Both explorers must be open. Measures machine time of the join flow; `expectFile` is a host top-level name. */
export async function startSessionAndJoin(apps: Apps, expectFile: string, guestName = 'Bob'): Promise<JoinMarks> {
    const { host, guest } = apps;
    // Start Session: from the click on the menu item to the invite dialog (a name dialog in between is human time).
    await host.page.locator('#theia\\:menubar .lm-MenuBar-item').filter({ hasText: /^\s*Collaborate\s*$/ }).click();
    const menu = host.page.locator('.lm-Menu').last();
    const item = menu.locator('.lm-Menu-item').filter({ has: host.page.locator('.lm-Menu-itemLabel', { hasText: /^\s*Start Session\s*$/ }) });
    await item.waitFor({ state: 'visible' });
    await armInput(host.page, 'start');
    await armCondition(host.page, 'invite', `const input = document.querySelector('.dialogOverlay.collaboration-invite-dialog input.collaboration-invite-code'); return !!input && !!input.value;`);
    await armCondition(host.page, 'nameDialog', `return !!document.querySelector('.dialogOverlay.collaboration-name-dialog input.collaboration-name-input');`);
    await item.click();
    let startMs: number;
    const first = await waitFor(async () => {
        const marks = await host.page.evaluate(() => (window as any).__bench.marks as Record<string, number>);
        return marks.invite !== undefined ? 'invite' : marks.nameDialog !== undefined ? 'name' : undefined;
    }, 60_000, 'the invite or the name dialog', 20);
    let nameDialog = false;
    if (first === 'name') {
        nameDialog = true;
        const nameShown = await mark(host.page, 'nameDialog');
        const clicked = await mark(host.page, 'start');
        const dialog = host.dialog('collaboration-name-dialog');
        await dialog.locator('input.collaboration-name-input').fill('Alice');
        await armInput(host.page, 'nameOk');
        await dialog.locator('button.main').click();
        const invite = await mark(host.page, 'invite');
        startMs = (nameShown - clicked) + (invite - await mark(host.page, 'nameOk'));
    } else {
        startMs = await mark(host.page, 'invite') - await mark(host.page, 'start');
    }
    const inviteDialog = host.dialog('collaboration-invite-dialog');
    const inviteCode = await inviteDialog.locator('input.collaboration-invite-code').inputValue();
    await inviteDialog.locator('button.main').click();
    await inviteDialog.waitFor({ state: 'detached' });

    // Join: from the guest's click on Join to the host's join request dialog.
    await guest.runMenu('Collaborate', 'Join Session...');
    const joinDialog = guest.dialog('collaboration-join-dialog');
    await joinDialog.waitFor({ state: 'visible' });
    await joinDialog.locator('input.collaboration-join-invite').fill(inviteCode);
    await joinDialog.locator('input.collaboration-join-name').fill(guestName);
    await armInput(guest.page, 'join');
    await armCondition(host.page, 'request', `return !!document.querySelector('.dialogOverlay.collaboration-join-request-dialog button.collaboration-allow-readwrite');`);
    await joinDialog.locator('button.main').click();
    const requestMs = await mark(host.page, 'request') - await mark(guest.page, 'join');

    // Admit: from the host's click on Allow to the host's files in the guest's navigator.
    const request = host.dialog('collaboration-join-request-dialog');
    await armInput(host.page, 'allow');
    const fileRegex = `^${escapeRegExp(expectFile)}$`;
    await armCondition(guest.page, 'tree', `return [...document.querySelectorAll('#files .theia-TreeNodeSegmentGrow')].some(node => new RegExp(${JSON.stringify(fileRegex)}).test(node.textContent.trim()));`);
    await armCondition(guest.page, 'status', `const item = document.querySelector('#theia-statusBar .collaboration-status'); return !!item && /2 participants/.test(item.textContent);`);
    await request.locator('button.collaboration-allow-readwrite').click();
    const allow = await mark(host.page, 'allow');
    const admitMs = await mark(guest.page, 'tree') - allow;
    const admitToStatusMs = await mark(guest.page, 'status') - allow;
    await request.waitFor({ state: 'detached' });
    return { startMs, requestMs, admitMs, totalMs: startMs + requestMs + admitMs, admitToStatusMs, nameDialog };
}

export async function leaveAndEnd(apps: Apps): Promise<void> {
    const { host, guest } = apps;
    await guest.runMenu('Collaborate', 'Leave Session');
    await guest.waitForStatusBarText('collaboration-status', /Collaborate$/);
    await host.runMenu('Collaborate', 'End Session');
    await host.waitForStatusBarText('collaboration-status', /Collaborate$/);
    await waitFor(async () => (await navigatorNames(guest)).includes('guest-only.txt'), 30_000, 'the guest\'s own workspace to return');
}
