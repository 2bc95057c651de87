#!/usr/bin/env node
// Bundles the Electron app like `theia build`, but without ApplicationPackageManager.prepare(): for an
// Electron target that step only downloads the Electron binary and replaces its ffmpeg, which neither
// bundling nor offline machines need (`ELECTRON_SKIP_BINARY_DOWNLOAD=1`). Fetch the binary separately
// (`node node_modules/electron/install.js`) before starting the app with `npm start -w electron-app`.
//   node scripts/bundle.js [--mode development|production] [extra bundler args...]
'use strict';
const path = require('path');
const { ApplicationPackageManager } = require('@theia/application-manager');

async function main() {
    const args = process.argv.slice(2);
    let mode = 'development';
    const modeIndex = args.indexOf('--mode');
    if (modeIndex !== -1) {
        mode = args[modeIndex + 1];
        args.splice(modeIndex, 2);
    }
    if (mode !== 'development' && mode !== 'production') {
        throw new Error(`Unknown mode '${mode}': use development or production.`);
    }
    const projectPath = path.resolve(__dirname, '..');
    const manager = new ApplicationPackageManager({ projectPath, appTarget: 'electron' });
    if (!manager.pck.isElectron()) {
        throw new Error(`${projectPath} is not an Electron Theia application.`);
    }
    // `generate()` calls `prepare()` first; skip it (see above).
    manager.prepare = async () => { /* no Electron binary download */ };
    await manager.build(['--mode', mode, ...args], { mode });
}

main().catch(error => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
});
