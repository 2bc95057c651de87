/**
 * Relayed requests waiting for their response: who asked whom, and until when. Shared by all server
 * instances when Redis is used (redis-store.ts), so a response or a timeout may be handled by any
 * instance, and exactly one of them answers.
 */

export interface PendingRequest {
    room: string;
    requester: string;
    responder: string;
    id: number;
    /** Epoch ms after which the requester gets a `timeout` response. */
    deadline: number;
}

export type AddResult = 'ok' | 'duplicate' | 'too-many';

export interface PendingRequestStore {
    /** Records a request unless one with this id is pending, or the requester has `maxPerRequester` pending. */
    add(request: PendingRequest, maxPerRequester: number): Promise<AddResult>;
    /**
     * Removes and returns the request `(room, requester, id)`, only if it waits for `responder` (when
     * given). Of concurrent callers, one gets it.
     */
    take(room: string, requester: string, id: number, responder?: string): Promise<PendingRequest | undefined>;
    /** A peer left: forgets its own requests, and removes and returns the requests waiting for it. */
    peerLeft(room: string, peer: string): Promise<PendingRequest[]>;
    roomClosed(room: string): Promise<void>;
    /** Removes and returns up to `limit` requests whose deadline is before `now`. */
    takeExpired(now: number, limit: number): Promise<PendingRequest[]>;
    close(): Promise<void>;
}

export class MemoryPendingRequests implements PendingRequestStore {
    /** room -> requester -> id -> request */
    protected readonly rooms = new Map<string, Map<string, Map<number, PendingRequest>>>();

    async add(request: PendingRequest, maxPerRequester: number): Promise<AddResult> {
        let byRequester = this.rooms.get(request.room);
        if (!byRequester) {
            byRequester = new Map();
            this.rooms.set(request.room, byRequester);
        }
        let requests = byRequester.get(request.requester);
        if (!requests) {
            requests = new Map();
            byRequester.set(request.requester, requests);
        }
        if (requests.has(request.id)) {
            return 'duplicate';
        }
        if (requests.size >= maxPerRequester) {
            return 'too-many';
        }
        requests.set(request.id, { ...request });
        return 'ok';
    }

    async take(room: string, requester: string, id: number, responder?: string): Promise<PendingRequest | undefined> {
        const request = this.rooms.get(room)?.get(requester)?.get(id);
        if (!request || (responder !== undefined && request.responder !== responder)) {
            return undefined;
        }
        this.delete(request);
        return request;
    }

    async peerLeft(room: string, peer: string): Promise<PendingRequest[]> {
        const byRequester = this.rooms.get(room);
        if (!byRequester) {
            return [];
        }
        byRequester.delete(peer);
        const taken: PendingRequest[] = [];
        for (const requests of [...byRequester.values()]) {
            for (const request of [...requests.values()]) {
                if (request.responder === peer) {
                    this.delete(request);
                    taken.push(request);
                }
            }
        }
        if (byRequester.size === 0) {
            this.rooms.delete(room);
        }
        return taken;
    }

    async roomClosed(room: string): Promise<void> {
        this.rooms.delete(room);
    }

    async takeExpired(now: number, limit: number): Promise<PendingRequest[]> {
        const taken: PendingRequest[] = [];
        for (const byRequester of [...this.rooms.values()]) {
            for (const requests of [...byRequester.values()]) {
                for (const request of [...requests.values()]) {
                    if (taken.length >= limit) {
                        return taken;
                    }
                    if (request.deadline < now) {
                        this.delete(request);
                        taken.push(request);
                    }
                }
            }
        }
        return taken;
    }

    async close(): Promise<void> {
        this.rooms.clear();
    }

    get size(): number {
        let count = 0;
        this.rooms.forEach(byRequester => byRequester.forEach(requests => count += requests.size));
        return count;
    }

    protected delete(request: PendingRequest): void {
        const byRequester = this.rooms.get(request.room);
        const requests = byRequester?.get(request.requester);
        if (requests?.delete(request.id) && requests.size === 0) {
            byRequester!.delete(request.requester);
            if (byRequester!.size === 0) {
                this.rooms.delete(request.room);
            }
        }
    }
}
