/**
 * Where a guest-named workspace path leads on the host's disk, and what guests may do there: the one place
 * that turns `<root>/<relative>` into a real path, for the shared file system (`fs/...`) and for every other
 * feature that touches a file a guest named (editors, language requests, breakpoints), through
 * `resolveForGuest`.
 *
 * - The real path of a target (or of its parent, for creations) must stay inside the real path of its root:
 *   symlinks that lead out are refused.
 * - Excluded files (globs, optionally `.gitignore`) are reported as not found. With nested roots, a file
 *   hidden as seen from any root that holds it is hidden through every root.
 * - Read-only files (globs, e.g. `.git/`, `.vscode/`) can be read but never changed by guests; the check is made
 *   on the path as named and on where it really leads.
 * - A link a guest copies or moves must, at its new place, still lead to a visible file inside the root.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Minimatch } from 'minimatch';
import ignore, { Ignore } from 'ignore';
import { FileUri } from '@theia/core/lib/common/file-uri';
import { CollaborationError } from '@theia-collab/protocol/lib/errors';
import { splitWorkspacePath } from '../../common/collaboration-uri';
import { FsErrorCodes, FsLimits } from '../../common/fs/fs-messages';
import { DEFAULT_READ_ONLY_FILES, GuestAccess, GuestResolution } from '../../common/fs/host-file-system-protocol';

export interface HostRoot {
    name: string;
    /** Absolute directory on the host. */
    path: string;
}

export interface HostFileSystemOptions {
    roots: readonly HostRoot[];
    exclude?: readonly string[];
    excludeGitIgnored?: boolean;
    /** Files guests may read but not change; `DEFAULT_READ_ONLY_FILES` when absent. */
    readOnly?: readonly string[];
    /** Defaults to true on Linux, false elsewhere. */
    caseSensitive?: boolean;
}

/** Temporary upload files. Theia's watchers always ignore `**\/theia_upload_*`, so they cause no change events. */
export const UPLOAD_PREFIX = 'theia_upload_collab_';
const MAX_PATTERNS = 1000;
const MAX_PATTERN_LENGTH = 1024;
const MAX_GITIGNORE_BYTES = 1024 * 1024;
const GITIGNORE_RECHECK_MS = 1000;

/** Another shared root whose folder holds, or lies inside, the root a path was resolved in. */
export interface OverlappingRoot {
    name: string;
    real: string;
}

export interface Resolved {
    rootName: string;
    /** The root's folder as configured (may itself be reached through a link the host chose). */
    rootPath: string;
    rootReal: string;
    /** Other roots sharing some of this root's files (nested roots): what they hide stays hidden here too. */
    others: OverlappingRoot[];
    workspacePath: string;
    /** Lexical segments below the root, as the guest named them. */
    segments: string[];
    /** Segments of `entry` below the real root (the parent's links resolved, the entry itself not). */
    entrySegments: string[];
    isRoot: boolean;
    /** The directory entry itself: real parent + base name (a symlink is not followed). */
    entry: string;
    /** Whether something exists at `entry`. */
    exists: boolean;
    isLink: boolean;
    /** What `entry` leads to, symlinks resolved; equals `entry` when nothing exists yet. */
    real: string;
    /** Stats of `real` when it exists. */
    stats?: fs.Stats;
}

interface GitIgnoreEntry {
    checkedAt: number;
    mtimeMs: number;
    size: number;
    rules?: Ignore;
}

export function fail(code: string, message: string): never {
    throw new CollaborationError(code, message);
}

