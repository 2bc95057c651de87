/**
 * The periodic cleanup of a server instance, on two timers:
 * - the sweep: rate limiter and login bookkeeping, stored content of closed rooms, and (one instance per period,
 *   by cluster lock) expired, idle and empty rooms, overdue grace periods and, with Redis, requests whose
 *   instance went away;
 * - the per-instance check: the replay window drops what aged out; with Redis, disconnections that happened while
 *   Redis was away are recorded, and the rooms of this instance's connections are checked (see checkLocalRooms).
 * A period is skipped while the previous one still runs.
 */
import type { Logger } from 'pino';
import type { Cluster } from './cluster';
import type { ServerOptions } from './config';
import type { ContentStore } from './content-store';
import type { LogLimiter } from './log-limiter';
import type { OidcLoginProvider } from './oidc';
import type { KeyedRateLimiter } from './rate-limit';
import type { Relay } from './relay';
import type { ReplayWindow } from './replay-window';
import type { RoomService } from './room-service';
import type { RoomStore } from './rooms';
import { isStoreUnavailable } from './unavailable';

export interface SweeperDependencies {
    options: Pick<ServerOptions, 'sweepIntervalMs' | 'idleRoomMs' | 'emptyRoomMs' | 'roomTtlMs' | 'storeCheckIntervalMs'>;
    loginLimiter: KeyedRateLimiter;
    joinLimiter: KeyedRateLimiter;
    oidc?: OidcLoginProvider;
    content: ContentStore;
    store: RoomStore;
    cluster: Cluster;
    rooms: RoomService;
    relay: Relay;
    replayWindow: ReplayWindow;
    logger: Logger;
    logLimiter: LogLimiter;
}

export interface Sweeper {
    /** Stops both timers (a period under way finishes). */
    stop(): void;
}

/** The sweep period: a quarter of the shortest room lifetime, between 50 ms and 10 s, unless configured. */
export function sweepInterval(options: SweeperDependencies['options']): number {
    return options.sweepIntervalMs
        ?? Math.min(10_000, Math.max(50, Math.floor(Math.min(options.idleRoomMs, options.emptyRoomMs, options.roomTtlMs) / 4)));
}

export function startSweeper(deps: SweeperDependencies): Sweeper {
    const { options, loginLimiter, joinLimiter, oidc, content, store, cluster, rooms, relay, replayWindow, logger, logLimiter } = deps;
    const sweepMs = sweepInterval(options);
    let sweeping = false;
    const sweepTimer = setInterval(() => {
        if (sweeping) {
            return;
        }
        sweeping = true;
        loginLimiter.sweep();
        joinLimiter.sweep();
        oidc?.sweep();
        (async () => {
            // Stored content is per instance: every instance drops its own stale content, and that of rooms
            // closed elsewhere (a failing store lookup leaves the rest for the next period).
            content.sweep();
            await content.dropClosedRooms(async roomId => !!await store.get(roomId))
                .catch(error => logger.warn({ err: error }, 'stored content cleanup failed'));
            // One instance per period does the sweep (every step of it is conditional anyway).
            if (await cluster.tryLock('sweep', Math.max(10, sweepMs - 10))) {
                await rooms.sweep();
                if (cluster.shared) {
                    // Requests whose instance went away before timing them out.
                    await relay.sweepExpired(Date.now(), Math.max(1000, sweepMs));
                }
            }
        })().catch(error => isStoreUnavailable(error)
            ? logLimiter.log('warn', ['store'], { err: error }, 'room cleanup failed: the store is away')
            : logger.error({ err: error }, 'room cleanup failed')).finally(() => sweeping = false);
    }, sweepMs);
    sweepTimer.unref();

    let checking = false;
    const checkTimer = setInterval(() => {
        if (checking) {
            return;
        }
        checking = true;
        (async () => {
            await replayWindow.sweep();
            if (cluster.shared && cluster.ready) {
                await rooms.checkLocalRooms();
            }
        })().catch(error => logLimiter.log(isStoreUnavailable(error) ? 'warn' : 'error', ['store'], { err: error }, 'checking the rooms of this instance failed'))
            .finally(() => checking = false);
    }, options.storeCheckIntervalMs ?? 2000);
    checkTimer.unref();

    return {
        stop() {
            clearInterval(sweepTimer);
            clearInterval(checkTimer);
        }
    };
}
