import { inject, injectable } from '@theia/core/shared/inversify';
import { Command, CommandContribution, CommandRegistry } from '@theia/core/lib/common/command';
import { Emitter } from '@theia/core/lib/common/event';
import { MessageService } from '@theia/core/lib/common/message-service';
import { nls } from '@theia/core/lib/common/nls';
import URI from '@theia/core/lib/common/uri';
import { QuickInputService } from '@theia/core/lib/browser/quick-input/quick-input-service';
import { StatusBar, StatusBarAlignment } from '@theia/core/lib/browser/status-bar/status-bar';
import { ApplicationShell } from '@theia/core/lib/browser/shell/application-shell';
import { KeybindingContribution, KeybindingRegistry } from '@theia/core/lib/browser/keybinding';
import { EditorManager } from '@theia/editor/lib/browser/editor-manager';
import { MonacoEditor } from '@theia/monaco/lib/browser/monaco-editor';
import * as monaco from '@theia/monaco-editor-core';
import { CollaborationError } from '@theia-collab/protocol/lib/errors';
import { collabUriOfWorkspacePath } from '../../common/collaboration-uri';
import { DebugAction, DebugSessionInfo } from '../../common/debug/debug-session-protocol';
import { DebugSessionGuest } from '../../common/debug/debug-session-sync';
import { DebugGuestWidget } from './debug-guest-widget';

export namespace CollaborationDebugCommands {
    const category = 'Collaboration';
    export const FOLLOW = Command.toLocalizedCommand({ id: 'collaboration.debug.followPosition', category, label: 'Follow the Host\'s Debug Position' },
        'collaboration/debug/follow', 'collaboration');
    export const ACTIONS = Command.toLocalizedCommand({ id: 'collaboration.debug.actions', category, label: 'Host\'s Debug Session...' },
        'collaboration/debug/actions', 'collaboration');
    export const CONTINUE = Command.toLocalizedCommand({ id: 'collaboration.debug.continue', category, label: 'Continue the Host\'s Debug Session' },
        'collaboration/debug/continue', 'collaboration');
    export const STEP_OVER = Command.toLocalizedCommand({ id: 'collaboration.debug.stepOver', category, label: 'Step Over in the Host\'s Debug Session' },
        'collaboration/debug/stepOver', 'collaboration');
    export const STEP_IN = Command.toLocalizedCommand({ id: 'collaboration.debug.stepIn', category, label: 'Step Into in the Host\'s Debug Session' },
        'collaboration/debug/stepIn', 'collaboration');
    export const STEP_OUT = Command.toLocalizedCommand({ id: 'collaboration.debug.stepOut', category, label: 'Step Out in the Host\'s Debug Session' },
        'collaboration/debug/stepOut', 'collaboration');
    export const PAUSE = Command.toLocalizedCommand({ id: 'collaboration.debug.pause', category, label: 'Pause the Host\'s Debug Session' },
        'collaboration/debug/pause', 'collaboration');
}

const ACTIONS: { command: Command; action: DebugAction; whenStopped: boolean }[] = [
    { command: CollaborationDebugCommands.CONTINUE, action: 'continue', whenStopped: true },
    { command: CollaborationDebugCommands.STEP_OVER, action: 'stepOver', whenStopped: true },
    { command: CollaborationDebugCommands.STEP_IN, action: 'stepIn', whenStopped: true },
    { command: CollaborationDebugCommands.STEP_OUT, action: 'stepOut', whenStopped: true },
    { command: CollaborationDebugCommands.PAUSE, action: 'pause', whenStopped: false }
];

const STATUS_ID = 'collaboration-debug-status';

/** A guest's keys for the host's session, as Theia's own debugger has them (those apply while debugging locally). */
const KEYS: { command: Command; keybinding: string }[] = [
    { command: CollaborationDebugCommands.STEP_OVER, keybinding: 'f10' },
    { command: CollaborationDebugCommands.STEP_IN, keybinding: 'f11' },
    { command: CollaborationDebugCommands.STEP_OUT, keybinding: 'shift+f11' }
];

/**
 * Guest: shows the host's debug state in the status bar, marks where the host stopped in the guest's
 * editors, follows that position if asked, and sends continue/step/pause to the host.
 */
@injectable()
export class DebugGuestService implements CommandContribution, KeybindingContribution {

    @inject(ApplicationShell)
    protected readonly shell: ApplicationShell;

    protected widget: DebugGuestWidget | undefined;

    @inject(StatusBar)
    protected readonly statusBar: StatusBar;

    @inject(EditorManager)
    protected readonly editorManager: EditorManager;

    @inject(MessageService)
    protected readonly messageService: MessageService;

    @inject(QuickInputService)
    protected readonly quickInput: QuickInputService;

    protected guest: DebugSessionGuest | undefined;
    protected following = true;
    protected lastRevealed = '';
    protected readonly decorations = new Map<MonacoEditor, string[]>();
    protected readonly onDidChangeEmitter = new Emitter<void>();

    /** Starts showing a guest session's host debug state; the returned function stops it. */
    attach(guest: DebugSessionGuest): () => void {
        this.guest = guest;
        const listener = guest.onDidChange(() => this.update());
        const editors = this.editorManager.onCreated(() => this.decorate());
        this.update();
        return () => {
            listener.dispose();
            editors.dispose();
            if (this.guest === guest) {
                this.guest = undefined;
                this.update();
                this.widget?.dispose();
                this.widget = undefined;
            }
        };
    }

    protected get focused(): DebugSessionInfo | undefined {
        return this.guest?.focused;
    }

