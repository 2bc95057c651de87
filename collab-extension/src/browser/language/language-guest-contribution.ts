import { inject, injectable } from '@theia/core/shared/inversify';
import { ILogger } from '@theia/core/lib/common/logger';
import URI from '@theia/core/lib/common/uri';
import { CommandRegistry } from '@theia/core/lib/common/command';
import { MessageService } from '@theia/core/lib/common/message-service';
import { nls } from '@theia/core/lib/common/nls';
import { KeybindingRegistry } from '@theia/core/lib/browser/keybinding';
import { CollaborationError } from '@theia-collab/protocol/lib/errors';
import * as monaco from '@theia/monaco-editor-core';
import { ProblemManager } from '@theia/markers/lib/browser/problem/problem-manager';
import type { Diagnostic as LspDiagnostic } from '@theia/core/shared/vscode-languageserver-protocol';
import { Disposable } from '@theia-collab/protocol/lib/events';
import { MessageDefinition } from '@theia-collab/protocol/lib/messages';
import { CollaborationSession } from '@theia-collab/protocol/lib/session';
import { CollaborationContribution } from '../collaboration-contribution';
import { COLLAB_SCHEME, collabUriOfWorkspacePath, splitWorkspacePath, workspacePathOfCollabUri } from '../../common/collaboration-uri';
import { DiagnosticsGuest } from '../../common/language/language-diagnostics';
import { LanguageGuestClient } from '../../common/language/language-guest';
import {
    CompletionItem, DocumentSymbol, LanguageMessages, Location, Markdown, Range, RenameResult, SignatureHelp
} from '../../common/language/language-protocol';
import { COLLABORATION_MARKER_OWNER } from './language-host-contribution';

/** Characters that ask the host for completions (it filters its providers by them, as Monaco does). */
const COMPLETION_TRIGGER_CHARACTERS = ['.', ':', '<', '"', '\'', '/', '@', '#'];

/** How long a guest waits for the host to rename (the language server may search the whole project). */
const RENAME_TIMEOUT_MS = 30_000;

/** F2 in a read-only guest's editor: says why nothing is renamed. */
export const RENAME_REFUSED_COMMAND = { id: 'collaboration.language.renameRefused' };

/**
 * Guest: the editors of `collab:` documents get hovers, completions, definitions, references, signature
 * help and outlines from the host's language services, and show the host's problems.
 */
@injectable()
export class LanguageGuestContribution implements CollaborationContribution {

    readonly messages: readonly MessageDefinition[] = LanguageMessages.all;

    @inject(ProblemManager)
    protected readonly problemManager: ProblemManager;

    @inject(ILogger)
    protected readonly logger: ILogger;

    @inject(MessageService)
    protected readonly messageService: MessageService;

    @inject(CommandRegistry)
    protected readonly commands: CommandRegistry;

    @inject(KeybindingRegistry)
    protected readonly keybindings: KeybindingRegistry;

    protected readonly consoleLogger = { warn: (...args: unknown[]) => this.logger.warn(...args as [string]) };

    async onSessionStarted(session: CollaborationSession): Promise<Disposable[] | void> {
        if (session.isHost) {
            return;
        }
        const client = new LanguageGuestClient(session, { logger: this.consoleLogger });
        const registrations = [...this.registerProviders(client), this.registerRenameProvider(session)];
        const refusal = this.registerRenameRefusal(session);
        const diagnostics = this.createDiagnostics(session);
        diagnostics.start();
        return [
            Disposable.create(() => registrations.forEach(registration => registration.dispose())),
            refusal,
            diagnostics
        ];
    }

    protected createDiagnostics(session: CollaborationSession): DiagnosticsGuest {
        const shown = new Set<string>();
        return new DiagnosticsGuest(session, {
            set: (path, diagnostics) => {
                const uri = new URI(collabUriOfWorkspacePath(path));
                if (diagnostics.length > 0) {
                    shown.add(path);
                } else {
                    shown.delete(path);
                }
                this.problemManager.setMarkers(uri, COLLABORATION_MARKER_OWNER, diagnostics as LspDiagnostic[]);
            },
            clear: () => {
                for (const path of shown) {
                    this.problemManager.setMarkers(new URI(collabUriOfWorkspacePath(path)), COLLABORATION_MARKER_OWNER, []);
                }
                shown.clear();
            }
        }, { logger: this.consoleLogger });
    }

