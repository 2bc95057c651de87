/**
 * Monaco's language results → what crosses the wire: plain data, bounded, no functions, no trusted
 * markdown, no commands that mean something only in the host's window.
 */
import type * as languages from '@theia/monaco-editor-core/esm/vs/editor/common/languages';
import type { IMarkdownString } from '@theia/monaco-editor-core/esm/vs/base/common/htmlContent';
import type { IRange } from '@theia/monaco-editor-core/esm/vs/editor/common/core/range';
import type { Diagnostic as LspDiagnostic } from '@theia/core/shared/vscode-languageserver-protocol';
import { HostLocation } from '../../common/language/language-host';
import {
    CompletionItem, Diagnostic, DocumentSymbol, HoverItem, LanguageLimits, Markdown, PORTABLE_COMMANDS, Range, SignatureHelp
} from '../../common/language/language-protocol';

const MAX_COORDINATE = 10_000_000;

function int(value: unknown, min: number, max: number): number {
    const number = typeof value === 'number' && Number.isFinite(value) ? Math.trunc(value) : min;
    return Math.min(max, Math.max(min, number));
}

function text(value: unknown, max: number = LanguageLimits.maxTextLength): string {
    const string = typeof value === 'string' ? value : '';
    return string.length > max ? string.substring(0, max) : string;
}

function optionalText(value: unknown, max: number = LanguageLimits.maxLabelLength): string | undefined {
    return typeof value === 'string' ? text(value, max) : undefined;
}

export function toRange(range: IRange): Range {
    return {
        startLineNumber: int(range.startLineNumber, 1, MAX_COORDINATE),
        startColumn: int(range.startColumn, 1, MAX_COORDINATE),
        endLineNumber: int(range.endLineNumber, 1, MAX_COORDINATE),
        endColumn: int(range.endColumn, 1, MAX_COORDINATE)
    };
}

function optionalRange(range: IRange | undefined): Range | undefined {
    return range ? toRange(range) : undefined;
}

export function toMarkdown(value: IMarkdownString | string): Markdown {
    if (typeof value === 'string') {
        return { value: text(value) };
    }
    return value.supportThemeIcons ? { value: text(value.value), supportThemeIcons: true } : { value: text(value.value) };
}

function toDocumentation(value: IMarkdownString | string | undefined): string | Markdown | undefined {
    return value === undefined ? undefined : typeof value === 'string' ? text(value) : toMarkdown(value);
}

export function toHoverItem(hover: languages.Hover): HoverItem {
    return {
        contents: (hover.contents ?? []).slice(0, LanguageLimits.maxMarkdownPerHover).map(toMarkdown),
        ...(hover.range ? { range: toRange(hover.range) } : {})
    };
}

/** Undefined for an item that cannot cross (e.g. its insert text is over the limit). */
export function toCompletionItem(item: languages.CompletionItem): CompletionItem | undefined {
    if (typeof item.insertText !== 'string' || item.insertText.length > LanguageLimits.maxTextLength) {
        return undefined;
    }
    const label = typeof item.label === 'string' ? text(item.label, LanguageLimits.maxLabelLength) : {
        label: text(item.label.label, LanguageLimits.maxLabelLength),
        ...(item.label.detail !== undefined ? { detail: text(item.label.detail, LanguageLimits.maxLabelLength) } : {}),
        ...(item.label.description !== undefined ? { description: text(item.label.description, LanguageLimits.maxLabelLength) } : {})
    };
    const result: CompletionItem = { label, kind: int(item.kind, 0, 100), insertText: item.insertText };
    if (item.tags?.length) {
        result.tags = item.tags.slice(0, 8).map(tag => int(tag, 0, 100));
    }
    const detail = optionalText(item.detail);
    if (detail !== undefined) {
        result.detail = detail;
    }
    const documentation = toDocumentation(item.documentation);
    if (documentation !== undefined) {
        result.documentation = documentation;
    }
    const sortText = optionalText(item.sortText);
    if (sortText !== undefined) {
        result.sortText = sortText;
    }
    const filterText = optionalText(item.filterText);
    if (filterText !== undefined) {
        result.filterText = filterText;
    }
    if (item.preselect) {
        result.preselect = true;
    }
    if (item.insertTextRules) {
        result.insertTextRules = int(item.insertTextRules, 0, 7);
    }
    if (item.range) {
        result.range = 'insert' in item.range
            ? { insert: toRange(item.range.insert), replace: toRange(item.range.replace) }
            : toRange(item.range);
    }
    const commitCharacters = item.commitCharacters?.filter(c => typeof c === 'string' && c.length > 0 && c.length <= 8).slice(0, 32);
    if (commitCharacters?.length) {
        result.commitCharacters = commitCharacters;
    }
    if (item.additionalTextEdits?.length) {
        result.additionalTextEdits = item.additionalTextEdits.slice(0, 1000).map(edit => ({ range: toRange(edit.range), text: text(edit.text ?? '') }));
    }
    if (item.command && PORTABLE_COMMANDS.includes(item.command.id) && !item.command.arguments?.length) {
        result.command = { id: item.command.id, title: text(item.command.title ?? '', LanguageLimits.maxLabelLength) };
    }
    return result;
}

