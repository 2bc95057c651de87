/**
 * The host's language services for guests: what a guest may ask about a shared document, and the
 * diagnostics the host announces. Positions and ranges are Monaco's (1-based lines and columns);
 * diagnostics are LSP diagnostics (0-based), as Theia's problem manager keeps them. Files are workspace
 * paths (`<root>/<relative>`), never host URIs. Every payload is validated on arrival.
 */
import { z } from 'zod';
import { Broadcast, Notification, Request } from '@theia-collab/protocol/lib/messages';
import { splitWorkspacePath } from '../collaboration-uri';

export const LanguageLimits = {
    /** How long a guest waits for the host's answer. */
    requestTimeoutMs: 3000,
    /** How long the host waits for its copy of the document to catch up with the guest's line. */
    syncWaitMs: 750,
    /** Requests one guest may have running on the host at a time. */
    maxPendingPerPeer: 32,
    /** Completion lists kept per guest for `resolve`. */
    completionListsPerPeer: 4,
    maxCompletionItems: 5000,
    maxLocations: 2000,
    maxHovers: 32,
    maxMarkdownPerHover: 32,
    maxSignatures: 64,
    maxParameters: 64,
    maxSymbols: 10_000,
    maxSymbolDepth: 16,
    maxTextLength: 100_000,
    maxLabelLength: 4096,
    maxLineLength: 100_000,
    /** Characters of serialised JSON a result may take (the envelope limit is 1 MiB, sealed). */
    resultBudget: 700_000,
    maxMarkersPerFile: 1000,
    maxFilesPerDiagnostics: 200,
    maxPathLength: 4096,
    /** Diagnostics changes are collected this long before they are announced. */
    diagnosticsDebounceMs: 250
} as const;

const Int = z.number().int();
const Line = Int.min(1).max(10_000_000);
const Column = Int.min(1).max(10_000_000);
const Text = z.string().max(LanguageLimits.maxTextLength);
const Label = z.string().max(LanguageLimits.maxLabelLength);

export const WorkspacePath = z.string().min(1).max(LanguageLimits.maxPathLength)
    .refine(path => splitWorkspacePath(path) !== undefined, { message: 'invalid workspace path' });

export const Position = z.object({ lineNumber: Line, column: Column }).strict();
export type Position = z.infer<typeof Position>;

export const Range = z.object({ startLineNumber: Line, startColumn: Column, endLineNumber: Line, endColumn: Column }).strict();
export type Range = z.infer<typeof Range>;

/** Markdown that crosses: never trusted on the guest (no command links), no HTML. */
export const Markdown = z.object({ value: Text, supportThemeIcons: z.boolean().optional() }).strict();
export type Markdown = z.infer<typeof Markdown>;

const Documentation = z.union([Text, Markdown]);
/** Identifies one request so the guest can cancel it. */
const RequestId = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/);

export const DocumentParams = z.object({ path: WorkspacePath, requestId: RequestId.optional() }).strict();
export type DocumentParams = z.infer<typeof DocumentParams>;

export const PositionParams = DocumentParams.extend({
    position: Position,
    /** The guest's text of the position's line: the host waits (briefly) until its copy has the same. */
    lineText: z.string().max(LanguageLimits.maxLineLength).optional()
}).strict();
export type PositionParams = z.infer<typeof PositionParams>;

// ---- hover ----

export const HoverItem = z.object({
    contents: z.array(Markdown).max(LanguageLimits.maxMarkdownPerHover),
    range: Range.optional()
}).strict();
export type HoverItem = z.infer<typeof HoverItem>;
export const HoverResult = z.object({ hovers: z.array(HoverItem).max(LanguageLimits.maxHovers) }).strict();
export type HoverResult = z.infer<typeof HoverResult>;

// ---- completion ----

/** Monaco's CompletionTriggerKind: Invoke, TriggerCharacter, TriggerForIncompleteCompletions. */
export const CompletionContext = z.object({
    triggerKind: z.union([z.literal(0), z.literal(1), z.literal(2)]),
    triggerCharacter: z.string().min(1).max(8).optional()
}).strict();
export type CompletionContext = z.infer<typeof CompletionContext>;

export const CompletionParams = PositionParams.extend({ context: CompletionContext }).strict();
export type CompletionParams = z.infer<typeof CompletionParams>;

export const TextEdit = z.object({ range: Range, text: Text }).strict();
export type TextEdit = z.infer<typeof TextEdit>;

/** Commands that carry no arguments and mean the same in every window. */
export const PORTABLE_COMMANDS: readonly string[] = ['editor.action.triggerSuggest', 'editor.action.triggerParameterHints'];

