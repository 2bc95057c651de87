#!/usr/bin/env node
'use strict';
require('../lib/cli').main().then(
    code => process.exit(code),
    error => {
        process.stderr.write(`collab-server: ${error && error.stack || error}\n`);
        process.exit(1);
    }
);
