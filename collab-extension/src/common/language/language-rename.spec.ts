/**
 * A guest's rename through the host, over a real coordination server and real clients: the host's (disk) backend
 * computes the edits; read-write guests get them applied, read-only guests are refused before anything is
 * computed, and a rename touching an excluded file changes nothing.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { FileUri } from '@theia/core/lib/common/file-uri';
import { CollaborationError, CollaborationSession } from '@theia-collab/protocol';
import { SessionFixture } from '@theia-collab/test-kit';
import { createTestHostWorkspace, TestHostWorkspace } from './language-test-fixture';
import { HostFileEdits, LanguageHost, LanguageHostBackend } from './language-host';
import { LanguageMessages, RenameParams } from './language-protocol';

async function rejection(promise: Promise<unknown>): Promise<CollaborationError> {
    try {
        await promise;
    } catch (error) {
        return CollaborationError.from(error);
    }
    return assert.fail('expected a rejection');
}

/** Renames every whole-word occurrence of the word at the position in every given file; applies by writing the files. */
class DiskRenameBackend implements Partial<LanguageHostBackend> {
    asked = 0;
    applied: HostFileEdits[][] = [];

    constructor(protected readonly files: () => string[]) { }

    async renameEdits(params: RenameParams, _signal: AbortSignal, uri: string): Promise<{ files: HostFileEdits[]; rejectReason?: string }> {
        this.asked++;
        const line = fs.readFileSync(FileUri.fsPath(uri), 'utf8').split('\n')[params.position.lineNumber - 1] ?? '';
        const word = [...line.matchAll(/\w+/g)].find(match => match.index! < params.position.column && params.position.column <= match.index! + match[0].length + 1)?.[0];
        if (!word) {
            return { files: [], rejectReason: 'You cannot rename this element.' };
        }
        return {
            files: this.files().map(file => ({
                uri: FileUri.create(file).toString(),
                edits: fs.readFileSync(file, 'utf8').split('\n').flatMap((text, index) => [...text.matchAll(new RegExp(`\\b${word}\\b`, 'g'))].map(match => ({
                    range: { startLineNumber: index + 1, startColumn: match.index! + 1, endLineNumber: index + 1, endColumn: match.index! + 1 + word.length },
                    text: params.newName
                })))
            }))
        };
    }

    async applyEdits(files: HostFileEdits[]): Promise<void> {
        this.applied.push(files);
        for (const file of files) {
            const fsPath = FileUri.fsPath(file.uri);
            const lines = fs.readFileSync(fsPath, 'utf8').split('\n');
            for (const edit of [...file.edits].sort((a, b) => b.range.startColumn - a.range.startColumn)) {
                const line = lines[edit.range.startLineNumber - 1];
                lines[edit.range.startLineNumber - 1] = line.slice(0, edit.range.startColumn - 1) + edit.text + line.slice(edit.range.endColumn - 1);
            }
            fs.writeFileSync(fsPath, lines.join('\n'));
        }
    }
}

describe('language: a guest\'s rename through the host', function () {
    this.timeout(30_000);

    let fixture: SessionFixture;
    let workspace: TestHostWorkspace;
    let host: CollaborationSession;
    let reader: CollaborationSession;
    let writer: CollaborationSession;
    let backend: DiskRenameBackend;
    let languageHost: LanguageHost;
    let touched: string[];
    const file = (name: string) => path.join(workspace.root, name);

    before(async () => {
        workspace = createTestHostWorkspace('language-rename-', {
            'math.ts': 'export function addNumbers(a, b) { return a + b; }\n',
            'main.ts': 'import { addNumbers } from \'./math\';\nconst total = addNumbers(1, 2);\n',
            '.env': 'sumNumbers=1\n'
        });
        touched = [file('math.ts'), file('main.ts')];
        backend = new DiskRenameBackend(() => touched);
        fixture = await SessionFixture.start();
        ({ host, guests: [reader, writer] } = await fixture.room({ guests: ['readonly', 'readwrite'] }));
        languageHost = new LanguageHost(host, backend as unknown as LanguageHostBackend, workspace.mapper);
        languageHost.start();
    });

    after(async () => {
        languageHost.dispose();
        await fixture.close();
        workspace.dispose();
    });

    const params = (newName: string): RenameParams => ({ path: 'proj/main.ts', position: { lineNumber: 2, column: 16 }, newName });

    it('a read-only guest is refused and nothing is computed or changed', async () => {
        const error = await rejection(reader.sendRequest(LanguageMessages.Rename, params('sumNumbers')));
        assert.strictEqual(error.code, 'permission-denied');
        assert.match(error.message, /read-only/i);
        assert.strictEqual(backend.asked, 0);
        assert.match(fs.readFileSync(file('math.ts'), 'utf8'), /addNumbers/);
    });

    it('a read-write guest\'s rename is applied to every file', async () => {
        const result = await writer.sendRequest(LanguageMessages.Rename, params('sumNumbers'));
        assert.deepStrictEqual(result, { files: 2, edits: 3 });
        assert.strictEqual(fs.readFileSync(file('math.ts'), 'utf8'), 'export function sumNumbers(a, b) { return a + b; }\n');
        assert.strictEqual(fs.readFileSync(file('main.ts'), 'utf8'), 'import { sumNumbers } from \'./math\';\nconst total = sumNumbers(1, 2);\n');
    });

    it('a rename that would touch an excluded or unshared file changes nothing', async () => {
        touched = [file('math.ts'), file('main.ts'), file('.env')];
        const applied = backend.applied.length;
        const error = await rejection(writer.sendRequest(LanguageMessages.Rename, params('otherName')));
        assert.ok(['not-found', 'forbidden', 'permission-denied'].includes(error.code), error.code);
        touched = [file('math.ts'), path.join(workspace.base, 'outside.ts')];
        fs.writeFileSync(touched[1], 'sumNumbers\n');
        const outside = await rejection(writer.sendRequest(LanguageMessages.Rename, params('otherName')));
        assert.strictEqual(outside.code, 'forbidden');
        assert.strictEqual(backend.applied.length, applied);
        assert.match(fs.readFileSync(file('main.ts'), 'utf8'), /sumNumbers\(1, 2\)/);
        assert.strictEqual(fs.readFileSync(file('.env'), 'utf8'), 'sumNumbers=1\n');
    });

    it('the language server\'s refusal reaches the guest', async () => {
        touched = [file('main.ts')];
        const result = await writer.sendRequest(LanguageMessages.Rename, { ...params('x'), position: { lineNumber: 2, column: 40 } });
        assert.deepStrictEqual(result, { files: 0, edits: 0, rejectReason: 'You cannot rename this element.' });
    });
});
