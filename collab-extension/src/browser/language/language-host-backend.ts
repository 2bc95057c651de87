import URI from '@theia/core/lib/common/uri';
import { IReference } from '@theia/monaco-editor-core/esm/vs/base/common/lifecycle';
import { CancellationToken, CancellationTokenSource } from '@theia/monaco-editor-core/esm/vs/base/common/cancellation';
import { Position as MonacoPosition } from '@theia/monaco-editor-core/esm/vs/editor/common/core/position';
import type * as languages from '@theia/monaco-editor-core/esm/vs/editor/common/languages';
import type { ITextModel } from '@theia/monaco-editor-core/esm/vs/editor/common/model';
import { ILanguageFeaturesService } from '@theia/monaco-editor-core/esm/vs/editor/common/services/languageFeatures';
import { StandaloneServices } from '@theia/monaco-editor-core/esm/vs/editor/standalone/browser/standaloneServices';
import { prepareRename, rawRename } from '@theia/monaco-editor-core/esm/vs/editor/contrib/rename/browser/rename';
import { Range as MonacoRange } from '@theia/monaco-editor-core/esm/vs/editor/common/core/range';
import { getHoversPromise } from '@theia/monaco-editor-core/esm/vs/editor/contrib/hover/browser/getHover';
import { getDefinitionsAtPosition } from '@theia/monaco-editor-core/esm/vs/editor/contrib/gotoSymbol/browser/goToSymbol';
import { provideSignatureHelp } from '@theia/monaco-editor-core/esm/vs/editor/contrib/parameterHints/browser/provideSignatureHelp';
import {
    CompletionItem as SuggestItem, CompletionOptions, provideSuggestionItems
} from '@theia/monaco-editor-core/esm/vs/editor/contrib/suggest/browser/suggest';
import { MonacoEditorModel } from '@theia/monaco/lib/browser/monaco-editor-model';
import { MonacoTextModelService } from '@theia/monaco/lib/browser/monaco-text-model-service';
import { Disposable } from '@theia-collab/protocol/lib/events';
import { CollaborationError } from '@theia-collab/protocol/lib/errors';
import { HostCompletionList, HostFileEdits, HostLocation, LanguageHostBackend, MAX_RENAME_FILES } from '../../common/language/language-host';
import { HostPathMapper } from '../../common/fs/host-path-mapper';
import {
    CompletionItem, CompletionParams, DocumentParams, DocumentSymbol, HoverItem, LanguageLimits, PositionParams, ReferencesParams, RenameParams,
    SignatureHelp, SignatureHelpParams
} from '../../common/language/language-protocol';
import { toCompletionItem, toDocumentSymbol, toHostLocation, toHoverItem, toSignatureHelp } from './language-monaco-converter';

/** How long an unused model reference is kept (the next question is likely about the same file). */
const MODEL_IDLE_MS = 60_000;
const MAX_CACHED_MODELS = 16;

/**
 * Keeps references to the host's Monaco models of shared files while guests ask about them. The models are
 * the ones the host's editors (and the co-editing binding) use, so they hold the shared document's text.
 */
export class HostModelCache implements Disposable {

    protected readonly entries = new Map<string, { reference: Promise<IReference<MonacoEditorModel>>; timer?: ReturnType<typeof setTimeout>; users: number }>();
    protected disposed = false;

    constructor(protected readonly textModelService: MonacoTextModelService) { }

    async use<T>(uri: string, run: (model: ITextModel, editorModel: MonacoEditorModel) => Promise<T>): Promise<T> {
        if (this.disposed) {
            throw new CollaborationError('room-closed', 'The session has ended.');
        }
        let entry = this.entries.get(uri);
        if (!entry) {
            const reference = this.textModelService.createModelReference(new URI(uri)) as unknown as Promise<IReference<MonacoEditorModel>>;
            entry = { reference, users: 0 };
            this.entries.set(uri, entry);
            reference.catch(() => {
                if (this.entries.get(uri) === entry) {
                    this.entries.delete(uri);
                }
            });
            this.evict();
        }
        clearTimeout(entry.timer);
        entry.users++;
        try {
            const { object } = await entry.reference;
            if (object.isDisposed()) {
                throw new CollaborationError('not-found', 'The document was closed.');
            }
            return await run(object.textEditorModel as unknown as ITextModel, object);
        } finally {
            entry.users--;
            if (entry.users === 0 && this.entries.get(uri) === entry) {
                entry.timer = setTimeout(() => this.release(uri), MODEL_IDLE_MS);
            }
        }
    }

    /** Whether the host's model of `uri` is loaded (an editor or the co-editing binding holds it): using it reads no file. */
    isLoaded(uri: string): boolean {
        const model = this.textModelService.get(new URI(uri).toString());
        return !!model && !model.isDisposed();
    }

