/**
 * What a server instance knows about the other instances it serves rooms with: its own id, which
 * instances are alive, a cluster-wide lock for periodic chores, and readiness of the shared backend.
 * One instance alone is a cluster of one (LocalCluster); with Redis see redis.ts.
 */
import { randomId } from './auth';

export interface Cluster {
    /** Random per process start: a restarted instance is a new instance. */
    readonly instanceId: string;
    /** True when several instances may share rooms (Redis). */
    readonly shared: boolean;
    /** Instances that recently reported themselves alive (this one included). */
    liveInstances(): Promise<Set<string>>;
    /**
     * Takes the named lock for `ttlMs` if no instance holds it. Used so that one instance per period
     * does the cleanup sweep; the lock is not released early, it expires.
     */
    tryLock(name: string, ttlMs: number): Promise<boolean>;
    /** Throws when the shared backend does not answer. */
    ping(): Promise<void>;
    /** False while the shared backend is known to be away (its connection is down). */
    readonly ready: boolean;
    close(): Promise<void>;
}

export class LocalCluster implements Cluster {
    readonly instanceId = randomId(9);
    readonly shared = false;
    readonly ready = true;

    async liveInstances(): Promise<Set<string>> {
        return new Set([this.instanceId]);
    }

    async tryLock(): Promise<boolean> {
        return true;
    }

    async ping(): Promise<void> { }

    async close(): Promise<void> { }
}