export const CompletionItem = z.object({
    label: z.union([Label, z.object({ label: Label, detail: Label.optional(), description: Label.optional() }).strict()]),
    kind: Int.min(0).max(100),
    tags: z.array(Int.min(0).max(100)).max(8).optional(),
    detail: Label.optional(),
    documentation: Documentation.optional(),
    sortText: Label.optional(),
    filterText: Label.optional(),
    preselect: z.boolean().optional(),
    insertText: Text,
    /** Monaco's CompletionItemInsertTextRule bits (KeepWhitespace 1, InsertAsSnippet 4). */
    insertTextRules: Int.min(0).max(7).optional(),
    range: z.union([Range, z.object({ insert: Range, replace: Range }).strict()]).optional(),
    commitCharacters: z.array(z.string().min(1).max(8)).max(32).optional(),
    additionalTextEdits: z.array(TextEdit).max(1000).optional(),
    command: z.object({ id: z.enum(PORTABLE_COMMANDS as [string, ...string[]]), title: Label }).strict().optional()
}).strict();
export type CompletionItem = z.infer<typeof CompletionItem>;

export const CompletionResult = z.object({
    /** Names the list on the host, for `resolve`; absent when nothing can be resolved. */
    listId: RequestId.optional(),
    incomplete: z.boolean(),
    items: z.array(CompletionItem).max(LanguageLimits.maxCompletionItems)
}).strict();
export type CompletionResult = z.infer<typeof CompletionResult>;

export const ResolveCompletionParams = z.object({
    listId: RequestId,
    index: Int.min(0).max(LanguageLimits.maxCompletionItems),
    requestId: RequestId.optional()
}).strict();
export type ResolveCompletionParams = z.infer<typeof ResolveCompletionParams>;
export const ResolveCompletionResult = z.object({ item: CompletionItem.optional() }).strict();
export type ResolveCompletionResult = z.infer<typeof ResolveCompletionResult>;

// ---- definition, references ----

export const Location = z.object({
    path: WorkspacePath,
    range: Range,
    targetSelectionRange: Range.optional(),
    originSelectionRange: Range.optional()
}).strict();
export type Location = z.infer<typeof Location>;
export const LocationsResult = z.object({ locations: z.array(Location).max(LanguageLimits.maxLocations) }).strict();
export type LocationsResult = z.infer<typeof LocationsResult>;

export const ReferencesParams = PositionParams.extend({ includeDeclaration: z.boolean() }).strict();
export type ReferencesParams = z.infer<typeof ReferencesParams>;

// ---- signature help ----

export const SignatureHelpContext = z.object({
    /** Monaco's SignatureHelpTriggerKind: Invoke 1, TriggerCharacter 2, ContentChange 3. */
    triggerKind: z.union([z.literal(1), z.literal(2), z.literal(3)]),
    triggerCharacter: z.string().min(1).max(8).optional(),
    isRetrigger: z.boolean()
}).strict();
export type SignatureHelpContext = z.infer<typeof SignatureHelpContext>;
export const SignatureHelpParams = PositionParams.extend({ context: SignatureHelpContext }).strict();
export type SignatureHelpParams = z.infer<typeof SignatureHelpParams>;

export const SignatureHelp = z.object({
    signatures: z.array(z.object({
        label: Text,
        documentation: Documentation.optional(),
        parameters: z.array(z.object({
            label: z.union([Label, z.tuple([Int.min(0), Int.min(0)])]),
            documentation: Documentation.optional()
        }).strict()).max(LanguageLimits.maxParameters),
        activeParameter: Int.min(0).optional()
    }).strict()).max(LanguageLimits.maxSignatures),
    activeSignature: Int.min(0),
    activeParameter: Int.min(0)
}).strict();
export type SignatureHelp = z.infer<typeof SignatureHelp>;
export const SignatureHelpResult = z.object({ signatureHelp: SignatureHelp.optional() }).strict();
export type SignatureHelpResult = z.infer<typeof SignatureHelpResult>;

// ---- document symbols ----

export interface DocumentSymbol {
    name: string;
    detail: string;
    kind: number;
    tags: number[];
    containerName?: string;
    range: Range;
    selectionRange: Range;
    children?: DocumentSymbol[];
}
export const DocumentSymbol: z.ZodType<DocumentSymbol> = z.lazy(() => z.object({
    name: Label,
    detail: Label,
    kind: Int.min(0).max(100),
    tags: z.array(Int.min(0).max(100)).max(8),
    containerName: Label.optional(),
    range: Range,
    selectionRange: Range,
    children: z.array(DocumentSymbol).max(LanguageLimits.maxSymbols).optional()
}).strict());
export const DocumentSymbolsResult = z.object({ symbols: z.array(DocumentSymbol).max(LanguageLimits.maxSymbols) }).strict();
export type DocumentSymbolsResult = z.infer<typeof DocumentSymbolsResult>;

