import * as assert from 'assert';
import { Locator } from 'playwright-core';
import { TheiaWindow } from './browser';
import { waitFor } from './wait';

export type GuestPermission = 'readwrite' | 'readonly';

/** Sets the display name with Collaborate > Change Display Name... (the `collaboration.displayName` preference). */
export async function setDisplayName(window: TheiaWindow, name: string): Promise<void> {
    await window.runMenu('Collaborate', 'Change Display Name...');
    const input = window.page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible' });
    await input.fill(name);
    await input.press('Enter');
    await window.page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
}

/**
 * The host sets its display name (`name`) and starts a session from the Collaborate menu, which starts at once
 * (no name asked) and shows the invite, then closes the invite; returns the invite code.
 */
export async function startSession(host: TheiaWindow, name = 'Alice'): Promise<string> {
    await setDisplayName(host, name);
    await host.runMenu('Collaborate', 'Start Session');
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

/** A guest leaves (`Leave Session`) or the host ends (`End Session`), confirms, and its status bar is idle again. */
export async function leaveSession(window: TheiaWindow, item: 'Leave Session' | 'End Session' = 'Leave Session'): Promise<void> {
    await window.runMenu('Collaborate', item);
    // Both are confirmed in a modal dialog.
    const confirm = window.dialog(item === 'End Session' ? 'collaboration-end-dialog' : 'collaboration-leave-dialog');
    await confirm.waitFor({ state: 'visible' });
    await confirm.locator('button.main').click();
    await confirm.waitFor({ state: 'detached' });
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

function exactLabel(text: string): RegExp {
    return new RegExp(`^\\s*${escapeRegExp(text)}\\s*$`);
}

/**
 * Opens a main menu and the submenus along `labels`, e.g. `openMenu(window, 'Collaborate', 'Participants')`,
 * and leaves them open; returns the innermost menu, or undefined (all menus closed) when a submenu is not there.
 */
export async function openMenu(window: TheiaWindow, top: string, ...submenus: string[]): Promise<Locator | undefined> {
    const page = window.page;
    await page.locator('#theia\\:menubar .lm-MenuBar-item').filter({ hasText: exactLabel(top) }).click();
    let menu = page.locator('.lm-Menu').last();
    await menu.waitFor({ state: 'visible' });
    for (const label of submenus) {
        const item = menu.locator('.lm-Menu-item').filter({ has: page.locator('.lm-Menu-itemLabel', { hasText: exactLabel(label) }) });
        if (await item.count() === 0) {
            await closeMenus(window);
            return undefined;
        }
        const count = await page.locator('.lm-Menu').count();
        await item.click();
        await waitFor(async () => await page.locator('.lm-Menu').count() > count, 10_000, `${window.name}: the ${label} submenu to open`);
        menu = page.locator('.lm-Menu').last();
        await menu.waitFor({ state: 'visible' });
    }
    return menu;
}

/** Closes every open menu (Escape, one level at a time). */
export async function closeMenus(window: TheiaWindow): Promise<void> {
    for (let i = 0; i < 6 && await window.page.locator('.lm-Menu').count() > 0; i++) {
        await window.page.keyboard.press('Escape');
    }
    await waitFor(async () => await window.page.locator('.lm-Menu').count() === 0, 5000, `${window.name}: the menus to close`);
}

/** Labels of the shown items of a (sub)menu, e.g. `('Collaborate', 'Participants')`, with whether each is enabled; [] when the submenu is not shown. */
export async function menuEntries(window: TheiaWindow, top: string, ...submenus: string[]): Promise<{ label: string; enabled: boolean }[]> {
    const menu = await openMenu(window, top, ...submenus);
    if (!menu) {
        return [];
    }
    const items = await menu.locator('.lm-Menu-item:not(.lm-mod-hidden)').evaluateAll(nodes => nodes
        .filter(node => !node.classList.contains('lm-type-separator') && (node as HTMLElement).dataset.type !== 'separator')
        .map(node => ({ label: (node.querySelector('.lm-Menu-itemLabel')?.textContent ?? '').trim(), enabled: !node.classList.contains('lm-mod-disabled') })));
    await closeMenus(window);
    return items.filter(item => item.label);
}

/** Picks, in the open quick pick, the first row whose text matches `row`; resolves once that row was clicked. */
export async function pickQuickItem(window: TheiaWindow, row: RegExp): Promise<void> {
    const widget = window.page.locator('.quick-input-widget');
    await widget.waitFor({ state: 'visible' });
    const item = widget.locator('.monaco-list-row').filter({ hasText: row }).first();
    await item.waitFor({ state: 'visible', timeout: 15_000 });
    await item.click();
}

/** Texts of the rows of the open quick pick. */
export async function quickPickRows(window: TheiaWindow): Promise<string[]> {
    const widget = window.page.locator('.quick-input-widget');
    await widget.waitFor({ state: 'visible' });
    await widget.locator('.monaco-list-row').first().waitFor({ state: 'visible', timeout: 15_000 });
    return (await widget.locator('.monaco-list-row').allInnerTexts()).map(text => text.replace(/\s+/g, ' ').trim());
}

/** Clicks the button `action` of the notification whose message matches `message`. */
export async function clickNotificationAction(window: TheiaWindow, message: RegExp, action: string, timeoutMs = 30_000): Promise<void> {
    const page = window.page;
    const item = page.locator('.theia-notification-list-item').filter({ has: page.locator('.theia-notification-message', { hasText: message }) }).first();
    await item.waitFor({ state: 'visible', timeout: timeoutMs });
    await item.locator('.theia-notification-buttons button', { hasText: exactLabel(action) }).click();
}
