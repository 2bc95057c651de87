/**
 * Test infrastructure: preloaded (`node --require <this file>`) into every process the e2e harness spawns, so the
 * process cannot outlive the test process that started it. The harness kills its children on exit, SIGINT and
 * SIGTERM, but nothing runs in the test process when it gets SIGKILL; this watchdog covers that case.
 *
 * The spawning process passes its pid in `PARENT_PID_ENV`. Once a second the watchdog compares it with
 * `process.ppid` (read fresh from the OS on every access): when the parent is gone the process has been
 * re-parented, so it kills its own process group (itself and whatever it spawned into it) and exits.
 * Importing this module without the variable set (as the harness does, for the constant) does nothing.
 */
export const PARENT_PID_ENV = 'THEIA_COLLAB_E2E_PARENT_PID';

const parentPid = Number(process.env[PARENT_PID_ENV]);
// Not for grandchildren: Theia forks its plugin host with the same `--require`; it dies with the process group.
delete process.env[PARENT_PID_ENV];

if (Number.isInteger(parentPid) && parentPid > 0) {
    const check = () => {
        if (process.ppid === parentPid) {
            return;
        }
        try {
            // The harness starts its children as process group leaders (`detached`).
            process.kill(-process.pid, 'SIGKILL');
        } catch {
            // not a group leader: only this process
        }
        process.exit(1);
    };
    check();
    // unref: the watchdog never keeps the process alive by itself.
    setInterval(check, 1000).unref();
}
