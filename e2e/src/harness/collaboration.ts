import * as assert from 'assert';
import { Locator } from 'playwright-core';
import { TheiaWindow } from './browser';
import { waitFor } from './wait';

export type GuestPermission = 'readwrite' | 'readonly';

/** The host starts a session from the Collaborate menu, gives its name when asked, and closes the invite; returns the invite code. */
export async function startSession(host: TheiaWindow, name = 'Alice'): Promise<string> {
    await host.runMenu('Collaborate', 'Start Session');
    const nameDialog = host.dialog('collaboration-name-dialog');
    await nameDialog.waitFor({ state: 'visible' });
    await nameDialog.locator('input.collaboration-name-input').fill(name);
    await nameDialog.locator('button.main').click();
    const inviteDialog = host.dialog('collaboration-invite-dialog');
    await inviteDialog.waitFor({ state: 'visible', timeout: 30_000 });
    const inviteCode = await inviteDialog.locator('input.collaboration-invite-code').inputValue();
    await inviteDialog.locator('button.main').click();
    await inviteDialog.waitFor({ state: 'detached' });
    return inviteCode;
}

/** The guest asks to join with `inviteCode` as `name`; the host admits it with `permission`. */
export async function joinSession(host: TheiaWindow, guest: TheiaWindow, inviteCode: string,
    { name = 'Bob', permission = 'readwrite' }: { name?: string; permission?: GuestPermission } = {}): Promise<void> {
    await guest.runMenu('Collaborate', 'Join Session...');
    const joinDialog = guest.dialog('collaboration-join-dialog');
    await joinDialog.waitFor({ state: 'visible' });
    await joinDialog.locator('input.collaboration-join-invite').fill(inviteCode);
    await joinDialog.locator('input.collaboration-join-name').fill(name);
    await joinDialog.locator('button.main').click();
    const request = host.dialog('collaboration-join-request-dialog');
    await request.waitFor({ state: 'visible', timeout: 30_000 });
    assert.strictEqual((await request.locator('.collaboration-join-request-name').textContent())?.trim(), name);
    await request.locator(`button.collaboration-allow-${permission}`).click();
    await request.waitFor({ state: 'detached' });
    await guest.waitForStatusBarText('collaboration-status', /Collaborating · \d+ participants$/);
}

/** Alice starts a session in `host`, Bob joins it from `guest` with `permission`; returns the invite code. */
export async function startCollaboration(host: TheiaWindow, guest: TheiaWindow,
    { permission = 'readwrite' }: { permission?: GuestPermission } = {}): Promise<string> {
    const inviteCode = await startSession(host, 'Alice');
    await joinSession(host, guest, inviteCode, { name: 'Bob', permission });
    await guest.waitForStatusBarText('collaboration-status', /Collaborating · 2 participants$/);
    return inviteCode;
}

/** A guest leaves (`Leave Session`) or the host ends (`End Session`) and its status bar is idle again. */
export async function leaveSession(window: TheiaWindow, item: 'Leave Session' | 'End Session' = 'Leave Session'): Promise<void> {
    await window.runMenu('Collaborate', item);
    await window.waitForStatusBarText('collaboration-status', /Collaborate$/);
}

export function endSession(host: TheiaWindow): Promise<void> {
    return leaveSession(host, 'End Session');
}

/** Opens the Explorer view, unless it shows already (the menu item toggles it). */
export async function showExplorer(window: TheiaWindow): Promise<void> {
    if (await window.page.locator('#files').isVisible()) {
        return;
    }
    await window.runMenu('View', 'Explorer');
    await window.page.locator('#files').waitFor({ state: 'visible' });
}

/** The names the navigator shows. */
export async function navigatorNames(window: TheiaWindow): Promise<string[]> {
    return (await window.page.locator('#files .theia-TreeNodeSegmentGrow').allTextContents()).map(text => text.trim());
}

/**
 * Both show the Explorer, the guest its own workspace (`guestEntry` in it); Alice starts a session in `host`,
 * Bob joins it from `guest` with `permission`, and the guest's navigator shows the host's `hostEntries`
 * instead of its own files. Returns the names the guest's navigator shows then.
 */