// ---- diagnostics ----

const LspPosition = z.object({ line: Int.min(0).max(10_000_000), character: Int.min(0).max(10_000_000) }).strict();
/** An LSP diagnostic (what Theia's ProblemManager keeps), minus what cannot cross (related URIs, data). */
export const Diagnostic = z.object({
    range: z.object({ start: LspPosition, end: LspPosition }).strict(),
    message: Text,
    severity: z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)]).optional(),
    code: z.union([Label, Int]).optional(),
    source: Label.optional(),
    tags: z.array(z.union([z.literal(1), z.literal(2)])).max(2).optional()
}).strict();
export type Diagnostic = z.infer<typeof Diagnostic>;

export const FileDiagnostics = z.object({
    path: WorkspacePath,
    /** Empty: the file has no diagnostics (any more). */
    diagnostics: z.array(Diagnostic).max(LanguageLimits.maxMarkersPerFile)
}).strict();
export type FileDiagnostics = z.infer<typeof FileDiagnostics>;
export const DiagnosticsParams = z.object({ files: z.array(FileDiagnostics).max(LanguageLimits.maxFilesPerDiagnostics) }).strict();
export type DiagnosticsParams = z.infer<typeof DiagnosticsParams>;

export const AllDiagnosticsParams = z.object({ cursor: Int.min(0).max(Number.MAX_SAFE_INTEGER).optional() }).strict();
export type AllDiagnosticsParams = z.infer<typeof AllDiagnosticsParams>;
export const AllDiagnosticsResult = DiagnosticsParams.extend({ next: Int.min(0).optional() }).strict();
export type AllDiagnosticsResult = z.infer<typeof AllDiagnosticsResult>;

// ---- rename (read-write guests only; the host applies the edits to its own files) ----

export const RenameParams = PositionParams.extend({
    newName: z.string().min(1).max(LanguageLimits.maxLabelLength).refine(name => name.trim().length > 0, { message: 'empty name' })
}).strict();
export type RenameParams = z.infer<typeof RenameParams>;
export const RenameResult = z.object({
    /** Files and text edits the host applied (and saved). */
    files: Int.min(0).max(10_000),
    edits: Int.min(0).max(1_000_000),
    /** Why nothing was renamed (the language server's reason). */
    rejectReason: Label.optional()
}).strict();
export type RenameResult = z.infer<typeof RenameResult>;

export const CancelParams = z.object({ requestId: RequestId }).strict();
export type CancelParams = z.infer<typeof CancelParams>;

export namespace LanguageMessages {
    export const Hover = Request.define<PositionParams, HoverResult>('language/hover', { params: PositionParams, result: HoverResult });
    export const Completion = Request.define<CompletionParams, CompletionResult>('language/completion',
        { params: CompletionParams, result: CompletionResult });
    export const ResolveCompletion = Request.define<ResolveCompletionParams, ResolveCompletionResult>('language/completion/resolve',
        { params: ResolveCompletionParams, result: ResolveCompletionResult });
    export const Definition = Request.define<PositionParams, LocationsResult>('language/definition', { params: PositionParams, result: LocationsResult });
    export const References = Request.define<ReferencesParams, LocationsResult>('language/references', { params: ReferencesParams, result: LocationsResult });
    export const SignatureHelp = Request.define<SignatureHelpParams, SignatureHelpResult>('language/signatureHelp',
        { params: SignatureHelpParams, result: SignatureHelpResult });
    export const DocumentSymbols = Request.define<DocumentParams, DocumentSymbolsResult>('language/documentSymbols',
        { params: DocumentParams, result: DocumentSymbolsResult });
    /** Guest → host (read-write guests only): rename the symbol at a position; the host applies and saves the edits. */
    export const Rename = Request.define<RenameParams, RenameResult>('language/rename', { params: RenameParams, result: RenameResult });
    /** Guest → host: stop working on a request (its answer is no longer wanted). */
    export const Cancel = Notification.define<CancelParams>('language/cancel', { params: CancelParams });
    /** Guest → host: every shared file's diagnostics, a page at a time. */
    export const AllDiagnostics = Request.define<AllDiagnosticsParams, AllDiagnosticsResult>('language/diagnostics/all',
        { params: AllDiagnosticsParams, result: AllDiagnosticsResult });
    /** Host → guests: the diagnostics of these files changed. */
    export const DidChangeDiagnostics = Broadcast.define<DiagnosticsParams>('language/diagnostics/didChange', { params: DiagnosticsParams });

    export const all = [Hover, Completion, ResolveCompletion, Definition, References, SignatureHelp, DocumentSymbols, Rename, Cancel,
        AllDiagnostics, DidChangeDiagnostics] as const;
}