    protected evict(): void {
        for (const [uri, entry] of this.entries) {
            if (this.entries.size <= MAX_CACHED_MODELS) {
                break;
            }
            if (entry.users === 0) {
                this.release(uri);
            }
        }
    }

    protected release(uri: string): void {
        const entry = this.entries.get(uri);
        if (entry && entry.users === 0) {
            clearTimeout(entry.timer);
            this.entries.delete(uri);
            entry.reference.then(reference => reference.dispose(), () => undefined);
        }
    }

    dispose(): void {
        this.disposed = true;
        for (const [uri, entry] of [...this.entries]) {
            clearTimeout(entry.timer);
            this.entries.delete(uri);
            entry.reference.then(reference => reference.dispose(), () => undefined);
        }
    }
}

/** Runs the providers registered in the host's Monaco, as its own editors would, on its model of the shared file. */
export class MonacoLanguageHostBackend implements LanguageHostBackend {

    constructor(protected readonly models: HostModelCache, protected readonly paths: HostPathMapper) { }

    isLoaded(uri: string): boolean {
        return uri.startsWith('file:') && this.models.isLoaded(uri);
    }

    protected get features(): ILanguageFeaturesService {
        return StandaloneServices.get(ILanguageFeaturesService);
    }

    /**
     * Runs `run` on the host's model of `uri`: the file the guest's path resolved to on the host's backend
     * (`LanguageHost` resolves it right before), never a URI derived from the guest's path again.
     */
    protected async withModel<T>(params: DocumentParams, signal: AbortSignal, uri: string,
        run: (model: ITextModel, token: CancellationToken) => Promise<T>): Promise<T> {
        if (!uri || !uri.startsWith('file:')) {
            throw new CollaborationError('not-found', `'${params.path}' is not shared.`);
        }
        return this.models.use(uri, async model => {
            const source = new CancellationTokenSource();
            const onAbort = () => source.cancel();
            signal.addEventListener('abort', onAbort, { once: true });
            try {
                return await run(model, source.token);
            } finally {
                signal.removeEventListener('abort', onAbort);
                source.dispose();
            }
        });
    }

    /** Waits (briefly) until the host's copy of the line equals the guest's, then the position in the host's model. */
    protected async position(model: ITextModel, params: PositionParams, signal: AbortSignal): Promise<MonacoPosition> {
        const { lineNumber, column } = params.position;
        const lineText = params.lineText;
        const matches = () => lineNumber <= model.getLineCount() && model.getLineContent(lineNumber) === lineText;
        if (lineText !== undefined && !matches()) {
            await new Promise<void>(resolve => {
                const done = () => {
                    clearTimeout(timer);
                    listener.dispose();
                    signal.removeEventListener('abort', done);
                    resolve();
                };
                const timer = setTimeout(done, LanguageLimits.syncWaitMs);
                const listener = model.onDidChangeContent(() => matches() && done());
                signal.addEventListener('abort', done, { once: true });
            });
        }
        return MonacoPosition.lift(model.validatePosition({ lineNumber, column }));
    }

    hover(params: PositionParams, signal: AbortSignal, uri: string): Promise<HoverItem[]> {
        return this.withModel(params, signal, uri, async (model, token) => {
            const position = await this.position(model, params, signal);
            const hovers = await getHoversPromise(this.features.hoverProvider, model, position, token);
            return hovers.map(toHoverItem).filter(hover => hover.contents.length > 0);
        });
    }

    completion(params: CompletionParams, signal: AbortSignal, uri: string): Promise<HostCompletionList | undefined> {
        return this.withModel(params, signal, uri, async (model, token) => {
            const position = await this.position(model, params, signal);
            const registry = this.features.completionProvider;
            let providers = registry.all(model);
            if (params.context.triggerKind === 1 && params.context.triggerCharacter) {
                // As Monaco's suggest model does: a trigger character asks only the providers that declared it.
                const character = params.context.triggerCharacter;
                providers = providers.filter(provider => provider.triggerCharacters?.includes(character));
            }
            if (providers.length === 0) {
                return undefined;
            }
            // Every registered provider, but not the host's snippets: the guest's editor adds its own.
            const options = new CompletionOptions(undefined, undefined, new Set(providers));
            const context: languages.CompletionContext = {
                triggerKind: params.context.triggerKind as languages.CompletionTriggerKind,
                triggerCharacter: params.context.triggerCharacter
            };
            const result = await provideSuggestionItems(registry, model, position, options, context, token);
            const kept: { suggest: SuggestItem; item: CompletionItem }[] = [];
            for (const suggest of result.items) {
                const item = toCompletionItem(suggest.completion);
                if (item) {
                    kept.push({ suggest, item });
                }
            }
            const incomplete = result.items.some(suggest => suggest.container.incomplete);
            return {
                incomplete,
                items: kept.map(({ item }) => item),
                resolve: async (index, resolveSignal) => {
                    const entry = kept[index];
                    if (!entry || typeof entry.suggest.provider.resolveCompletionItem !== 'function') {
                        return undefined;
                    }
                    const source = new CancellationTokenSource();
                    const onAbort = () => source.cancel();
                    resolveSignal.addEventListener('abort', onAbort, { once: true });
                    try {
                        await entry.suggest.resolve(source.token);
                        return toCompletionItem(entry.suggest.completion);
                    } finally {
                        resolveSignal.removeEventListener('abort', onAbort);
                        source.dispose();
                    }
                },
                dispose: () => result.disposable.dispose()
            };
        });
    }

