import { inject, injectable } from '@theia/core/shared/inversify';
import URI from '@theia/core/lib/common/uri';
import { ApplicationShell } from '@theia/core/lib/browser/shell/application-shell';
import { NavigatableWidget, NavigatableWidgetOptions } from '@theia/core/lib/browser/navigatable-types';
import { StatefulWidget } from '@theia/core/lib/browser/shell/shell-layout-restorer';
import { WidgetManager } from '@theia/core/lib/browser/widget-manager';

/**
 * Moves or closes the editors of a shared document whose file was renamed or deleted elsewhere (by the host,
 * or by a guest through the shared file system), the way Theia does for renames made through its own file
 * service: the editor of the new URI takes the old one's place, view state and focus. Nothing is asked about
 * unsaved changes: they live in the shared document, not in the editor that goes.
 */
@injectable()
export class EditorMoves {

    @inject(ApplicationShell)
    protected readonly shell: ApplicationShell;

    @inject(WidgetManager)
    protected readonly widgetManager: WidgetManager;

    /** Replaces every editor of `from` by one of `to`, in place. */
    async moveEditors(from: URI, to: URI): Promise<void> {
        const widgets = [...NavigatableWidget.get(this.shell.widgets, uri => uri.isEqual(from))].map(([, widget]) => widget);
        await Promise.all(widgets.map(widget => this.moveEditor(widget, to)));
    }

    /** Closes every editor of `uri` without asking to save. */
    async closeEditors(uri: URI): Promise<void> {
        const widgets = [...NavigatableWidget.get(this.shell.widgets, candidate => candidate.isEqual(uri))].map(([, widget]) => widget);
        await Promise.all(widgets.map(widget => this.shell.closeWidget(widget.id, { save: false })));
    }

    protected async moveEditor(widget: NavigatableWidget, to: URI): Promise<void> {
        const description = this.widgetManager.getDescription(widget);
        if (!description || !NavigatableWidgetOptions.is(description.options)) {
            await this.shell.closeWidget(widget.id, { save: false });
            return;
        }
        const state = StatefulWidget.is(widget) ? widget.storeState() : undefined;
        const moved = await this.widgetManager.getOrCreateWidget<NavigatableWidget>(description.factoryId, {
            ...description.options,
            uri: to.toString()
        });
        if (moved === widget) {
            return;
        }
        if (state !== undefined && StatefulWidget.is(moved)) {
            moved.restoreState(state);
        }
        if (!moved.isAttached) {
            await this.shell.addWidget(moved, { area: this.shell.getAreaFor(widget) ?? 'main', ref: widget });
        }
        if (this.shell.activeWidget === widget) {
            await this.shell.activateWidget(moved.id);
        } else if (widget.isVisible) {
            await this.shell.revealWidget(moved.id);
        }
        await this.shell.closeWidget(widget.id, { save: false });
    }
}