    /**
     * Rename (F2) in a read-write guest's editor: the host renames with its language server, applies the edits to
     * its files and saves them; they reach the guest's editors as the host's edits. The host refuses read-only guests.
     */
    protected registerRenameProvider(session: CollaborationSession): monaco.IDisposable {
        return monaco.languages.registerRenameProvider({ scheme: COLLAB_SCHEME }, {
            provideRenameEdits: async (model, position, newName) => {
                const params = positionParams(model, position);
                if (!params) {
                    return { edits: [], rejectReason: nls.localize('collaboration/language/renameNotShared', 'This file is not shared by the host.') };
                }
                let result: RenameResult;
                try {
                    result = await session.sendRequest(LanguageMessages.Rename, { ...params, newName }, { timeout: RENAME_TIMEOUT_MS });
                } catch (error) {
                    const problem = CollaborationError.from(error);
                    return { edits: [], rejectReason: nls.localize('collaboration/language/renameRefused', 'Rename refused by the host: {0}', problem.message) };
                }
                if (result.rejectReason) {
                    return { edits: [], rejectReason: result.rejectReason };
                }
                if (result.edits === 0) {
                    return { edits: [], rejectReason: nls.localize('collaboration/language/renameNothing', 'Nothing to rename.') };
                }
                // The host applied (and saved) the edits; they arrive in the shared documents.
                return { edits: [] };
            }
        });
    }

    /** F2 in a read-only editor of a shared file (Monaco's rename is off there): a message instead of nothing. */
    protected registerRenameRefusal(session: CollaborationSession): Disposable {
        const command = this.commands.registerCommand(RENAME_REFUSED_COMMAND, {
            execute: () => this.messageService.warn(session.self.permission === 'readonly'
                ? nls.localize('collaboration/language/renameReadOnly', 'Rename refused: you joined read-only; ask the host for write access.')
                : nls.localize('collaboration/language/renameReadOnlyFile', 'Rename refused: this shared file is read-only.'))
        });
        const keybinding = this.keybindings.registerKeybinding({
            command: RENAME_REFUSED_COMMAND.id,
            keybinding: 'f2',
            when: 'editorTextFocus && editorReadonly && resourceScheme == collab'
        });
        return Disposable.create(() => {
            keybinding.dispose();
            command.dispose();
        });
    }

    protected registerProviders(client: LanguageGuestClient): monaco.IDisposable[] {
        const selector: monaco.languages.LanguageFilter = { scheme: COLLAB_SCHEME };
        const resolvable = new WeakMap<monaco.languages.CompletionItem, { listId: string; index: number }>();
        return [
            monaco.languages.registerHoverProvider(selector, {
                provideHover: async (model, position, token) => {
                    const params = positionParams(model, position);
                    const result = params && await client.request(LanguageMessages.Hover, params, signalOf(token));
                    if (!result || result.hovers.length === 0) {
                        return undefined;
                    }
                    return {
                        contents: result.hovers.flatMap(hover => hover.contents.map(toMarkdown)),
                        range: result.hovers.find(hover => hover.range)?.range
                    };
                }
            }),
            monaco.languages.registerCompletionItemProvider(selector, {
                triggerCharacters: COMPLETION_TRIGGER_CHARACTERS,
                provideCompletionItems: async (model, position, context, token) => {
                    const params = positionParams(model, position);
                    if (!params) {
                        return undefined;
                    }
                    const triggerCharacter = context.triggerCharacter && context.triggerCharacter.length <= 8 ? context.triggerCharacter : undefined;
                    const result = await client.request(LanguageMessages.Completion, {
                        ...params,
                        context: { triggerKind: context.triggerKind as 0 | 1 | 2, ...(triggerCharacter ? { triggerCharacter } : {}) }
                    }, signalOf(token));
                    if (!result || result.items.length === 0) {
                        return undefined;
                    }
                    const word = model.getWordUntilPosition(position);
                    const fallback = new monaco.Range(position.lineNumber, word.startColumn, position.lineNumber, word.endColumn);
                    return {
                        incomplete: result.incomplete,
                        suggestions: result.items.map((item, index) => {
                            const suggestion = toCompletionItem(item, fallback);
                            if (result.listId) {
                                resolvable.set(suggestion, { listId: result.listId, index });
                            }
                            return suggestion;
                        })
                    };
                },
                resolveCompletionItem: async (item, token) => {
                    const ref = resolvable.get(item);
                    const result = ref && await client.request(LanguageMessages.ResolveCompletion, ref, signalOf(token));
                    if (!result?.item) {
                        return item;
                    }
                    const resolved = toCompletionItem(result.item, item.range as monaco.IRange);
                    // Where the item goes was decided when it was listed.
                    return { ...item, ...resolved, range: item.range, insertText: item.insertText };
                }
            }),
            monaco.languages.registerDefinitionProvider(selector, {
                provideDefinition: async (model, position, token) => {
                    const params = positionParams(model, position);
                    const result = params && await client.request(LanguageMessages.Definition, params, signalOf(token));
                    return result?.locations.map(toLocationLink);
                }
            }),
            monaco.languages.registerReferenceProvider(selector, {
                provideReferences: async (model, position, context, token) => {
                    const params = positionParams(model, position);
                    const result = params && await client.request(LanguageMessages.References,
                        { ...params, includeDeclaration: !!context.includeDeclaration }, signalOf(token));
                    return result?.locations.map(location => ({ uri: monaco.Uri.parse(collabUriOfWorkspacePath(location.path)), range: location.range }));
                }
            }),
            monaco.languages.registerSignatureHelpProvider(selector, {
                signatureHelpTriggerCharacters: ['(', ','],
                signatureHelpRetriggerCharacters: [')'],
                provideSignatureHelp: async (model, position, token, context) => {
                    const params = positionParams(model, position);
                    const triggerCharacter = context.triggerCharacter && context.triggerCharacter.length <= 8 ? context.triggerCharacter : undefined;
                    const result = params && await client.request(LanguageMessages.SignatureHelp, {
                        ...params,
                        context: { triggerKind: context.triggerKind as 1 | 2 | 3, isRetrigger: context.isRetrigger, ...(triggerCharacter ? { triggerCharacter } : {}) }
                    }, signalOf(token));
                    return result?.signatureHelp ? { value: toSignatureHelp(result.signatureHelp), dispose: () => { } } : undefined;
                }
            }),
            monaco.languages.registerDocumentSymbolProvider(selector, {
                displayName: 'Collaboration host',
                provideDocumentSymbols: async (model, token) => {
                    const path = pathOf(model);
                    const result = path ? await client.request(LanguageMessages.DocumentSymbols, { path }, signalOf(token)) : undefined;
                    return result?.symbols.map(toDocumentSymbol);
                }
            })
        ];
    }
}

