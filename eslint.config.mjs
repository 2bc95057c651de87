// Lint that enforces the layers (docs/ARCHITECTURE.md): what each folder may import. `npm run lint`; CI runs it.
import tseslint from 'typescript-eslint';

const NODE_BUILTINS = ['assert', 'child_process', 'crypto', 'dgram', 'dns', 'events', 'fs', 'fs/promises', 'http', 'https', 'net', 'os',
    'path', 'process', 'readline', 'stream', 'tls', 'url', 'util', 'worker_threads', 'zlib'];
const BUILTINS_MESSAGE = 'Shared code runs in browsers too: no Node built-ins here.';
const nodeBuiltins = { group: ['node:*'], message: BUILTINS_MESSAGE };
const builtinPaths = NODE_BUILTINS.map(name => ({ name, message: BUILTINS_MESSAGE }));
const testCode = {
    group: ['**/*.spec', '**/*-fixture', '**/*-test-fixture', '**/test-support', '**/*-test-support', '**/integration/*'],
    message: 'Tests and fixtures are not part of the product: product code never imports them.'
};
const restrict = (...patterns) => ['error', {
    patterns,
    // Exact names (a pattern 'crypto' would also match './crypto').
    paths: patterns.includes(nodeBuiltins) ? builtinPaths : []
}];

export default tseslint.config(
    {
        ignores: ['**/lib/**', '**/node_modules/**', '**/src-gen/**', '**/gen-webpack*', '**/webpack.config.js', 'browser-app/**', 'electron-app/**',
            'plugins/**/out/**', 'bench/results/**', 'test-results/**']
    },
    {
        files: ['**/*.ts', '**/*.tsx'],
        languageOptions: { parser: tseslint.parser },
        plugins: { '@typescript-eslint': tseslint.plugin },
        // Only the layer rules are configured; disable comments for other rules are not ours to judge.
        linterOptions: { reportUnusedDisableDirectives: 'off' }
    },
    // The protocol runs in browsers and Node alike and knows nothing of Theia.
    {
        files: ['collab-protocol/src/**/*.ts'],
        ignores: ['**/*.spec.ts'],
        rules: {
            'no-restricted-imports': restrict(nodeBuiltins, testCode,
                { group: ['@theia/*', '@theia-collab/*'], message: 'collab-protocol depends on nothing of ours and nothing of Theia.' })
        }
    },
    // The server knows rooms and envelopes, never features.
    {
        files: ['collab-server/src/**/*.ts'],
        ignores: ['**/*.spec.ts', '**/integration/**', '**/*test-support.ts'],
        rules: {
            'no-restricted-imports': restrict(testCode,
                { group: ['@theia/*', '@theia-collab/extension', '@theia-collab/extension/*'], message: 'The server knows no features and no Theia.' })
        }
    },
    // Extension, common: no DOM-only or Node-only layers.
    {
        files: ['collab-extension/src/common/**/*.ts'],
        ignores: ['**/*.spec.ts', '**/*-fixture.ts'],
        rules: {
            'no-restricted-imports': restrict(nodeBuiltins, testCode,
                { group: ['**/browser/*', '**/browser', '**/node/*', '**/node', '@theia/*/lib/browser/*', '@theia/*/lib/node/*'], message: 'common never imports browser or node code.' })
        }
    },
    // Extension, node: never the frontend.
    {
        files: ['collab-extension/src/node/**/*.ts'],
        ignores: ['**/*.spec.ts'],
        rules: {
            'no-restricted-imports': restrict(testCode,
                { group: ['**/browser/*', '**/browser', '@theia/*/lib/browser/*'], message: 'node never imports browser code.' })
        }
    },
    // Extension, browser: never the backend.
    {
        files: ['collab-extension/src/browser/**/*.ts', 'collab-extension/src/browser/**/*.tsx'],
        ignores: ['**/*.spec.ts'],
        rules: {
            'no-restricted-imports': restrict(nodeBuiltins, testCode,
                { group: ['**/node/*', '**/node', '@theia/*/lib/node/*'], message: 'browser never imports node code.' })
        }
    },
    // Specs and fixtures of one package may use another package's product code, never its tests or fixtures.
    {
        files: ['**/*.spec.ts', '**/*-fixture.ts', '**/integration/**/*.ts', '**/*test-support.ts'],
        rules: {
            'no-restricted-imports': restrict({
                group: ['@theia-collab/*/lib/**/integration/*', '@theia-collab/*/lib/**/*.spec', '@theia-collab/*/lib/**/*-fixture', '@theia-collab/*/lib/**/*test-support'],
                message: 'Use @theia-collab/test-kit instead of another package\'s tests and fixtures.'
            })
        }
    },
    // Examples are what other extension authors copy: they use only the public entry points of the extension, their specs
    // too (after the rule for specs, which it replaces there; tests still come from @theia-collab/test-kit only).
    {
        files: ['examples/**/*.ts', 'examples/**/*.tsx'],
        rules: {
            'no-restricted-imports': restrict(testCode, {
                group: ['@theia-collab/extension/lib/*/*', '@theia-collab/extension/src/*', '@theia-collab/protocol', '@theia-collab/protocol/*'],
                message: 'An extension uses only @theia-collab/extension/lib/browser and @theia-collab/extension/lib/common.'
            })
        }
    }
);
