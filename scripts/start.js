#!/usr/bin/env node
// Starts the built browser app (no build step): Theia backend on http://127.0.0.1:3000 with sample-workspace/,
// with the in-repo plugins (plugins/), and, inside it, the embedded collaboration coordination server (127.0.0.1:8100, or shares the one already there).
//   PORT=3001 WORKSPACE=/tmp/other npm start      a second window on the same machine
//   COLLAB_SERVER_URL=https://collab.example.com   use an existing coordination server instead
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const main = path.join(root, 'browser-app', 'lib', 'backend', 'main.js');
const hostname = process.env.HOSTNAME_BIND || '127.0.0.1';
const port = process.env.PORT || '3000';
const workspace = path.resolve(process.env.WORKSPACE || path.join(root, 'sample-workspace'));
// The VS Code extensions in plugins/ (languages, language servers, the Python debugger), built by `npm run build`.
const plugins = path.join(root, 'plugins');

if (!fs.existsSync(main)) {
    console.error(`The browser app is not built (${path.relative(root, main)} is missing). Run: npm run build`);
    process.exit(1);
}
if (!fs.existsSync(workspace)) {
    fs.mkdirSync(workspace, { recursive: true });
}

const child = spawn(process.execPath, [main, workspace, '--hostname', hostname, '--port', port, `--plugins=local-dir:${plugins}`], {
    cwd: path.join(root, 'browser-app'),
    env: process.env,
    stdio: ['inherit', 'pipe', 'pipe']
});

let announced = false;
function watch(stream, out) {
    let buffer = '';
    stream.on('data', chunk => {
        out.write(chunk);
        if (announced) {
            return;
        }
        buffer = (buffer + chunk.toString()).slice(-4096);
        const match = /listening on (https?:\/\/\S+?)\.?(\s|$)/.exec(buffer);
        if (match) {
            announced = true;
            console.log(`\n  Theia Collaboration is running: ${match[1]}\n  Workspace: ${workspace}\n  `
                + 'Collaborate → Start Session to share it. Ctrl+C to stop.\n');
        }
    });
}
watch(child.stdout, process.stdout);
watch(child.stderr, process.stderr);

for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => child.kill(signal));
}
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
