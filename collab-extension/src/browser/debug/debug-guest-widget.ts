import { BaseWidget } from '@theia/core/lib/browser/widgets/widget';
import { codicon } from '@theia/core/lib/browser/widgets/widget';
import { nls } from '@theia/core/lib/common/nls';
import URI from '@theia/core/lib/common/uri';
import { collabUriOfWorkspacePath } from '../../common/collaboration-uri';
import { DebugFrame, DebugSessionInfo } from '../../common/debug/debug-session-protocol';

export const DEBUG_GUEST_WIDGET_ID = 'collaboration-debug-guest';

/**
 * Guest: the host's debug session as the host's debugger shows it — state, call stack (top first) and the top
 * frame's variables. Plain text from the host, never markup. Clicking a frame in a shared file opens it.
 */
export class DebugGuestWidget extends BaseWidget {

    protected info: DebugSessionInfo | undefined;

    constructor(protected readonly openFrame: (frame: DebugFrame) => void) {
        super();
        this.id = DEBUG_GUEST_WIDGET_ID;
        this.title.label = nls.localize('collaboration/debug/widgetTitle', 'Host\'s Debug Session');
        this.title.caption = this.title.label;
        this.title.iconClass = codicon('debug-alt');
        this.title.closable = true;
        this.addClass('collaboration-debug-guest');
        this.node.tabIndex = 0;
        this.node.style.overflow = 'auto';
        this.node.style.padding = '4px 8px';
        this.render();
    }

    set(info: DebugSessionInfo | undefined): void {
        this.info = info;
        this.render();
    }

    protected render(): void {
        const node = this.node;
        node.textContent = '';
        const info = this.info;
        const heading = (text: string) => {
            const element = document.createElement('div');
            element.className = 'collaboration-debug-guest-heading theia-header';
            element.style.marginTop = '8px';
            element.style.fontWeight = 'bold';
            element.textContent = text;
            node.appendChild(element);
        };
        const state = document.createElement('div');
        state.className = 'collaboration-debug-guest-state';
        node.appendChild(state);
        if (!info) {
            state.textContent = nls.localize('collaboration/debug/notDebugging', 'The host is not debugging.');
            return;
        }
        state.textContent = info.state === 'stopped'
            ? `${info.name}: ${nls.localize('collaboration/debug/pausedOn', 'paused on {0}', info.stoppedReason ?? 'a stop')}`
            : `${info.name}: ${info.state}`;
        if (info.state !== 'stopped') {
            return;
        }
        heading(nls.localize('collaboration/debug/callStack', 'Call Stack'));
        const frames = info.stack && info.stack.length > 0 ? info.stack : info.frame ? [info.frame] : [];
        for (const frame of frames) {
            const row = document.createElement('div');
            row.className = 'collaboration-debug-guest-frame';
            row.style.display = 'flex';
            row.style.justifyContent = 'space-between';
            row.style.cursor = frame.path ? 'pointer' : 'default';
            const name = document.createElement('span');
            name.className = 'collaboration-debug-guest-frame-name';
            name.textContent = frame.name;
            const where = document.createElement('span');
            where.className = 'collaboration-debug-guest-frame-location';
            where.style.opacity = '0.7';
            where.textContent = frame.path ? `${new URI(collabUriOfWorkspacePath(frame.path)).path.base}:${frame.line}` : '';
            row.append(name, where);
            if (frame.path) {
                row.onclick = () => this.openFrame(frame);
            }
            node.appendChild(row);
        }
        heading(nls.localize('collaboration/debug/variables', 'Variables'));
        for (const variable of info.variables ?? []) {
            const row = document.createElement('div');
            row.className = 'collaboration-debug-guest-variable';
            row.title = `${variable.scope}${variable.type ? ` · ${variable.type}` : ''}`;
            row.textContent = `${variable.name}: ${variable.value}`;
            node.appendChild(row);
        }
    }
}
