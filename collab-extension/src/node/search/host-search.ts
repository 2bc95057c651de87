/**
 * Searches the host's shared roots for guests with ripgrep. ripgrep never follows links (no `--follow`) and is
 * told the host's exclusions, but what it reports is only a candidate: every file is checked by the shared file
 * system's path resolver (real path inside the root, not excluded as seen from any root, a regular file) before
 * a guest hears of it. Replacements go through the shared file system's guarded read and write requests.
 */
import * as cp from 'child_process';
import * as fuzzy from '@theia/core/shared/fuzzy';
import { CollaborationError } from '@theia-collab/protocol/lib/errors';
import { FsErrorCodes, FsLimits, FsStat, ReadFileResult } from '../../common/fs/fs-messages';
import { FsCaller, FsResult } from '../../common/fs/host-file-system-protocol';
import {
    FileMatches, FileSearchParams, FileSearchResult, ReplaceParams, ReplaceResult, SearchErrorCodes, SearchLimits, TextMatch, TextSearchParams
} from '../../common/search/search-messages';
import { TextSearchBatch } from '../../common/search/host-search-protocol';
import { HostFileSystem, HostFileSystemOptions } from '../fs/host-file-system';
import { ripgrepPath } from './ripgrep-path';

/** Raw lines a search keeps before it pauses ripgrep's output. */
const MAX_QUEUED_LINES = 2000;
/** Longest output line of ripgrep looked at (a longer one is skipped). */
const MAX_OUTPUT_LINE = 4 * 1024 * 1024;
/** File-name candidates looked at per search, beyond which ripgrep is stopped. */
const MAX_FILE_CANDIDATES = 200_000;

export interface SearchProcessEvent {
    searchId: string;
    process: cp.ChildProcess;
}

function toResult<T>(run: () => Promise<T>): Promise<FsResult<T>> {
    return run().then(value => ({ ok: true as const, value }), error => {
        const { code, message } = error instanceof CollaborationError ? error
            : new CollaborationError(FsErrorCodes.internal, `The host's search failed (${String(error?.message ?? error).slice(0, 200)}).`);
        return { ok: false as const, error: { code, message } };
    });
}

function badRequest(error: { issues: { path: (string | number)[]; message: string }[] }, what: string): CollaborationError {
    const issue = error.issues[0];
    return new CollaborationError(FsErrorCodes.badRequest, `Invalid ${what}: ${issue?.path.join('.') || 'params'}: ${issue?.message ?? 'invalid'}`.slice(0, 300));
}

/** Streams ripgrep's stdout line by line with backpressure: `next` pauses the process while lines wait. */
class LineSource {
    protected readonly queue: string[] = [];
    protected rest = '';
    protected ended = false;
    protected wake: (() => void) | undefined;
    protected skipping = false;

    constructor(protected readonly process: cp.ChildProcess) {
        process.stdout!.setEncoding('utf8');
        process.stdout!.on('data', (chunk: string) => this.push(chunk));
        process.stdout!.on('end', () => this.end());
        process.on('error', () => this.end());
        process.on('exit', () => setTimeout(() => this.end(), 50));
    }

    protected push(chunk: string): void {
        let text = this.rest + chunk;
        let newline: number;
        while ((newline = text.indexOf('\n')) >= 0) {
            const line = text.slice(0, newline);
            text = text.slice(newline + 1);
            if (this.skipping) {
                this.skipping = false;
            } else {
                this.queue.push(line);
            }
        }
        if (text.length > MAX_OUTPUT_LINE) {
            this.skipping = true;
            text = '';
        }
        this.rest = text;
        if (this.queue.length >= MAX_QUEUED_LINES) {
            this.process.stdout!.pause();
        }
        this.signal();
    }

    protected end(): void {
        if (!this.ended) {
            this.ended = true;
            if (this.rest && !this.skipping) {
                this.queue.push(this.rest);
            }
            this.rest = '';
            this.signal();
        }
    }

    protected signal(): void {
        const wake = this.wake;
        this.wake = undefined;
        wake?.();
    }

    /** The next line, or `undefined` once the output ended. */
    async next(): Promise<string | undefined> {
        while (this.queue.length === 0) {
            if (this.ended) {
                return undefined;
            }
            this.process.stdout!.resume();
            await new Promise<void>(resolve => this.wake = resolve);
        }
        const line = this.queue.shift()!;
        if (this.queue.length < MAX_QUEUED_LINES / 2) {
            this.process.stdout!.resume();
        }
        return line;
    }
}

interface Root {
    name: string;
    real: string;
}