export function toHostLocation(location: languages.Location | languages.LocationLink): HostLocation {
    const link = location as languages.LocationLink;
    const result: HostLocation = { uri: location.uri.toString(), range: toRange(location.range) };
    const targetSelectionRange = optionalRange(link.targetSelectionRange);
    if (targetSelectionRange) {
        result.targetSelectionRange = targetSelectionRange;
    }
    const originSelectionRange = optionalRange(link.originSelectionRange);
    if (originSelectionRange) {
        result.originSelectionRange = originSelectionRange;
    }
    return result;
}

export function toSignatureHelp(help: languages.SignatureHelp): SignatureHelp {
    return {
        signatures: help.signatures.slice(0, LanguageLimits.maxSignatures).map(signature => ({
            label: text(signature.label),
            ...(signature.documentation !== undefined ? { documentation: toDocumentation(signature.documentation) } : {}),
            parameters: (signature.parameters ?? []).slice(0, LanguageLimits.maxParameters).map(parameter => ({
                label: typeof parameter.label === 'string'
                    ? text(parameter.label, LanguageLimits.maxLabelLength)
                    : [int(parameter.label[0], 0, MAX_COORDINATE), int(parameter.label[1], 0, MAX_COORDINATE)] as [number, number],
                ...(parameter.documentation !== undefined ? { documentation: toDocumentation(parameter.documentation) } : {})
            })),
            ...(typeof signature.activeParameter === 'number' && signature.activeParameter >= 0
                ? { activeParameter: int(signature.activeParameter, 0, MAX_COORDINATE) } : {})
        })),
        activeSignature: int(help.activeSignature, 0, MAX_COORDINATE),
        activeParameter: int(help.activeParameter, 0, MAX_COORDINATE)
    };
}

export function toDocumentSymbol(symbol: languages.DocumentSymbol, depth = 1): DocumentSymbol {
    const result: DocumentSymbol = {
        name: text(symbol.name, LanguageLimits.maxLabelLength),
        detail: text(symbol.detail ?? '', LanguageLimits.maxLabelLength),
        kind: int(symbol.kind, 0, 100),
        tags: (symbol.tags ?? []).slice(0, 8).map(tag => int(tag, 0, 100)),
        range: toRange(symbol.range),
        selectionRange: toRange(symbol.selectionRange)
    };
    const containerName = optionalText(symbol.containerName);
    if (containerName !== undefined) {
        result.containerName = containerName;
    }
    if (symbol.children?.length && depth < LanguageLimits.maxSymbolDepth) {
        result.children = symbol.children.slice(0, LanguageLimits.maxSymbols).map(child => toDocumentSymbol(child, depth + 1));
    }
    return result;
}

export function toDiagnostic(diagnostic: LspDiagnostic): Diagnostic {
    const position = (p: { line: number; character: number }) => ({ line: int(p.line, 0, MAX_COORDINATE), character: int(p.character, 0, MAX_COORDINATE) });
    const result: Diagnostic = {
        range: { start: position(diagnostic.range.start), end: position(diagnostic.range.end) },
        message: text(diagnostic.message)
    };
    if (diagnostic.severity !== undefined && [1, 2, 3, 4].includes(diagnostic.severity)) {
        result.severity = diagnostic.severity as 1 | 2 | 3 | 4;
    }
    if (typeof diagnostic.code === 'number' && Number.isInteger(diagnostic.code)) {
        result.code = diagnostic.code;
    } else if (typeof diagnostic.code === 'string') {
        result.code = text(diagnostic.code, LanguageLimits.maxLabelLength);
    }
    const source = optionalText(diagnostic.source);
    if (source !== undefined) {
        result.source = source;
    }
    const tags = diagnostic.tags?.filter((tag): tag is 1 | 2 => tag === 1 || tag === 2).slice(0, 2);
    if (tags?.length) {
        result.tags = tags;
    }
    return result;
}