    definition(params: PositionParams, signal: AbortSignal, uri: string): Promise<HostLocation[]> {
        return this.withModel(params, signal, uri, async (model, token) => {
            const position = await this.position(model, params, signal);
            const links = await getDefinitionsAtPosition(this.features.definitionProvider, model, position, false, token);
            return links.map(toHostLocation);
        });
    }

    references(params: ReferencesParams, signal: AbortSignal, uri: string): Promise<HostLocation[]> {
        return this.withModel(params, signal, uri, async (model, token) => {
            const position = await this.position(model, params, signal);
            const results = await Promise.all(this.features.referenceProvider.ordered(model).map(async provider => {
                try {
                    return await provider.provideReferences(model, position, { includeDeclaration: params.includeDeclaration }, token) ?? [];
                } catch {
                    return [];
                }
            }));
            return results.flat().slice(0, LanguageLimits.maxLocations).map(toHostLocation);
        });
    }

    signatureHelp(params: SignatureHelpParams, signal: AbortSignal, uri: string): Promise<SignatureHelp | undefined> {
        return this.withModel(params, signal, uri, async (model, token) => {
            const position = await this.position(model, params, signal);
            const context: languages.SignatureHelpContext = {
                triggerKind: params.context.triggerKind as languages.SignatureHelpTriggerKind,
                triggerCharacter: params.context.triggerCharacter,
                isRetrigger: params.context.isRetrigger
            };
            const result = await provideSignatureHelp(this.features.signatureHelpProvider, model, position, context, token);
            try {
                return result?.value ? toSignatureHelp(result.value) : undefined;
            } finally {
                result?.dispose();
            }
        });
    }

    documentSymbols(params: DocumentParams, signal: AbortSignal, uri: string): Promise<DocumentSymbol[]> {
        return this.withModel(params, signal, uri, async (model, token) => {
            const results = await Promise.all(this.features.documentSymbolProvider.ordered(model).map(async provider => {
                try {
                    return await provider.provideDocumentSymbols(model, token) ?? [];
                } catch {
                    return [];
                }
            }));
            return results.flat().slice(0, LanguageLimits.maxSymbols).map(symbol => toDocumentSymbol(symbol));
        });
    }

    renameEdits(params: RenameParams, signal: AbortSignal, uri: string): Promise<{ files: HostFileEdits[]; rejectReason?: string }> {
        return this.withModel(params, signal, uri, async (model, token) => {
            const position = await this.position(model, params, signal);
            const registry = this.features.renameProvider;
            if (registry.ordered(model).length === 0) {
                return { files: [], rejectReason: 'No rename provider for this file on the host.' };
            }
            const location = await prepareRename(registry, model, position, token);
            if (location?.rejectReason) {
                return { files: [], rejectReason: location.rejectReason };
            }
            const result = await rawRename(registry, model, position, params.newName, token);
            if (result.rejectReason) {
                return { files: [], rejectReason: result.rejectReason };
            }
            const byUri = new Map<string, HostFileEdits>();
            for (const edit of result.edits) {
                if (!('textEdit' in edit)) {
                    return { files: [], rejectReason: 'The rename would create, move or delete files: not done for guests.' };
                }
                const key = edit.resource.toString();
                let file = byUri.get(key);
                if (!file) {
                    if (byUri.size >= MAX_RENAME_FILES) {
                        return { files: [], rejectReason: 'The rename would change too many files.' };
                    }
                    file = { uri: key, edits: [] };
                    byUri.set(key, file);
                }
                const { startLineNumber, startColumn, endLineNumber, endColumn } = edit.textEdit.range;
                file.edits.push({ range: { startLineNumber, startColumn, endLineNumber, endColumn }, text: edit.textEdit.text });
            }
            return { files: [...byUri.values()] };
        });
    }

    async applyEdits(files: HostFileEdits[]): Promise<void> {
        for (const file of files) {
            await this.models.use(file.uri, async (model, editorModel) => {
                const operations = file.edits.map(edit => ({ range: MonacoRange.lift(edit.range), text: edit.text, forceMoveMarkers: true }));
                model.pushStackElement();
                model.pushEditOperations([], operations, () => null);
                model.pushStackElement();
                await editorModel.save();
            });
        }
    }
}
