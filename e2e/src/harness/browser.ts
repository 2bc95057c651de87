import { Browser, BrowserContext, chromium, Page } from 'playwright-core';
import * as fs from 'fs';
import * as path from 'path';
import { CHROMIUM, TEST_RESULTS } from './paths';
import { TheiaBackend } from './theia-backend';
import { waitFor } from './wait';

export const CHROMIUM_ARGS = [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'
];

export function launchBrowser(): Promise<Browser> {
    return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 });
}

/** A Theia window in its own browser context (own storage, own clipboard permission). */
export class TheiaWindow {
    protected readonly consoleLines: string[] = [];

    protected constructor(readonly name: string, readonly context: BrowserContext, readonly page: Page) {
        page.on('console', message => this.consoleLines.push(`[${message.type()}] ${message.text()}`));
        page.on('pageerror', error => this.consoleLines.push(`[pageerror] ${error.message}`));
    }

    /** Opens the backend's app and waits until the shell is up and the workbench is interactive. */
    static async open(browser: Browser, backend: TheiaBackend, name = backend.name): Promise<TheiaWindow> {
        const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
        await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: backend.url });
        const page = await context.newPage();
        page.setDefaultTimeout(30_000);
        const window = new TheiaWindow(name, context, page);
        await page.goto(backend.url, { waitUntil: 'domcontentloaded', timeout: 60_000 });
        await window.waitForShell();
        return window;
    }

    async waitForShell(timeoutMs = 90_000): Promise<void> {
        await this.page.locator('#theia-app-shell').waitFor({ state: 'visible', timeout: timeoutMs });
        await this.page.locator('.theia-preload').waitFor({ state: 'detached', timeout: timeoutMs });
        await this.page.locator('#theia\\:menubar').waitFor({ state: 'visible', timeout: timeoutMs });
        await this.page.locator('#theia-statusBar').waitFor({ state: 'visible', timeout: timeoutMs });
    }

    /** Clicks through the main menu, e.g. `['Collaborate', 'Start Session']`; fails on a disabled item. */
    async runMenu(...labels: string[]): Promise<void> {
        const [top, ...items] = labels;
        const page = this.page;
        await page.locator('#theia\\:menubar .lm-MenuBar-item').filter({ hasText: exact(top) }).click();
        for (const label of items) {
            const menu = page.locator('.lm-Menu').last();
            await menu.waitFor({ state: 'visible' });
            const item = menu.locator('.lm-Menu-item').filter({ has: page.locator('.lm-Menu-itemLabel', { hasText: exact(label) }) });
            await item.waitFor({ state: 'visible' });
            const disabled = await item.evaluate(node => node.classList.contains('lm-mod-disabled'));
            if (disabled) {
                await page.keyboard.press('Escape');
                throw new Error(`Menu item '${labels.join(' > ')}' is disabled`);
            }
            await item.click();
        }
    }

    /** Labels of the enabled items of a top-level menu. */
    async menuItems(top: string): Promise<{ label: string; enabled: boolean }[]> {
        const page = this.page;
        await page.locator('#theia\\:menubar .lm-MenuBar-item').filter({ hasText: exact(top) }).click();
        const menu = page.locator('.lm-Menu').last();
        await menu.waitFor({ state: 'visible' });
        const items = await menu.locator('.lm-Menu-item:not(.lm-mod-hidden)').evaluateAll(nodes => nodes
            .filter(node => (node as HTMLElement).dataset.type !== 'separator' && !node.classList.contains('lm-type-separator'))
            .map(node => ({
                label: node.querySelector('.lm-Menu-itemLabel')?.textContent ?? '',
                enabled: !node.classList.contains('lm-mod-disabled')
            })));
        await page.keyboard.press('Escape');
        return items.filter(item => item.label);
    }

    /** The open Theia dialog, optionally the one with a CSS class. */
    dialog(className?: string) {
        return this.page.locator(`.dialogOverlay${className ? '.' + className : ''}`);
    }

    /** Text of a status bar item found by CSS class. */
    async statusBarText(className: string): Promise<string> {
        return (await this.page.locator(`#theia-statusBar .${className}`).first().textContent() ?? '').trim();
    }

    async waitForStatusBarText(className: string, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
        return waitFor(async () => {
            const text = await this.statusBarText(className).catch(() => '');
            return pattern.test(text) ? text : undefined;
        }, timeoutMs, `${this.name}: status bar .${className} to match ${pattern}`);
    }

    /** Texts of the visible notifications (toasts). */
    async notifications(): Promise<string[]> {
        return this.page.locator('.theia-notification-message').allTextContents();
    }

    async screenshot(fileName: string): Promise<string> {
        fs.mkdirSync(TEST_RESULTS, { recursive: true });
        const file = path.join(TEST_RESULTS, fileName.endsWith('.png') ? fileName : `${fileName}.png`);
        await this.page.screenshot({ path: file });
        return file;
    }

    consoleOutput(): string {
        return this.consoleLines.join('\n');
    }

    /** Saves the browser console next to the screenshots; call before close() when diagnosing. */
    saveConsole(fileName = `${this.name}-console.log`): void {
        fs.mkdirSync(TEST_RESULTS, { recursive: true });
        fs.writeFileSync(path.join(TEST_RESULTS, fileName), this.consoleOutput());
    }

    async close(): Promise<void> {
        await this.context.close().catch(() => undefined);
    }
}

function exact(text: string): RegExp {
    return new RegExp(`^\\s*${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
}
