// Lint that enforces the layers (docs/ARCHITECTURE.md): what each folder may import. `npm run lint`; CI runs it.
import { readdirSync, readFileSync } from 'node:fs';
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

// The extension's layers: what code in src/<layer> may import (besides the feature rule below).
const EXTENSION_LAYERS = {
    common: {
        ignores: ['**/*.spec.ts', '**/*-fixture.ts'],
        patterns: [nodeBuiltins, testCode,
            { group: ['**/browser/*', '**/browser', '**/node/*', '**/node', '@theia/*/lib/browser/*', '@theia/*/lib/node/*'], message: 'common never imports browser or node code.' }]
    },
    node: {
        ignores: ['**/*.spec.ts'],
        patterns: [testCode, { group: ['**/browser/*', '**/browser', '@theia/*/lib/browser/*'], message: 'node never imports browser code.' }]
    },
    browser: {
        ignores: ['**/*.spec.ts'],
        patterns: [nodeBuiltins, testCode, { group: ['**/node/*', '**/node', '@theia/*/lib/node/*'], message: 'browser never imports node code.' }]
    }
};
const layerConfig = layer => ({
    files: [`collab-extension/src/${layer}/**/*.ts`, `collab-extension/src/${layer}/**/*.tsx`],
    ignores: EXTENSION_LAYERS[layer].ignores,
    rules: { 'no-restricted-imports': restrict(...EXTENSION_LAYERS[layer].patterns) }
});

/**
 * A feature imports only the features it declares in collab-extension/features.json, in every layer (browser/editor may
 * import common/fs only if editor declares fs). One config per layer and feature; flat config replaces an earlier
 * `no-restricted-imports` for the same files, so each carries its layer's patterns too.
 */
function featureConfigs() {
    const { shared, features } = JSON.parse(readFileSync(new URL('./collab-extension/features.json', import.meta.url), 'utf8'));
    assertAcyclic(features);
    const configs = [];
    for (const layer of Object.keys(EXTENSION_LAYERS)) {
        const folders = readdirSync(new URL(`./collab-extension/src/${layer}/`, import.meta.url), { withFileTypes: true })
            .filter(entry => entry.isDirectory()).map(entry => entry.name);
        for (const feature of folders) {
            if (shared.includes(feature)) {
                continue;
            }
            if (!features[feature]) {
                throw new Error(`collab-extension/src/${layer}/${feature} is not in collab-extension/features.json: declare the feature and the features it imports.`);
            }
            const undeclared = Object.keys(features).filter(other => other !== feature && !features[feature].includes(other));
            // Relative imports from the feature's folder (and one folder below it) into another feature's, in any layer.
            const group = undeclared.flatMap(other => [`../${other}/*`, `../../${other}/*`,
                ...Object.keys(EXTENSION_LAYERS).flatMap(target => [`../../${target}/${other}/*`, `../../../${target}/${other}/*`])]);
            configs.push({
                files: [`collab-extension/src/${layer}/${feature}/**/*.ts`, `collab-extension/src/${layer}/${feature}/**/*.tsx`],
                ignores: EXTENSION_LAYERS[layer].ignores,
                rules: {
                    'no-restricted-imports': restrict(...EXTENSION_LAYERS[layer].patterns, {
                        group,
                        message: `The ${feature} feature imports only the features it declares in collab-extension/features.json `
                            + `(${features[feature].join(', ') || 'none'}).`
                    })
                }
            });
        }
    }
    return configs;
}

/** Features that import each other cannot be understood, tested or removed apart: features.json stays a DAG. */
function assertAcyclic(features) {
    const done = new Set();
    const visit = (feature, path) => {
        if (path.includes(feature)) {
            throw new Error(`collab-extension/features.json has a cycle: ${[...path.slice(path.indexOf(feature)), feature].join(' → ')}`);
        }
        if (!done.has(feature)) {
            (features[feature] ?? []).forEach(dependency => visit(dependency, [...path, feature]));
            done.add(feature);
        }
    };
    Object.keys(features).forEach(feature => visit(feature, []));
}

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
    // Extension, common: no DOM-only or Node-only layers; node: never the frontend; browser: never the backend.
    layerConfig('common'),
    layerConfig('node'),
    layerConfig('browser'),
    // Each feature: its layer's rule plus the features it may import.
    ...featureConfigs(),
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
