import '../../../src/browser/editor/style/editor.css';

import { interfaces } from '@theia/core/shared/inversify';
import { ResourceResolver } from '@theia/core/lib/common/resource';
import { FrontendApplicationContribution } from '@theia/core/lib/browser/frontend-application-contribution';
import { CollaborationContribution } from '../collaboration-contribution';
import { EditorCollaborationService } from './editor-collaboration-service';
import { EditorHostSourceFactory } from './editor-host-source';
import { EditorMoves } from './editor-moves';
import { EditorPathService } from './editor-path-service';
import { EditorPresenceTracker } from './editor-presence-tracker';
import { EditorRemoteCursors } from './editor-remote-cursors';
import { CollabEditorResourceResolver } from './editor-resource';

/** Co-editing: shared documents bound to Monaco, remote cursors and selections (follow mode: `follow/follow-bindings`). */
export function bindCollaborationEditor(bind: interfaces.Bind): void {
    bind(EditorPathService).toSelf().inSingletonScope();
    bind(EditorHostSourceFactory).toSelf().inSingletonScope();
    bind(EditorMoves).toSelf().inSingletonScope();
    bind(EditorCollaborationService).toSelf().inSingletonScope();
    bind(CollaborationContribution).toService(EditorCollaborationService);

    bind(CollabEditorResourceResolver).toSelf().inSingletonScope();
    bind(ResourceResolver).toService(CollabEditorResourceResolver);

    bind(EditorPresenceTracker).toSelf().inSingletonScope();
    bind(FrontendApplicationContribution).toService(EditorPresenceTracker);
    bind(EditorRemoteCursors).toSelf().inSingletonScope();
    bind(FrontendApplicationContribution).toService(EditorRemoteCursors);
}
