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

/** Opens the Explorer view. */
export async function showExplorer(window: TheiaWindow): Promise<void> {
    await window.runMenu('View', 'Explorer');
    await window.page.locator('#files').waitFor({ state: 'visible' });
}

function escapeRegExp(text: string): string {
    return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The navigator node named exactly `name`. */
export function navigatorNode(window: TheiaWindow, name: string): Locator {
    return window.page.locator('#files .theia-TreeNodeSegmentGrow').filter({ hasText: new RegExp(`^${escapeRegExp(name)}$`) });
}

/** The Monaco editor of the visible editor tab. */
export function activeEditor(window: TheiaWindow): Locator {
    return window.page.locator('#theia-main-content-panel .theia-editor:not(.lm-mod-hidden) .monaco-editor').first();
}

/** Opens `<folder>/<name>` from the navigator (expanding `folder` if needed) and waits for `text` in its editor. */
export async function openSharedFile(window: TheiaWindow, name: string, text: RegExp, folder = 'src'): Promise<Locator> {
    if (!await navigatorNode(window, name).isVisible()) {
        await navigatorNode(window, folder).click();
    }
    await navigatorNode(window, name).waitFor({ state: 'visible', timeout: 20_000 });
    await navigatorNode(window, name).dblclick();
    const editor = activeEditor(window);
    await waitFor(async () => text.test(await editor.locator('.view-lines').innerText()), 20_000, `${window.name}: ${name} in the editor`);
    return editor;
}