    protected update(): void {
        const focused = this.focused;
        if (!focused) {
            this.statusBar.removeElement(STATUS_ID);
        } else {
            const where = focused.frame ? `${focused.frame.path ? new URI(collabUriOfWorkspacePath(focused.frame.path)).path.base : focused.frame.name}:${focused.frame.line}` : '';
            this.statusBar.setElement(STATUS_ID, {
                text: focused.state === 'stopped'
                    ? `$(debug-pause) ${nls.localize('collaboration/debug/hostPaused', 'Host paused')}${where ? ` · ${where}` : ''}`
                    : `$(debug) ${nls.localize('collaboration/debug/hostDebugging', 'Host debugging')}`,
                tooltip: `${focused.name}${focused.stoppedReason ? ` (${focused.stoppedReason})` : ''}`,
                alignment: StatusBarAlignment.LEFT,
                priority: 4,
                className: 'collaboration-debug-status',
                command: CollaborationDebugCommands.ACTIONS.id
            });
        }
        this.decorate();
        if (this.following) {
            this.reveal();
        }
        this.showDetails(focused);
        this.onDidChangeEmitter.fire();
    }

    /** The host's call stack and variables in the "Host's Debug Session" view, opened (not focused) when the host first stops. */
    protected showDetails(focused: DebugSessionInfo | undefined): void {
        if (!this.widget && this.guest && focused?.state === 'stopped') {
            this.widget = new DebugGuestWidget(frame => {
                if (frame.path) {
                    const line = Math.max(0, frame.line - 1);
                    this.editorManager.open(new URI(collabUriOfWorkspacePath(frame.path)), {
                        mode: 'reveal', selection: { start: { line, character: 0 }, end: { line, character: 0 } }
                    }).catch(() => undefined);
                }
            });
            this.shell.addWidget(this.widget, { area: 'left', rank: 600 }).then(() => {
                if (this.widget) {
                    this.shell.revealWidget(this.widget.id);
                }
            }, error => this.messageService.warn(String(error instanceof Error ? error.message : error)));
        }
        this.widget?.set(this.guest ? focused : undefined);
    }

    /** The host's stopped line in every guest editor of that file. */
    protected decorate(): void {
        const frame = this.focused?.state === 'stopped' ? this.focused.frame : undefined;
        const target = frame?.path ? collabUriOfWorkspacePath(frame.path) : undefined;
        for (const widget of this.editorManager.all) {
            const editor = MonacoEditor.get(widget);
            if (!editor) {
                continue;
            }
            const mine = target !== undefined && frame!.line > 0 && new URI(target).isEqual(new URI(editor.uri.toString()));
            const decorations: monaco.editor.IModelDeltaDecoration[] = mine ? [{
                range: new monaco.Range(frame!.line, 1, frame!.line, 1),
                options: { isWholeLine: true, className: 'theia-debug-top-stack-frame-line', glyphMarginClassName: 'codicon-debug-stackframe' }
            }] : [];
            const old = this.decorations.get(editor) ?? [];
            if (old.length === 0 && decorations.length === 0) {
                continue;
            }
            this.decorations.set(editor, editor.getControl().deltaDecorations(old, decorations));
        }
    }

    protected reveal(): void {
        const focused = this.focused;
        const frame = focused?.state === 'stopped' ? focused.frame : undefined;
        if (!focused || !frame?.path || frame.line < 1) {
            this.lastRevealed = '';
            return;
        }
        const key = `${focused.id}:${frame.path}:${frame.line}:${frame.column}`;
        if (key === this.lastRevealed) {
            return;
        }
        this.lastRevealed = key;
        const line = frame.line - 1;
        const character = Math.max(0, frame.column - 1);
        this.editorManager.open(new URI(collabUriOfWorkspacePath(frame.path)), {
            mode: 'reveal', selection: { start: { line, character }, end: { line, character } }
        }).then(() => this.decorate(), error => this.messageService.warn(String(error instanceof Error ? error.message : error)));
    }

    protected async run(action: DebugAction): Promise<void> {
        try {
            await this.guest?.control(action);
        } catch (error) {
            this.messageService.warn(CollaborationError.from(error).message);
        }
    }

    registerKeybindings(keybindings: KeybindingRegistry): void {
        for (const { command, keybinding } of KEYS) {
            keybindings.registerKeybinding({ command: command.id, keybinding, when: '!inDebugMode' });
        }
    }

    registerCommands(commands: CommandRegistry): void {
        commands.registerCommand(CollaborationDebugCommands.FOLLOW, {
            execute: () => {
                this.following = !this.following;
                this.lastRevealed = '';
                if (this.following) {
                    this.reveal();
                }
            },
            isEnabled: () => !!this.guest,
            isVisible: () => !!this.guest,
            isToggled: () => this.following
        });
        for (const { command, action, whenStopped } of ACTIONS) {
            commands.registerCommand(command, {
                execute: () => this.run(action),
                isEnabled: () => !!this.focused && (this.focused.state === 'stopped') === whenStopped,
                isVisible: () => !!this.guest
            });
        }
        commands.registerCommand(CollaborationDebugCommands.ACTIONS, {
            execute: async () => {
                const items = [...ACTIONS.filter(({ command }) => commands.isEnabled(command.id)).map(({ command }) => command), CollaborationDebugCommands.FOLLOW]
                    .map(command => ({ label: command.id === CollaborationDebugCommands.FOLLOW.id && this.following
                        ? nls.localize('collaboration/debug/stopFollowing', 'Stop Following the Host\'s Debug Position') : command.label ?? command.id, id: command.id }));
                const picked = await this.quickInput.showQuickPick(items, { placeholder: this.focused?.name });
                if (picked) {
                    await commands.executeCommand(picked.id);
                }
            },
            isEnabled: () => !!this.focused,
            isVisible: () => !!this.guest
        });
    }
}