export async function startSharedWorkspace(host: TheiaWindow, guest: TheiaWindow, { permission = 'readwrite', guestEntry, hostEntries }: {
    permission?: GuestPermission; guestEntry: string; hostEntries: string[];
}): Promise<string[]> {
    for (const window of [host, guest]) {
        await showExplorer(window);
    }
    await waitFor(async () => (await navigatorNames(guest)).includes(guestEntry), 30_000, 'the guest\'s own workspace');
    await startCollaboration(host, guest, { permission });
    const names = await waitFor(async () => {
        const shown = await navigatorNames(guest);
        return hostEntries.every(name => shown.includes(name)) ? shown : undefined;
    }, 30_000, 'the host\'s files in the guest\'s navigator');
    assert.ok(!names.includes(guestEntry), `the guest's own files are replaced: ${names}`);
    return names;
}

function escapeRegExp(text: string): string {
    return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The Participants view (its tab is added to the left side bar when the session starts). */
export async function showParticipants(window: TheiaWindow): Promise<void> {
    const view = window.page.locator('.collab-participants');
    if (!await view.isVisible()) {
        const tab = window.page.locator('#theia-left-content-panel .lm-TabBar-tab').filter({ has: window.page.locator('.codicon-organization') });
        await tab.first().click();
    }
    await view.waitFor({ state: 'visible', timeout: 15_000 });
}

/** Opens, from the Participants view, the file `participant` is in, once that is `name`; waits for its editor tab. */
export async function openParticipantFile(window: TheiaWindow, participant: string, name: string): Promise<void> {
    await showParticipants(window);
    const entry = window.page.locator(`.collab-participant[data-peer-name="${participant}"]`);
    await waitFor(async () => (await entry.innerText()).includes(name), 20_000, `${window.name}: ${participant}'s current file ${name} in the participants view`);
    await entry.locator('.collab-participant-file').click();
    await waitFor(async () => await currentEditorTab(window) === name, 20_000, `${window.name}: ${name} in the editor`);
}

/** The navigator node named exactly `name`. */
export function navigatorNode(window: TheiaWindow, name: string): Locator {
    return window.page.locator('#files .theia-TreeNodeSegmentGrow').filter({ hasText: new RegExp(`^${escapeRegExp(name)}$`) });
}

/** The Monaco editor of the visible editor tab. */
export function activeEditor(window: TheiaWindow): Locator {
    return window.page.locator('#theia-main-content-panel .theia-editor:not(.lm-mod-hidden) .monaco-editor').first();
}

/** The text of the (small) file shown in `editor`: Monaco's line nodes in the order of their `top`, spaces as spaces. */
export async function editorText(window: TheiaWindow, editor = activeEditor(window)): Promise<string> {
    return (await editor.locator('.view-lines').evaluate(container => [...container.querySelectorAll<HTMLElement>(':scope > .view-line')]
        .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top))
        .map(line => line.innerText)
        .join('\n'))).replace(/\u00a0/g, ' ');
}

/** The label of the current editor tab. */
export async function currentEditorTab(window: TheiaWindow): Promise<string> {
    return (await window.page.locator('#theia-main-content-panel .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel').first().innerText()).trim();
}

/**
 * Opens `<folder>/<name>` from the navigator (showing the Explorer and expanding `folder` if needed) and waits
 * for its editor tab to be the current one.
 */
export async function openFile(window: TheiaWindow, name: string, folder = 'src'): Promise<void> {
    await showExplorer(window);
    const node = navigatorNode(window, name);
    if (!await node.isVisible()) {
        await navigatorNode(window, folder).waitFor({ state: 'visible', timeout: 20_000 });
        // A click toggles the folder and the tree may still be loading its children: click again until they show.
        await waitFor(async () => {
            if (await node.isVisible()) {
                return true;
            }
            await navigatorNode(window, folder).click();
            await node.waitFor({ state: 'visible', timeout: 3000 }).catch(() => undefined);
            return await node.isVisible() || undefined;
        }, 30_000, `${window.name}: ${name} in the navigator`);
    }
    await node.dblclick();
    await waitFor(async () => await currentEditorTab(window) === name, 20_000, `${window.name}: ${name} in the editor`);
}

/** Opens `<folder>/<name>` (see `openFile`) and waits for `text` in its editor. */
export async function openSharedFile(window: TheiaWindow, name: string, text: RegExp, folder = 'src'): Promise<Locator> {
    await openFile(window, name, folder);
    const editor = activeEditor(window);
    await waitFor(async () => text.test(await editorText(window, editor)), 20_000, `${window.name}: ${name} in the editor`);
    return editor;
}