/** One running text search: ripgrep over the roots one after the other, matches waiting to be pulled. */
class TextSearch {
    protected pending: FileMatches[] = [];
    protected pendingCount = 0;
    protected firstPendingAt = 0;
    matches = 0;
    limitHit = false;
    done = false;
    cancelled = false;
    error: CollaborationError | undefined;
    process: cp.ChildProcess | undefined;
    protected wake: (() => void) | undefined;
    protected drained: (() => void) | undefined;
    protected readonly timer: ReturnType<typeof setTimeout>;

    constructor(readonly id: string, protected readonly params: TextSearchParams) {
        this.timer = setTimeout(() => this.cancel(), SearchLimits.maxSearchMs);
    }

    get maxResults(): number {
        return Math.min(this.params.maxResults ?? SearchLimits.maxTextMatches, SearchLimits.maxTextMatches);
    }

    /** Adds a file's matches; waits while too many are waiting to be pulled. */
    async add(path: string, matches: TextMatch[]): Promise<void> {
        const room = this.maxResults - this.matches;
        if (room <= 0 || this.cancelled) {
            return;
        }
        const taken = matches.slice(0, room);
        if (this.pendingCount === 0) {
            this.firstPendingAt = Date.now();
        }
        const last = this.pending[this.pending.length - 1];
        if (last && last.path === path) {
            last.matches.push(...taken);
        } else {
            this.pending.push({ path, matches: taken });
        }
        this.pendingCount += taken.length;
        this.matches += taken.length;
        if (taken.length < matches.length || this.matches >= this.maxResults) {
            this.limitHit = true;
        }
        this.signal();
        while (this.pendingCount >= SearchLimits.batchMatches * 4 && !this.cancelled) {
            await new Promise<void>(resolve => this.drained = resolve);
        }
    }

    finish(error?: CollaborationError): void {
        clearTimeout(this.timer);
        this.error ??= error;
        this.done = true;
        this.signal();
        this.release();
    }

    cancel(): void {
        this.cancelled = true;
        this.process?.kill();
        this.finish();
    }

    protected signal(): void {
        const wake = this.wake;
        this.wake = undefined;
        wake?.();
    }

    protected release(): void {
        const drained = this.drained;
        this.drained = undefined;
        drained?.();
    }

    async next(): Promise<TextSearchBatch> {
        while (!this.done && this.pendingCount < SearchLimits.batchMatches) {
            const changed = new Promise<void>(resolve => this.wake = resolve);
            if (this.pendingCount === 0) {
                await changed;
                continue;
            }
            const remaining = this.firstPendingAt + SearchLimits.batchIntervalMs - Date.now();
            if (remaining <= 0) {
                break;
            }
            let timer: ReturnType<typeof setTimeout> | undefined;
            await Promise.race([changed, new Promise<void>(resolve => timer = setTimeout(resolve, remaining))]);
            clearTimeout(timer);
        }
        if (this.error) {
            throw this.error;
        }
        const files: FileMatches[] = [];
        let room: number = SearchLimits.batchMatches;
        while (room > 0 && this.pending.length > 0) {
            const first = this.pending[0];
            if (first.matches.length <= room) {
                files.push(this.pending.shift()!);
                room -= first.matches.length;
            } else {
                files.push({ path: first.path, matches: first.matches.splice(0, room) });
                room = 0;
            }
        }
        this.pendingCount -= SearchLimits.batchMatches - room;
        this.firstPendingAt = Date.now();
        if (this.pendingCount < SearchLimits.batchMatches * 4) {
            this.release();
        }
        return { files, done: this.done && this.pending.length === 0, matches: this.matches, limitHit: this.limitHit };
    }
}

let searchCounter = 0;

export class HostSearch {

    readonly fileSystem = new HostFileSystem();
    protected exclude: string[] = [];
    protected readonly searches = new Map<string, TextSearch>();
    /** Told about every ripgrep process a text search starts (tests watch them end). */
    onDidStartProcess: ((event: SearchProcessEvent) => void) | undefined;

    configure(options: HostFileSystemOptions): void {
        this.fileSystem.configure(options);
        this.exclude = (options.exclude ?? [])
            .filter(pattern => typeof pattern === 'string' && pattern.trim() && !pattern.startsWith('!') && pattern.length <= SearchLimits.maxGlobLength)
            .slice(0, 1000);
    }

    get runningSearches(): number {
        return this.searches.size;
    }

