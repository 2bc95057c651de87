import * as vscode from 'vscode';
import { LanguageClient, LanguageClientOptions, ServerOptions } from 'vscode-languageclient/node';
import { findExecutable, findPythonWith } from './executables';

export interface LanguageClientHandle {
    stop(): Promise<void>;
}

/** Documents on disk and untitled ones: what the language servers can read. */
function selector(...languages: string[]): LanguageClientOptions['documentSelector'] {
    return languages.flatMap(language => [{ scheme: 'file', language }, { scheme: 'untitled', language }]);
}

/**
 * `typescript-language-server --stdio` (from npm, run by this Node, with the `typescript` package beside it
 * unless the workspace has its own) for TypeScript and JavaScript: hover, completion, definition, references,
 * rename, diagnostics, code actions, formatting.
 */
export async function startTypeScriptClient(log: vscode.OutputChannel): Promise<LanguageClientHandle> {
    const cli = require.resolve('typescript-language-server/lib/cli.mjs');
    const run = {
        command: process.execPath,
        // No `transport`: with one, the client adds a second `--stdio` argument itself.
        args: [cli, '--stdio'],
        // In Electron, process.execPath is Electron itself: run it as plain Node.
        options: { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } }
    };
    const serverOptions: ServerOptions = { run, debug: run };
    const clientOptions: LanguageClientOptions = {
        documentSelector: selector('typescript', 'typescriptreact', 'javascript', 'javascriptreact'),
        initializationOptions: {
            hostInfo: 'theia-collaboration',
            preferences: {
                includeCompletionsForModuleExports: true,
                includeCompletionsWithInsertText: true,
                providePrefixAndSuffixTextForRename: true
            }
        },
        outputChannel: log,
        diagnosticCollectionName: 'typescript'
    };
    const client = new LanguageClient('theiaCollab.typescript', 'TypeScript Language Server', serverOptions, clientOptions);
    await client.start();
    log.appendLine(`TypeScript language server started (${cli}).`);
    return { stop: () => client.stop() };
}

/** `pylsp` (Debian's python3-pylsp; it speaks over stdio when given no arguments) for Python, when it is installed; otherwise nothing but highlighting. */
export async function startPythonClient(log: vscode.OutputChannel): Promise<LanguageClientHandle | undefined> {
    const pylsp = findExecutable([process.env.COLLAB_PYLSP, '/usr/bin/pylsp', 'pylsp'].filter((c): c is string => !!c));
    let serverOptions: ServerOptions;
    if (pylsp) {
        serverOptions = { command: pylsp, args: [] };
    } else {
        const python = findPythonWith('pylsp');
        if (!python) {
            log.appendLine('No Python language server: install python3-pylsp (Debian) or python-lsp-server (pip) to get one.');
            return undefined;
        }
        serverOptions = { command: python, args: ['-m', 'pylsp'] };
    }
    const client = new LanguageClient('theiaCollab.python', 'Python Language Server', serverOptions, {
        documentSelector: selector('python'),
        outputChannel: log,
        diagnosticCollectionName: 'python'
    });
    await client.start();
    log.appendLine('Python language server (pylsp) started.');
    return { stop: () => client.stop() };
}