function pathOf(model: monaco.editor.ITextModel): string | undefined {
    const path = workspacePathOfCollabUri({ scheme: model.uri.scheme, path: model.uri.path });
    return path && splitWorkspacePath(path) ? path : undefined;
}

function positionParams(model: monaco.editor.ITextModel, position: monaco.IPosition): { path: string; position: monaco.IPosition; lineText: string } | undefined {
    const path = pathOf(model);
    if (!path) {
        return undefined;
    }
    const lineText = model.getLineContent(position.lineNumber);
    return { path, position: { lineNumber: position.lineNumber, column: position.column }, lineText: lineText.length <= 100_000 ? lineText : '' };
}

function signalOf(token: monaco.CancellationToken): AbortSignal {
    const controller = new AbortController();
    if (token.isCancellationRequested) {
        controller.abort();
    } else {
        token.onCancellationRequested(() => controller.abort());
    }
    return controller.signal;
}

function toMarkdown(markdown: Markdown | string): monaco.IMarkdownString {
    // Never trusted: a host's markdown cannot run commands in the guest's window.
    return typeof markdown === 'string' ? { value: markdown, isTrusted: false }
        : { value: markdown.value, isTrusted: false, supportThemeIcons: markdown.supportThemeIcons, supportHtml: false };
}

function toCompletionItem(item: CompletionItem, fallback: monaco.IRange): monaco.languages.CompletionItem {
    return {
        label: item.label,
        kind: item.kind as monaco.languages.CompletionItemKind,
        tags: item.tags as monaco.languages.CompletionItemTag[] | undefined,
        detail: item.detail,
        documentation: item.documentation === undefined ? undefined : typeof item.documentation === 'string' ? item.documentation : toMarkdown(item.documentation),
        sortText: item.sortText,
        filterText: item.filterText,
        preselect: item.preselect,
        insertText: item.insertText,
        insertTextRules: item.insertTextRules as monaco.languages.CompletionItemInsertTextRule | undefined,
        range: item.range ?? fallback,
        commitCharacters: item.commitCharacters,
        additionalTextEdits: item.additionalTextEdits,
        command: item.command
    };
}

function toLocationLink(location: Location): monaco.languages.LocationLink {
    return {
        uri: monaco.Uri.parse(collabUriOfWorkspacePath(location.path)),
        range: location.range,
        targetSelectionRange: location.targetSelectionRange,
        originSelectionRange: location.originSelectionRange
    };
}

function toSignatureHelp(help: SignatureHelp): monaco.languages.SignatureHelp {
    return {
        activeSignature: help.activeSignature,
        activeParameter: help.activeParameter,
        signatures: help.signatures.map(signature => ({
            label: signature.label,
            documentation: signature.documentation === undefined || typeof signature.documentation === 'string' ? signature.documentation : toMarkdown(signature.documentation),
            activeParameter: signature.activeParameter,
            parameters: signature.parameters.map(parameter => ({
                label: parameter.label,
                documentation: parameter.documentation === undefined || typeof parameter.documentation === 'string'
                    ? parameter.documentation : toMarkdown(parameter.documentation)
            }))
        }))
    };
}

function toDocumentSymbol(symbol: DocumentSymbol): monaco.languages.DocumentSymbol {
    return {
        name: symbol.name,
        detail: symbol.detail,
        kind: symbol.kind as monaco.languages.SymbolKind,
        tags: symbol.tags as monaco.languages.SymbolTag[],
        containerName: symbol.containerName,
        range: symbol.range as Range,
        selectionRange: symbol.selectionRange,
        children: symbol.children?.map(toDocumentSymbol)
    };
}
