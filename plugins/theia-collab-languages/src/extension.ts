import * as vscode from 'vscode';
import { startPythonClient, startTypeScriptClient, LanguageClientHandle } from './language-clients';
import { registerPythonDebugger } from './python-debug';

/**
 * A VS Code extension run by Theia's plugin host: the TypeScript/JavaScript language server
 * (typescript-language-server over stdio), the Python language server (pylsp, when installed) and the
 * Python debugger (debugpy's adapter, when installed). Grammars and language settings are in package.json.
 */
export async function activate(context: vscode.ExtensionContext): Promise<void> {
    const log = vscode.window.createOutputChannel('Theia Collaboration Languages');
    context.subscriptions.push(log);

    const clients: Record<'typescript' | 'python', LanguageClientHandle | undefined> = { typescript: undefined, python: undefined };
    const start = async (which: 'typescript' | 'python'): Promise<void> => {
        try {
            clients[which] = which === 'typescript' ? await startTypeScriptClient(log) : await startPythonClient(log);
        } catch (error) {
            log.appendLine(`The ${which} language server did not start: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
        }
    };
    const restart = async (which: 'typescript' | 'python'): Promise<void> => {
        const previous = clients[which];
        clients[which] = undefined;
        await previous?.stop().catch(() => undefined);
        await start(which);
    };
    context.subscriptions.push(
        vscode.commands.registerCommand('theiaCollab.languages.restartTypeScriptServer', () => restart('typescript')),
        vscode.commands.registerCommand('theiaCollab.languages.restartPythonServer', () => restart('python')),
        { dispose: () => { void clients.typescript?.stop(); void clients.python?.stop(); } }
    );

    registerPythonDebugger(context, log);
    await Promise.all([start('typescript'), start('python')]);
}

export function deactivate(): void {
    // The clients stop through the subscriptions above.
}
