/**
 * What the host's Monaco providers return becomes data that passes the guest's validation: no functions,
 * no trusted markdown, no commands that only mean something in the host's window, coordinates in range.
 */
import * as assert from 'assert';
import type * as languages from '@theia/monaco-editor-core/esm/vs/editor/common/languages';
import { CompletionItem, DocumentSymbol, HoverItem, LanguageLimits, SignatureHelp } from '../../common/language/language-protocol';
import { toCompletionItem, toDiagnostic, toDocumentSymbol, toHostLocation, toHoverItem, toSignatureHelp } from './language-monaco-converter';

const range = { startLineNumber: 1, startColumn: 1, endLineNumber: 1, endColumn: 4 };

describe('language results from Monaco to the wire', () => {

    it('completion items keep their data and lose what cannot cross', () => {
        const item = {
            label: { label: 'push', detail: '(item: T)', description: 'Array<T>' },
            kind: 1,
            tags: [1],
            detail: 'method',
            documentation: { value: '[run](command:workbench.action.reloadWindow)', isTrusted: true, supportHtml: true },
            insertText: 'push(${1})',
            insertTextRules: 4,
            range: { insert: range, replace: { ...range, endColumn: 6 } },
            commitCharacters: ['(', ''],
            additionalTextEdits: [{ range, text: 'import x;\n' }],
            command: { id: 'editor.action.triggerParameterHints', title: 'hints' },
            extensionId: { value: 'x' },
            _id: [1, 2]
        } as unknown as languages.CompletionItem;
        const converted = toCompletionItem(item)!;
        assert.deepStrictEqual(CompletionItem.parse(converted), converted);
        assert.deepStrictEqual(converted.documentation, { value: '[run](command:workbench.action.reloadWindow)' }, 'never trusted, no HTML');
        assert.deepStrictEqual(converted.commitCharacters, ['(']);
        assert.deepStrictEqual(converted.command, { id: 'editor.action.triggerParameterHints', title: 'hints' });
        assert.ok(!('extensionId' in converted) && !('_id' in converted));

        const withArguments = toCompletionItem({ ...item, command: { id: 'editor.action.triggerSuggest', title: 't', arguments: [{}] } })!;
        assert.strictEqual(withArguments.command, undefined);
        const hostCommand = toCompletionItem({ ...item, command: { id: 'workbench.action.terminal.sendSequence', title: 't' } })!;
        assert.strictEqual(hostCommand.command, undefined);
        assert.strictEqual(toCompletionItem({ ...item, insertText: 'x'.repeat(LanguageLimits.maxTextLength + 1) }), undefined);
        const odd = toCompletionItem({ ...item, label: 'x'.repeat(10_000), range: { ...range, startColumn: 0, endColumn: Number.NaN }, insertTextRules: 12 } as never)!;
        assert.deepStrictEqual(CompletionItem.parse(odd), odd, 'long labels are cut, bad coordinates clamped');
    });

    it('hovers, locations, signatures, symbols and diagnostics validate', () => {
        const hover = toHoverItem({ contents: [{ value: '**x**', isTrusted: true }, { value: '$(gear)', supportThemeIcons: true }], range });
        assert.deepStrictEqual(HoverItem.parse(hover), { contents: [{ value: '**x**' }, { value: '$(gear)', supportThemeIcons: true }], range });

        const location = toHostLocation({ uri: { toString: () => 'file:///p/a.ts' }, range, targetSelectionRange: range } as never);
        assert.deepStrictEqual(location, { uri: 'file:///p/a.ts', range, targetSelectionRange: range });

        const help = toSignatureHelp({
            signatures: [{ label: 'f(a, b)', documentation: 'doc', parameters: [{ label: [2, 3] }, { label: 'b', documentation: { value: 'the b' } }], activeParameter: -1 }],
            activeSignature: 0, activeParameter: 1
        });
        assert.deepStrictEqual(SignatureHelp.parse(help), help);
        assert.strictEqual(help.signatures[0].activeParameter, undefined);

        let deep: languages.DocumentSymbol = { name: 'leaf', detail: '', kind: 5, tags: [], range, selectionRange: range };
        for (let i = 0; i < 40; i++) {
            deep = { name: `level${i}`, detail: '', kind: 5, tags: [], range, selectionRange: range, children: [deep] };
        }
        const symbol = toDocumentSymbol(deep);
        assert.deepStrictEqual(DocumentSymbol.parse(symbol), symbol);
        let depth = 0;
        for (let current: DocumentSymbol | undefined = symbol; current; current = current.children?.[0]) {
            depth++;
        }
        assert.strictEqual(depth, LanguageLimits.maxSymbolDepth);

        assert.deepStrictEqual(toDiagnostic({
            range: { start: { line: 0, character: 1 }, end: { line: 0, character: 3 } }, message: 'bad', severity: 1, code: 'E1', source: 'ts', tags: [1],
            relatedInformation: [{ location: { uri: 'file:///secret', range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } } }, message: 'x' }],
            data: { fix: 1 }
        }), { range: { start: { line: 0, character: 1 }, end: { line: 0, character: 3 } }, message: 'bad', severity: 1, code: 'E1', source: 'ts', tags: [1] });
    });
});
