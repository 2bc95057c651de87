/**
 * Readiness for `GET /health`: 200 `{status: 'ok', rooms, sockets}` while this instance can serve
 * (with Redis: Redis answers too, and `redis`/`instance` are added), 503 while it stops
 * (`draining`) or when its store does not answer (`unavailable`). `GET /health/live` is liveness.
 */
import type { Cluster } from './cluster';
import type { RoomStore } from './rooms';

export interface HealthSources {
    cluster: Cluster;
    store: RoomStore;
    sockets(): number;
    draining(): boolean;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
        promise,
        new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('timed out')), ms); })
    ]).finally(() => clearTimeout(timer));
}

export async function checkHealth(sources: HealthSources): Promise<{ ready: boolean; body: object }> {
    const shared = sources.cluster.shared;
    const sockets = sources.sockets();
    const extra = shared ? { instance: sources.cluster.instanceId } : {};
    if (sources.draining()) {
        return { ready: false, body: { status: 'draining', sockets, ...extra } };
    }
    let redis: 'ok' | 'down' | undefined;
    if (shared) {
        redis = await sources.cluster.ping().then(() => 'ok' as const, () => 'down' as const);
    }
    const rooms = redis === 'down' ? undefined : await withTimeout(sources.store.count(), 1000).catch(() => undefined);
    const ready = redis !== 'down' && rooms !== undefined;
    return {
        ready,
        body: { status: ready ? 'ok' : 'unavailable', rooms, sockets, ...shared ? { redis, ...extra } : {} }
    };
}
