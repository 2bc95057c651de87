import * as path from 'path';

/** The repository root (this file is compiled to `e2e/lib/harness/`). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const BROWSER_APP_MAIN = path.join(REPO_ROOT, 'browser-app', 'lib', 'backend', 'main.js');
/** Screenshots and logs of end-to-end runs. */
export const TEST_RESULTS = path.join(REPO_ROOT, 'test-results');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
/** The in-repo VS Code extensions a backend loads with `plugins: true` (`--plugins=local-dir:`), as `npm start` does. */
export const PLUGINS_DIR = path.join(REPO_ROOT, 'plugins');