    protected async roots(names: readonly string[] | undefined): Promise<Root[]> {
        const resolver = this.fileSystem.resolver;
        const roots: Root[] = [];
        for (const name of resolver.rootNames()) {
            if (names && !names.includes(name)) {
                continue;
            }
            try {
                const resolved = await resolver.resolve(name, 'existing');
                if (resolved.stats?.isDirectory()) {
                    roots.push({ name, real: resolved.rootReal });
                }
            } catch {
                // gone or hidden: nothing to search there
            }
        }
        return roots;
    }

    /** Whether a file ripgrep reported (a path relative to the root's real folder) is one guests may see. */
    protected async isVisibleFile(root: Root, relative: string): Promise<string | undefined> {
        const segments = relative.split('/').filter(segment => segment.length > 0);
        if (segments.length === 0 || segments.some(segment => segment === '.' || segment === '..')) {
            return undefined;
        }
        const workspacePath = [root.name, ...segments].join('/');
        if (workspacePath.length > FsLimits.maxPathLength) {
            return undefined;
        }
        try {
            const resolved = await this.fileSystem.resolver.resolve(workspacePath, 'existing');
            return resolved.stats?.isFile() ? workspacePath : undefined;
        } catch {
            return undefined;
        }
    }

    protected commonArgs(include: readonly string[] | undefined, exclude: readonly string[] | undefined, useGitIgnore: boolean): string[] {
        const args = ['--hidden', '--no-config', '--no-messages', '--no-require-git'];
        if (!useGitIgnore) {
            args.push('--no-ignore');
        }
        for (const glob of include ?? []) {
            args.push('--glob', glob.replace(/^!+/, ''));
        }
        for (const glob of [...(exclude ?? []), ...this.exclude, '.git']) {
            args.push('--glob', '!' + glob.replace(/^!+/, ''));
        }
        return args;
    }

    protected spawn(args: string[], cwd: string): cp.ChildProcess {
        return cp.spawn(ripgrepPath(), args, { cwd, stdio: ['ignore', 'pipe', 'ignore'] });
    }

    // ---- file names ----

