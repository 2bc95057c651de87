import { TheiaWindow } from './browser';

/**
 * The content of a `.theia-workspace` file listing `folders` (paths relative to the file's own folder), e.g. for
 * a backend's `files`: `{ 'multi.theia-workspace': workspaceFileContent(['one/app', 'two/app']), ... }`.
 */
export function workspaceFileContent(folders: readonly string[]): string {
    return JSON.stringify({ folders: folders.map(folder => ({ path: folder })), settings: {} }, undefined, 4) + '\n';
}

/**
 * Reloads `window` on the workspace at `workspacePath` (a folder or a `.theia-workspace` file on its backend's
 * machine): Theia opens the workspace the URL fragment names, whatever folder the backend was started with.
 */
export async function openWorkspace(window: TheiaWindow, workspacePath: string): Promise<void> {
    const url = new URL(window.page.url());
    url.hash = workspacePath;
    // Only the fragment changes: no reload yet, so reload explicitly.
    await window.page.goto(url.toString());
    await window.page.reload({ waitUntil: 'domcontentloaded', timeout: 60_000 });
    await window.waitForShell();
}
