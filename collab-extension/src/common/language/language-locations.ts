/**
 * The host path mappers moved to the fs feature (`common/fs/host-path-mapper.ts`): debug and file-state use them
 * without depending on language. Kept so the language feature's own imports keep working; new code imports fs.
 */
export * from '../fs/host-path-mapper';
