/**
 * The server's own client-versus-real-server specs use the test kit (@theia-collab/test-kit), like every other
 * package; where they look inside the server (its socket.io instance, its content store), `serverOf` gives the
 * full handle.
 */
import type { SessionFixture } from '@theia-collab/test-kit';
import type { ServerHandle } from '../server';

export { collector, delay, impl, LogRecord, next, RecordingLogger, rejection, SessionFixture, until } from '@theia-collab/test-kit';

/** The fixture's server as this package knows it. */
export function serverOf(fixture: SessionFixture): ServerHandle {
    return fixture.server as unknown as ServerHandle;
}
