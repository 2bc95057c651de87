/**
 * Checks of a whole folder a guest deletes, moves, copies or replaces, made before anything changes on disk:
 * nothing below it may be hidden from the guest, read-only for guests (where it is, or where it would go), or a
 * link that, at its new place, leads out of the root or to a file that is not shared.
 */
import * as fs from 'fs';
import * as path from 'path';
import { FsErrorCodes } from '../../common/fs/fs-messages';
import { fail, fsError, HostPathResolver, Resolved } from './host-path-resolver';

const MAX_WALK_ENTRIES = 100_000;

export interface TreeCheck {
    /** The folder walked (a real path; links below it are not followed). */
    dir: string;
    /** How the guest names `dir`, for the exclusion globs (lexical segments below the root). */
    segments: string[];
    /** Whose root and exclusions `dir` is seen through. */
    source: Resolved;
    workspacePath: string;
    /** Refuse hidden files below `dir` (the guest cannot know what it would destroy or duplicate). */
    hidden?: boolean;
    /** Refuse read-only files below `dir` (they would be deleted or moved away). */
    readOnly?: boolean;
    /** Where the folder goes (copy, move): read-only places and links are checked there. */
    destination?: { target: Resolved; dir: string };
}

/** Walks `check.dir`, refusing (CollaborationError) the first entry that breaks a rule. */
export async function assertTreeAllowed(resolver: HostPathResolver, check: TreeCheck): Promise<void> {
    const { source, workspacePath, destination } = check;
    let visited = 0;
    const walk = async (current: string, currentSegments: string[], relative: string[]): Promise<void> => {
        let dirents: fs.Dirent[];
        try {
            dirents = await fs.promises.readdir(current, { withFileTypes: true });
        } catch (error) {
            throw fsError(error, workspacePath);
        }
        for (const dirent of dirents) {
            if (++visited > MAX_WALK_ENTRIES) {
                fail(FsErrorCodes.tooLarge, `'${workspacePath}' holds too many files to be changed by a guest at once.`);
            }
            const child = path.join(current, dirent.name);
            const childSegments = [...currentSegments, dirent.name];
            const childRelative = [...relative, dirent.name];
            const isDir = dirent.isDirectory();
            if (check.hidden && (await resolver.isHidden(source.rootName, source.rootReal, childSegments, isDir)
                || await resolver.isHiddenElsewhere(source.others, child, isDir))) {
                fail(FsErrorCodes.forbidden, `'${workspacePath}' contains files that are not shared with you.`);
            }
            if (check.readOnly && (resolver.isReadOnly(childSegments, isDir) || resolver.isReadOnlyAt(source.rootReal, source.others, child, isDir))) {
                fail(FsErrorCodes.forbidden, `'${workspacePath}' contains files that are read-only for guests (such as a .git folder).`);
            }
            if (destination) {
                const to = path.join(destination.dir, ...childRelative);
                if (resolver.isReadOnly([...destination.target.segments, ...childRelative], isDir)
                    || resolver.isReadOnlyAt(destination.target.rootReal, destination.target.others, to, isDir)) {
                    fail(FsErrorCodes.forbidden, `'${workspacePath}' would put files where guests may not write (such as a .git folder).`);
                }
                if (dirent.isSymbolicLink()) {
                    let text: string;
                    try {
                        text = await fs.promises.readlink(child);
                    } catch (error) {
                        throw fsError(error, workspacePath);
                    }
                    await resolver.assertLinkStaysInside(destination.target, to, text, workspacePath, { from: check.dir, to: destination.dir });
                }
            }
            if (isDir) {
                await walk(child, childSegments, childRelative);
            }
        }
    };
    await walk(check.dir, check.segments, []);
}
