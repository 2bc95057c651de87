/**
 * Splitting Yjs payloads that exceed one message and reassembling them, with bounded memory.
 */
import { EditorLimits } from './editor-protocol';

export function splitBytes(bytes: Uint8Array, size: number = EditorLimits.chunkBytes): Uint8Array[] {
    const parts: Uint8Array[] = [];
    for (let offset = 0; offset < bytes.byteLength; offset += size) {
        parts.push(bytes.subarray(offset, Math.min(bytes.byteLength, offset + size)));
    }
    return parts.length ? parts : [bytes];
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
    const total = parts.reduce((sum, part) => sum + part.byteLength, 0);
    const result = new Uint8Array(total);
    let offset = 0;
    for (const part of parts) {
        result.set(part, offset);
        offset += part.byteLength;
    }
    return result;
}

let counter = 0;
/** A transfer id unique within this process (and random enough across peers). */
export function newTransferId(): string {
    counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
    return `${Date.now().toString(36)}-${counter.toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

interface Partial {
    count: number;
    parts: (Uint8Array | undefined)[];
    received: number;
    bytes: number;
    touched: number;
}

/**
 * Reassembles split updates per sender. Refuses (returns an error string) what would exceed the limits;
 * incomplete transfers expire after `EditorLimits.transferTtlMs`.
 */
export class ChunkAssembler {
    protected readonly partials = new Map<string, Map<string, Partial>>();

    constructor(protected readonly now: () => number = Date.now) { }

    /** The whole payload when the last part arrived, `undefined` while waiting, or an error message. */
    accept(sender: string, id: string, index: number, count: number, data: Uint8Array): Uint8Array | undefined | { error: string } {
        this.expire();
        if (index >= count) {
            return { error: 'part index out of range' };
        }
        let ofSender = this.partials.get(sender);
        if (!ofSender) {
            ofSender = new Map();
            this.partials.set(sender, ofSender);
        }
        let partial = ofSender.get(id);
        if (!partial) {
            if (ofSender.size >= EditorLimits.maxPartialUpdatesPerPeer) {
                return { error: 'too many partial updates' };
            }
            partial = { count, parts: new Array(count), received: 0, bytes: 0, touched: this.now() };
            ofSender.set(id, partial);
        }
        if (partial.count !== count) {
            ofSender.delete(id);
            return { error: 'inconsistent part count' };
        }
        partial.touched = this.now();
        if (!partial.parts[index]) {
            partial.bytes += data.byteLength;
            if (partial.bytes > EditorLimits.maxUpdateBytes) {
                ofSender.delete(id);
                return { error: 'update too large' };
            }
            partial.parts[index] = data.slice();
            partial.received++;
        }
        if (partial.received < partial.count) {
            return undefined;
        }
        ofSender.delete(id);
        if (!ofSender.size) {
            this.partials.delete(sender);
        }
        return concatBytes(partial.parts as Uint8Array[]);
    }

    forget(sender: string): void {
        this.partials.delete(sender);
    }

    clear(): void {
        this.partials.clear();
    }

    protected expire(): void {
        const limit = this.now() - EditorLimits.transferTtlMs;
        for (const [sender, ofSender] of this.partials) {
            for (const [id, partial] of ofSender) {
                if (partial.touched < limit) {
                    ofSender.delete(id);
                }
            }
            if (!ofSender.size) {
                this.partials.delete(sender);
            }
        }
    }
}
