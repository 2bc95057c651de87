#!/usr/bin/env node
// Copies the TextMate grammars this plugin contributes (package.json `contributes.grammars`) from the
// `tm-grammars` registry package (VS Code's own grammars, MIT) into syntaxes/. Run by `npm run build`.
'use strict';
const fs = require('fs');
const path = require('path');

const pluginRoot = path.resolve(__dirname, '..');
// tm-grammars exports only ./grammars/*: find the folder through one of them.
const source = path.dirname(require.resolve('tm-grammars/grammars/json.json'));
const target = path.join(pluginRoot, 'syntaxes');
const pck = require(path.join(pluginRoot, 'package.json'));

fs.mkdirSync(target, { recursive: true });
let copied = 0;
for (const grammar of pck.contributes.grammars) {
    const name = path.basename(grammar.path);
    const from = path.join(source, name);
    if (!fs.existsSync(from)) {
        console.error(`copy-grammars: tm-grammars has no ${name}`);
        process.exit(1);
    }
    const content = JSON.parse(fs.readFileSync(from, 'utf8'));
    if (content.scopeName !== grammar.scopeName) {
        console.error(`copy-grammars: ${name} has scope ${content.scopeName}, package.json says ${grammar.scopeName}`);
        process.exit(1);
    }
    fs.copyFileSync(from, path.join(target, name));
    copied++;
}
fs.copyFileSync(path.join(path.dirname(source), 'LICENSE'), path.join(target, 'LICENSE'));
console.log(`copy-grammars: ${copied} grammars in ${path.relative(process.cwd(), target) || '.'}`);
