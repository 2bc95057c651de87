import * as vscode from 'vscode';
import { findPythonWith } from './executables';

/**
 * The `python` debug type: debugpy's own debug adapter (`python3 -m debugpy.adapter`, Debian's
 * python3-debugpy), started over stdio for each session. Without a launch.json (F5 on a Python file) the
 * current file is launched.
 */
export function registerPythonDebugger(
    context: vscode.ExtensionContext,
    log: vscode.OutputChannel
): void {
    let python: string | undefined | null = null;
    const pythonWithDebugpy = (): string | undefined => {
        if (python === null) {
            python = findPythonWith('debugpy');
            log.appendLine(python ? `Python debugger: ${python} -m debugpy.adapter` : 'Python debugger: no Python with debugpy (install python3-debugpy).');
        }
        return python;
    };

    context.subscriptions.push(vscode.debug.registerDebugAdapterDescriptorFactory('python', {
        createDebugAdapterDescriptor(): vscode.ProviderResult<vscode.DebugAdapterDescriptor> {
            const executable = pythonWithDebugpy();
            if (!executable) {
                throw new Error('No Python with debugpy was found: install python3-debugpy (Debian) or `pip install debugpy`.');
            }
            return new vscode.DebugAdapterExecutable(executable, ['-m', 'debugpy.adapter']);
        }
    }));

    context.subscriptions.push(vscode.debug.registerDebugConfigurationProvider('python', {
        provideDebugConfigurations(): vscode.DebugConfiguration[] {
            return [{ type: 'python', request: 'launch', name: 'Python: Current File', program: '${file}', cwd: '${workspaceFolder}', console: 'internalConsole' }];
        },
        resolveDebugConfiguration(_folder, configuration): vscode.DebugConfiguration | undefined {
            if (!configuration.type && !configuration.request && !configuration.name) {
                const editor = vscode.window.activeTextEditor;
                if (!editor || editor.document.languageId !== 'python') {
                    void vscode.window.showInformationMessage('Open a Python file to debug it, or add a launch configuration.');
                    return undefined;
                }
                configuration = { type: 'python', request: 'launch', name: 'Python: Current File', program: '${file}', console: 'internalConsole' };
            }
            if (configuration.request === 'launch') {
                // The program runs under the interpreter that has debugpy unless the configuration names one.
                configuration.python ??= pythonWithDebugpy();
                configuration.console ??= 'internalConsole';
                configuration.justMyCode ??= true;
            }
            return configuration;
        }
    }));
}