    findFiles(raw: FileSearchParams): Promise<FsResult<FileSearchResult>> {
        return toResult(async () => {
            const parsed = FileSearchParams.safeParse(raw);
            if (!parsed.success) {
                throw badRequest(parsed.error, 'file search');
            }
            const params = parsed.data;
            const limit = Math.min(params.limit ?? 200, SearchLimits.maxFileResults);
            const patterns = params.pattern.toLocaleLowerCase().trim().split(/\s+/).filter(pattern => pattern.length > 0);
            const exact: { root: Root; relative: string }[] = [];
            const fuzzyMatches: { root: Root; relative: string }[] = [];
            for (const root of await this.roots(params.roots)) {
                if (exact.length >= limit * 2) {
                    break;
                }
                const args = [...this.commonArgs(params.include, params.exclude, params.useGitIgnore !== false), '--files', '--', '.'];
                const rg = this.spawn(args, root.real);
                const lines = new LineSource(rg);
                let seen = 0;
                try {
                    for (let line = await lines.next(); line !== undefined; line = await lines.next()) {
                        const relative = line.replace(/^\.\//, '');
                        const candidate = relative.toLocaleLowerCase();
                        if (patterns.length === 0 || patterns.every(pattern => candidate.includes(pattern))) {
                            exact.push({ root, relative });
                        } else if (params.fuzzy !== false && fuzzyMatches.length < limit * 2 && patterns.every(pattern => fuzzy.test(pattern, relative))) {
                            fuzzyMatches.push({ root, relative });
                        }
                        // Some candidates may turn out hidden: look a little further than the limit.
                        if (exact.length >= limit * 2 || ++seen >= MAX_FILE_CANDIDATES) {
                            break;
                        }
                    }
                } finally {
                    rg.kill();
                }
            }
            const paths: string[] = [];
            let limitHit = false;
            for (const { root, relative } of [...exact, ...fuzzyMatches]) {
                const workspacePath = await this.isVisibleFile(root, relative);
                if (workspacePath === undefined || paths.includes(workspacePath)) {
                    continue;
                }
                if (paths.length >= limit) {
                    limitHit = true;
                    break;
                }
                paths.push(workspacePath);
            }
            return { paths, limitHit };
        });
    }

    // ---- text ----

    startTextSearch(raw: TextSearchParams): Promise<FsResult<{ id: string }>> {
        return toResult(async () => {
            const parsed = TextSearchParams.safeParse(raw);
            if (!parsed.success) {
                throw badRequest(parsed.error, 'text search');
            }
            if (this.searches.size >= SearchLimits.maxConcurrentSearches) {
                throw new CollaborationError(SearchErrorCodes.busy, 'The host is running too many searches; try again in a moment.');
            }
            const params = parsed.data;
            if (params.useRegExp) {
                try {
                    // Refuse what JavaScript cannot read before ripgrep does (its syntax is close enough).
                    new RegExp(params.pattern, 'u');
                } catch (error) {
                    throw new CollaborationError(FsErrorCodes.badRequest, `Invalid regular expression: ${String((error as Error).message).slice(0, 200)}`);
                }
            }
            const id = `s${++searchCounter}`;
            const search = new TextSearch(id, params);
            this.searches.set(id, search);
            this.runTextSearch(search, params).then(() => search.finish(), error => search.finish(
                error instanceof CollaborationError ? error : new CollaborationError(FsErrorCodes.internal, 'The host\'s search failed.')));
            return { id };
        });
    }

    protected async runTextSearch(search: TextSearch, params: TextSearchParams): Promise<void> {
        for (const root of await this.roots(params.roots)) {
            if (search.cancelled || search.limitHit) {
                return;
            }
            const args = [...this.commonArgs(params.include, params.exclude, params.includeIgnored !== true),
                '--json', `--max-filesize=${SearchLimits.maxFileSizeBytes}`, params.matchCase ? '--case-sensitive' : '--ignore-case'];
            if (params.matchWholeWord) {
                args.push('--word-regexp');
            }
            if (!params.useRegExp) {
                args.push('--fixed-strings');
            }
            args.push('--regexp', params.pattern, '--', '.');
            const rg = this.spawn(args, root.real);
            search.process = rg;
            this.onDidStartProcess?.({ searchId: search.id, process: rg });
            const lines = new LineSource(rg);
            const visible = new Map<string, string | undefined>();
            try {
                for (let line = await lines.next(); line !== undefined && !search.cancelled && !search.limitHit; line = await lines.next()) {
                    const match = parseMatch(line);
                    if (!match) {
                        continue;
                    }
                    const relative = match.path.replace(/^\.\//, '');
                    if (!visible.has(relative)) {
                        if (visible.size > 100_000) {
                            visible.clear();
                        }
                        visible.set(relative, await this.isVisibleFile(root, relative));
                    }
                    const workspacePath = visible.get(relative);
                    if (workspacePath !== undefined && match.matches.length > 0) {
                        await search.add(workspacePath, match.matches);
                    }
                }
            } finally {
                rg.kill();
            }
        }
    }

    async nextTextResults(id: string): Promise<FsResult<TextSearchBatch>> {
        const search = typeof id === 'string' ? this.searches.get(id) : undefined;
        if (!search) {
            return { ok: false, error: { code: FsErrorCodes.notFound, message: 'No such search.' } };
        }
        const result = await toResult(() => search.next());
        if (!result.ok || result.value.done) {
            this.searches.delete(id);
        }
        return result;
    }

    async cancelTextSearch(id: string): Promise<void> {
        const search = typeof id === 'string' ? this.searches.get(id) : undefined;
        if (search) {
            this.searches.delete(id);
            search.cancel();
        }
    }

    // ---- replace ----

    replace(caller: FsCaller, raw: ReplaceParams): Promise<FsResult<ReplaceResult>> {
        return toResult(async () => {
            const parsed = ReplaceParams.safeParse(raw);
            if (!parsed.success) {
                throw badRequest(parsed.error, 'replace');
            }
            if (caller?.permission !== 'readwrite') {
                throw new CollaborationError(FsErrorCodes.forbidden, 'Read-only participants cannot change files.');
            }
            const { path, replacement, matches } = parsed.data;
            const fileSystem = this.fileSystem;
            const call = async <T>(method: string, params: unknown): Promise<T> => {
                const result = await fileSystem.handle(method, caller, params);
                if (!result.ok) {
                    throw new CollaborationError(result.error.code, result.error.message);
                }
                return result.value as T;
            };
            // Through the shared file system's checks: exists, visible, inside the root, a regular file.
            const chunks: Buffer[] = [];
            let size = 0;
            for (let offset = 0; ; ) {
                const chunk = await call<ReadFileResult>('fs/readFile', { path, offset, length: FsLimits.chunkBytes });
                if (chunk.size > SearchLimits.maxReplaceFileBytes) {
                    throw new CollaborationError(FsErrorCodes.tooLarge, `'${path}' is too large to replace in.`);
                }
                chunks.push(Buffer.from(chunk.data));
                offset += chunk.data.byteLength;
                size = chunk.size;
                if (offset >= size || chunk.data.byteLength === 0) {
                    break;
                }
            }
            const bytes = Buffer.concat(chunks);
            const text = bytes.toString('utf8');
            if (!Buffer.from(text, 'utf8').equals(bytes)) {
                throw new CollaborationError(FsErrorCodes.badRequest, `'${path}' is not UTF-8 text.`);
            }
            const lineStarts = [0];
            for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) {
                lineStarts.push(i + 1);
            }
            const edits = matches.map(match => {
                const lineStart = lineStarts[match.line - 1];
                const lineEnd = match.line < lineStarts.length ? lineStarts[match.line] : text.length;
                const start = lineStart === undefined ? -1 : lineStart + match.character - 1;
                if (start < 0 || start + match.length > lineEnd || text.slice(start, start + match.length) !== match.text || match.text.length !== match.length) {
                    throw new CollaborationError(SearchErrorCodes.conflict, `'${path}' changed since it was searched; search again.`);
                }
                return { start, end: start + match.length };
            }).sort((a, b) => a.start - b.start);
            for (let i = 1; i < edits.length; i++) {
                if (edits[i].start < edits[i - 1].end) {
                    throw new CollaborationError(FsErrorCodes.badRequest, 'Matches to replace overlap.');
                }
            }
            let result = '';
            let last = 0;
            for (const edit of edits) {
                result += text.slice(last, edit.start) + replacement;
                last = edit.end;
            }
            result += text.slice(last);
            const data = Buffer.from(result, 'utf8');
            if (data.byteLength > SearchLimits.maxReplaceFileBytes) {
                throw new CollaborationError(FsErrorCodes.tooLarge, `'${path}' would become too large.`);
            }
            // The guarded write path: permission, read-only files, links, atomic replace.
            if (data.byteLength <= FsLimits.chunkBytes) {
                await call<FsStat>('fs/writeFile', { path, data, create: false, overwrite: true });
            } else {
                const { uploadId } = await call<{ uploadId: string }>('fs/writeFile/begin', { path, size: data.byteLength, create: false, overwrite: true });
                try {
                    for (let offset = 0; offset < data.byteLength; offset += FsLimits.chunkBytes) {
                        await call('fs/writeFile/chunk', { uploadId, offset, data: data.subarray(offset, offset + FsLimits.chunkBytes) });
                    }
                    await call<FsStat>('fs/writeFile/commit', { uploadId });
                } catch (error) {
                    await fileSystem.handle('fs/writeFile/abort', caller, { uploadId }).catch(() => undefined);
                    throw error;
                }
            }
            return { replaced: edits.length };
        });
    }

    async dispose(): Promise<void> {
        for (const search of this.searches.values()) {
            search.cancel();
        }
        this.searches.clear();
        await this.fileSystem.dispose();
    }
}

/** A ripgrep `--json` match line as matches with UTF-16 positions; `undefined` for other lines and non-UTF-8 names. */
export function parseMatch(line: string): { path: string; matches: TextMatch[] } | undefined {
    let message: {
        type?: string; data?: {
            path?: { text?: string }; lines?: { text?: string }; line_number?: number;
            submatches?: { start?: number; end?: number }[];
        }
    };
    try {
        message = JSON.parse(line);
    } catch {
        return undefined;
    }
    const data = message?.data;
    if (message?.type !== 'match' || typeof data?.path?.text !== 'string' || typeof data.lines?.text !== 'string'
        || typeof data.line_number !== 'number' || !Array.isArray(data.submatches)) {
        return undefined;
    }
    const lineText = data.lines.text.replace(/\r?\n$/, '');
    const lineBytes = Buffer.from(lineText, 'utf8');
    const characterAt = (byteOffset: number) => lineBytes.subarray(0, byteOffset).toString('utf8').length;
    const firstLine = lineText.split('\n')[0];
    const matches: TextMatch[] = [];
    for (const submatch of data.submatches) {
        if (typeof submatch?.start !== 'number' || typeof submatch.end !== 'number' || submatch.end < submatch.start) {
            continue;
        }
        const start = characterAt(submatch.start);
        if (start > firstLine.length) {
            continue; // in a later line of a multi-line match
        }
        const length = Math.min(characterAt(submatch.end), firstLine.length) - start;
        const preview = linePreview(firstLine, start);
        matches.push({ line: data.line_number, character: start + 1, length, lineText: preview.text, previewCharacter: preview.character });
    }
    return { path: data.path.text, matches };
}

/** At most `maxLineLength` characters of a line around a match; `character` is where the match starts in it (1-based). */
export function linePreview(line: string, start: number): { text: string; character: number } {
    const max = SearchLimits.maxLineLength;
    if (line.length <= max) {
        return { text: line, character: start + 1 };
    }
    const from = Math.max(0, Math.min(start - 40, line.length - max));
    return { text: line.slice(from, from + max), character: start - from + 1 };
}