export function inside(root: string, candidate: string): boolean {
    return candidate === root || candidate.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

export function errno(error: unknown): string | undefined {
    return typeof error === 'object' && error !== null && typeof (error as NodeJS.ErrnoException).code === 'string'
        ? (error as NodeJS.ErrnoException).code : undefined;
}

/** Turns a Node error into a CollaborationError naming the workspace path, never the host's absolute path. */
export function fsError(error: unknown, workspacePath: string): CollaborationError {
    if (error instanceof CollaborationError) {
        return error;
    }
    switch (errno(error)) {
        case 'ENOENT': return new CollaborationError(FsErrorCodes.notFound, `'${workspacePath}' does not exist.`);
        case 'EEXIST': return new CollaborationError(FsErrorCodes.fileExists, `'${workspacePath}' already exists.`);
        case 'ENOTDIR': return new CollaborationError(FsErrorCodes.notADirectory, `'${workspacePath}' is not a folder.`);
        case 'EISDIR': return new CollaborationError(FsErrorCodes.isADirectory, `'${workspacePath}' is a folder.`);
        case 'ENOTEMPTY': return new CollaborationError(FsErrorCodes.notEmpty, `'${workspacePath}' is not empty.`);
        case 'EACCES':
        case 'EPERM': return new CollaborationError(FsErrorCodes.permissionDenied, `The host's system does not allow access to '${workspacePath}'.`);
        case 'ELOOP': return new CollaborationError(FsErrorCodes.forbidden, `'${workspacePath}' is a link that is not shared.`);
        case 'ENOSPC': return new CollaborationError(FsErrorCodes.internal, 'The host has no space left on its disk.');
        default: return new CollaborationError(FsErrorCodes.internal, `The host could not access '${workspacePath}' (${errno(error) ?? 'error'}).`);
    }
}

function matchers(patterns: readonly string[] | undefined, caseSensitive: boolean): Minimatch[] {
    return (patterns ?? [])
        .filter(pattern => typeof pattern === 'string' && pattern.trim().length > 0 && pattern.length <= MAX_PATTERN_LENGTH && !pattern.startsWith('!'))
        .slice(0, MAX_PATTERNS)
        .map(pattern => new Minimatch(pattern.trim(), { dot: true, matchBase: true, nocase: !caseSensitive }));
}

/** Whether `segments` (or a folder above them) matches one of `patterns`. */
function matchesAnyPrefix(patterns: readonly Minimatch[], segments: readonly string[], isDir: boolean | undefined): boolean {
    for (let i = 1; i <= segments.length; i++) {
        const relative = segments.slice(0, i).join('/');
        const prefixIsDir = i < segments.length ? true : isDir;
        if (patterns.some(matcher => matcher.match(relative) || (prefixIsDir !== false && matcher.match(relative + '/')))) {
            return true;
        }
    }
    return false;
}

export class HostPathResolver {

    protected roots = new Map<string, HostRoot>();
    protected excludes: Minimatch[] = [];
    protected readOnly: Minimatch[] = [];
    protected excludeGitIgnored = false;
    caseSensitive = process.platform === 'linux';
    protected readonly gitIgnores = new Map<string, GitIgnoreEntry>();

    configure(options: HostFileSystemOptions): void {
        this.caseSensitive = options.caseSensitive ?? process.platform === 'linux';
        this.roots = new Map();
        for (const root of options.roots.slice(0, FsLimits.maxRoots)) {
            if (root.name && !root.name.includes('/') && path.isAbsolute(root.path) && !this.roots.has(root.name)) {
                this.roots.set(root.name, { name: root.name, path: path.resolve(root.path) });
            }
        }
        this.excludes = matchers(options.exclude, this.caseSensitive);
        this.readOnly = matchers(options.readOnly ?? DEFAULT_READ_ONLY_FILES, this.caseSensitive);
        this.excludeGitIgnored = !!options.excludeGitIgnored;
        this.gitIgnores.clear();
    }

    rootNames(): string[] {
        return [...this.roots.keys()];
    }

    clear(): void {
        this.roots = new Map();
    }

    // ---- resolution ----

    /**
     * Resolves a workspace path on disk, refusing anything that escapes its root or is hidden.
     * `create`: the target may be missing, but its parent folder must exist.
     */
    async resolve(workspacePath: string, mode: 'existing' | 'create'): Promise<Resolved> {
        const split = splitWorkspacePath(workspacePath);
        if (!split || split.segments.some(segment => segment.length > 255)) {
            fail(FsErrorCodes.badRequest, 'Invalid workspace path.');
        }
        const root = this.roots.get(split.root);
        if (!root) {
            fail(FsErrorCodes.notFound, `No shared folder is named '${split.root}'.`);
        }
        const { segments } = split;
        const notFound = (): never => fail(FsErrorCodes.notFound, `'${workspacePath}' does not exist.`);
        const outside = (): never => fail(FsErrorCodes.forbidden, `'${workspacePath}' leads outside the shared folder.`);
        let rootReal: string;
        try {
            rootReal = await fs.promises.realpath(root.path);
        } catch {
            return notFound();
        }
        if (await this.isHidden(root.name, rootReal, segments, undefined)) {
            notFound();
        }
        const others = await this.overlappingRoots(root.name, rootReal);
        const base = { rootName: root.name, rootPath: root.path, rootReal, others, workspacePath, segments };
        try {
            if (segments.length === 0) {
                const stats = await fs.promises.stat(rootReal);
                return { ...base, entrySegments: [], isRoot: true, entry: rootReal, exists: true, isLink: false, real: rootReal, stats };
            }
            let realParent: string;
            try {
                realParent = await fs.promises.realpath(path.join(rootReal, ...segments.slice(0, -1)));
            } catch (error) {
                if (errno(error) === 'ENOENT' || errno(error) === 'ENOTDIR') {
                    notFound();
                }
                throw error;
            }
            if (!inside(rootReal, realParent)) {
                outside();
            }
            const parentSegments = this.segmentsBelow(rootReal, realParent);
            if (await this.isHidden(root.name, rootReal, parentSegments, true) || await this.isHiddenElsewhere(others, realParent, true)) {
                notFound();
            }
            const entry = path.join(realParent, segments[segments.length - 1]);
            const entrySegments = [...parentSegments, segments[segments.length - 1]];
            let lstats: fs.Stats;
            try {
                lstats = await fs.promises.lstat(entry);
            } catch (error) {
                if (errno(error) === 'ENOENT' && mode === 'create') {
                    if (await this.isHidden(root.name, rootReal, entrySegments, undefined)
                        || await this.isHiddenElsewhere(others, entry, undefined)) {
                        notFound();
                    }
                    return { ...base, entrySegments, isRoot: false, entry, exists: false, isLink: false, real: entry };
                }
                if (errno(error) === 'ENOENT' || errno(error) === 'ENOTDIR') {
                    notFound();
                }
                throw error;
            }
            let real = entry;
            let stats = lstats;
            const isLink = lstats.isSymbolicLink();
            if (isLink) {
                try {
                    real = await fs.promises.realpath(entry);
                } catch (error) {
                    // A dangling link: do not create through it.
                    if (errno(error) === 'ENOENT' || errno(error) === 'ELOOP') {
                        return mode === 'create' ? outside() : notFound();
                    }
                    throw error;
                }
                if (!inside(rootReal, real)) {
                    outside();
                }
                stats = await fs.promises.stat(real);
            }
            const isDir = stats.isDirectory();
            if (await this.isHidden(root.name, rootReal, segments, isDir)
                || await this.isHidden(root.name, rootReal, entrySegments, isDir)
                || (isLink && await this.isHidden(root.name, rootReal, this.segmentsBelow(rootReal, real), isDir))
                || await this.isHiddenElsewhere(others, entry, isLink ? undefined : isDir)
                || (isLink && await this.isHiddenElsewhere(others, real, isDir))) {
                notFound();
            }
            return { ...base, entrySegments, isRoot: false, entry, exists: true, isLink, real, stats };
        } catch (error) {
            throw fsError(error, workspacePath);
        }
    }

    /**
     * For features other than `fs/...` (editors, language requests, breakpoints): resolves what a guest named,
     * as `resolve` does, and answers the host URI of the file it leads to now. `write` also refuses read-only
     * files (as named, and where a link leads). Only regular files (or, for `write`, a file yet to be created).
     */
    async resolveForGuest(workspacePath: string, access: GuestAccess): Promise<GuestResolution> {
        const target = await this.resolve(workspacePath, access === 'write' ? 'create' : 'existing');
        if (target.exists) {
            if (target.stats!.isDirectory()) {
                fail(FsErrorCodes.isADirectory, `'${workspacePath}' is a folder.`);
            }
            if (!target.stats!.isFile()) {
                fail(FsErrorCodes.forbidden, `'${workspacePath}' is not a regular file.`);
            }
        }
        if (access === 'write') {
            await this.assertWritable(target, workspacePath);
        }
        // The real file, named under the root folder the host configured (the path its editors and watchers know).
        const relative = this.segmentsBelow(target.rootReal, target.real);
        return { uri: FileUri.create(path.join(target.rootPath, ...relative)).toString() };
    }

    /** The other roots whose folder holds, or lies inside, `rootReal` (roots whose folder is gone are left out). */
    async overlappingRoots(rootName: string, rootReal: string): Promise<OverlappingRoot[]> {
        if (this.roots.size < 2) {
            return [];
        }
        const others: OverlappingRoot[] = [];
        for (const root of this.roots.values()) {
            if (root.name === rootName) {
                continue;
            }
            const real = await fs.promises.realpath(root.path).catch(() => undefined);
            if (real !== undefined && (inside(real, rootReal) || inside(rootReal, real))) {
                others.push({ name: root.name, real });
            }
        }
        return others;
    }

    /** Whether `real` (an absolute path) is hidden as seen from any of `others` that holds it. */
    async isHiddenElsewhere(others: readonly OverlappingRoot[], real: string, isDir: boolean | undefined): Promise<boolean> {
        for (const other of others) {
            if (inside(other.real, real) && await this.isHidden(other.name, other.real, this.segmentsBelow(other.real, real), isDir)) {
                return true;
            }
        }
        return false;
    }

    segmentsBelow(rootReal: string, real: string): string[] {
        const relative = path.relative(rootReal, real);
        return relative ? relative.split(path.sep) : [];
    }

    // ---- read-only files ----

    /** Whether the path below a root (or a folder above it) is read-only for guests. */
    isReadOnly(segments: readonly string[], isDir: boolean | undefined): boolean {
        return segments.length > 0 && matchesAnyPrefix(this.readOnly, segments, isDir);
    }

    /** Whether the absolute `real`, as seen from its root or any of `others` holding it, is read-only for guests. */
    isReadOnlyAt(rootReal: string, others: readonly OverlappingRoot[], real: string, isDir: boolean | undefined): boolean {
        return (inside(rootReal, real) && this.isReadOnly(this.segmentsBelow(rootReal, real), isDir))
            || others.some(other => inside(other.real, real) && this.isReadOnly(this.segmentsBelow(other.real, real), isDir));
    }

    /**
     * Refuses to change `target` when it is read-only for guests: as the guest named it, where its entry really
     * is, and (unless `entryOnly`: deleting or moving a link changes the link, not what it leads to) where it leads.
     */
    async assertWritable(target: Resolved, workspacePath: string, entryOnly = false): Promise<void> {
        const isDir = target.exists ? (target.isLink && entryOnly ? false : target.stats!.isDirectory()) : undefined;
        if (this.isReadOnly(target.segments, isDir)
            || this.isReadOnlyAt(target.rootReal, target.others, target.entry, isDir)
            || (!entryOnly && target.isLink && this.isReadOnlyAt(target.rootReal, target.others, target.real, isDir))) {
            fail(FsErrorCodes.forbidden, `'${workspacePath}' is read-only for guests: the host does not let guests change its configuration `
                + '(such as .git, .vscode or .theia).');
        }
    }

    // ---- links guests copy or move ----

    /**
     * A link with the text `linkText` is about to appear at `location` (inside `destination`'s root): refuses
     * unless it would lead to a visible file or folder inside that root. A relative text is resolved against the
     * new location. `tree` maps a target inside the tree being copied or moved (`to`) to where it is now (`from`).
     */
    async assertLinkStaysInside(destination: Resolved, location: string, linkText: string, workspacePath: string,
        tree?: { from: string; to: string }): Promise<void> {
        const refuse = (): never => fail(FsErrorCodes.forbidden,
            `'${workspacePath}' holds a link that would lead outside the shared folder or to a file that is not shared.`);
        const lexical = path.resolve(path.dirname(location), linkText);
        let real: string;
        if (tree && inside(tree.to, lexical)) {
            // Into the tree itself: where that part of the tree leads now, moved along with it.
            const now = await this.realOrLongestExisting(path.join(tree.from, path.relative(tree.to, lexical)));
            if (now === undefined) {
                return refuse();
            }
            real = inside(tree.from, now) ? path.join(tree.to, path.relative(tree.from, now)) : now;
        } else {
            const now = await this.realOrLongestExisting(lexical);
            if (now === undefined) {
                return refuse();
            }
            real = now;
        }
        if (!inside(destination.rootReal, real)) {
            refuse();
        }
        const segments = this.segmentsBelow(destination.rootReal, real);
        if (await this.isHidden(destination.rootName, destination.rootReal, segments, undefined)
            || await this.isHiddenElsewhere(destination.others, real, undefined)) {
            refuse();
        }
    }

    /** The real path of `candidate`; for a missing one, the real path of its longest existing ancestor joined with the rest. */
    protected async realOrLongestExisting(candidate: string): Promise<string | undefined> {
        let existing = candidate;
        const rest: string[] = [];
        for (let depth = 0; depth < 4096; depth++) {
            try {
                return path.join(await fs.promises.realpath(existing), ...rest);
            } catch (error) {
                const code = errno(error);
                if ((code !== 'ENOENT' && code !== 'ENOTDIR') || path.dirname(existing) === existing) {
                    return undefined;
                }
                rest.unshift(path.basename(existing));
                existing = path.dirname(existing);
            }
        }
        return undefined;
    }

    // ---- visibility ----

    /**
     * Whether guests may know about `workspacePath`: not excluded as named and, if it exists, not leading out of
     * its root or to an excluded file (through links). A path that no longer exists is judged by its name.
     */
    async isVisible(workspacePath: string): Promise<boolean> {
        const split = splitWorkspacePath(workspacePath);
        const root = split && this.roots.get(split.root);
        if (!split || !root) {
            return false;
        }
        let lexical: string;
        try {
            const rootReal = await fs.promises.realpath(root.path);
            lexical = path.join(rootReal, ...split.segments);
            if (await this.isHidden(root.name, rootReal, split.segments, undefined)
                || await this.isHiddenElsewhere(await this.overlappingRoots(root.name, rootReal), lexical, undefined)) {
                return false;
            }
        } catch {
            return false;
        }
        try {
            await this.resolve(workspacePath, 'existing');
            return true;
        } catch (error) {
            if (!(error instanceof CollaborationError) || error.code !== FsErrorCodes.notFound) {
                return false;
            }
        }
        // Not found: gone (a deletion to announce), or hidden where it leads.
        try {
            await fs.promises.lstat(lexical);
            return false;
        } catch (error) {
            return errno(error) === 'ENOENT' || errno(error) === 'ENOTDIR';
        }
    }

    async filterVisible(paths: readonly string[]): Promise<string[]> {
        const visible = await Promise.all(paths.map(p => typeof p === 'string' ? this.isVisible(p) : false));
        return paths.filter((_, i) => visible[i]);
    }

    /**
     * Whether the path below a root (or any folder above it) is excluded, ignored by `.gitignore`, or an upload
     * in progress. `isDir` of the last segment may be unknown.
     */
    async isHidden(rootName: string, rootReal: string, segments: readonly string[], isDir: boolean | undefined): Promise<boolean> {
        if (segments.length === 0) {
            return false;
        }
        if (segments[segments.length - 1].startsWith(UPLOAD_PREFIX)) {
            return true;
        }
        if (matchesAnyPrefix(this.excludes, segments, isDir)) {
            return true;
        }
        if (this.excludeGitIgnored) {
            for (let i = 1; i <= segments.length; i++) {
                if (await this.isGitIgnored(rootReal, segments.slice(0, i), i < segments.length ? true : isDir)) {
                    return true;
                }
            }
        }
        return false;
    }

    protected async isGitIgnored(rootReal: string, segments: readonly string[], isDir: boolean | undefined): Promise<boolean> {
        const last = segments[segments.length - 1];
        if (this.caseSensitive ? last === '.git' : last.toLowerCase() === '.git') {
            return true;
        }
        let ignored = false;
        // Outer .gitignore files first; a deeper one, or a later rule, overrides.
        for (let depth = 0; depth < segments.length; depth++) {
            const rules = await this.loadGitIgnore(path.join(rootReal, ...segments.slice(0, depth), '.gitignore'));
            if (!rules) {
                continue;
            }
            const relative = segments.slice(depth).join('/');
            const candidates = isDir === undefined ? [relative, relative + '/'] : [isDir ? relative + '/' : relative];
            for (const candidate of candidates) {
                const result = rules.test(candidate);
                if (result.ignored) {
                    ignored = true;
                } else if (result.unignored) {
                    ignored = false;
                }
            }
        }
        return ignored;
    }

    protected async loadGitIgnore(file: string): Promise<Ignore | undefined> {
        const now = Date.now();
        const cached = this.gitIgnores.get(file);
        if (cached && now - cached.checkedAt < GITIGNORE_RECHECK_MS) {
            return cached.rules;
        }
        let stats: fs.Stats | undefined;
        try {
            stats = await fs.promises.lstat(file);
        } catch {
            stats = undefined;
        }
        if (!stats || !stats.isFile() || stats.size > MAX_GITIGNORE_BYTES) {
            this.gitIgnores.set(file, { checkedAt: now, mtimeMs: 0, size: -1 });
            return undefined;
        }
        if (cached && cached.mtimeMs === stats.mtimeMs && cached.size === stats.size) {
            cached.checkedAt = now;
            return cached.rules;
        }
        let rules: Ignore | undefined;
        try {
            const content = await fs.promises.readFile(file, 'utf8');
            rules = ignore({ ignorecase: !this.caseSensitive }).add(content);
        } catch {
            rules = undefined;
        }
        if (this.gitIgnores.size > 10_000) {
            this.gitIgnores.clear();
        }
        this.gitIgnores.set(file, { checkedAt: now, mtimeMs: stats.mtimeMs, size: stats.size, rules });
        return rules;
    }
}
