/**
 * The last N bytes (UTF-8) of a terminal's raw output, kept by the host for guests who join late.
 * When it has to cut, it cuts at a line start where it can, so a snapshot rarely begins inside an
 * escape sequence.
 */
export function utf8ByteLength(text: string): number {
    let bytes = 0;
    for (let i = 0; i < text.length; i++) {
        const code = text.charCodeAt(i);
        if (code < 0x80) {
            bytes += 1;
        } else if (code < 0x800) {
            bytes += 2;
        } else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
            const next = text.charCodeAt(i + 1);
            if (next >= 0xdc00 && next <= 0xdfff) {
                bytes += 4;
                i++;
            } else {
                bytes += 3;
            }
        } else {
            bytes += 3;
        }
    }
    return bytes;
}

/** The longest suffix of `text` that takes at most `maxBytes` UTF-8 bytes (never splits a surrogate pair). */
export function utf8Tail(text: string, maxBytes: number): string {
    if (maxBytes <= 0) {
        return '';
    }
    let bytes = 0;
    let start = text.length;
    while (start > 0) {
        const code = text.charCodeAt(start - 1);
        let width = 1;
        let size = code < 0x80 ? 1 : code < 0x800 ? 2 : 3;
        if (code >= 0xdc00 && code <= 0xdfff && start > 1) {
            const previous = text.charCodeAt(start - 2);
            if (previous >= 0xd800 && previous <= 0xdbff) {
                width = 2;
                size = 4;
            }
        }
        if (bytes + size > maxBytes) {
            break;
        }
        bytes += size;
        start -= width;
    }
    return text.slice(start);
}

export class TerminalScrollback {
    protected chunks: { data: string; bytes: number }[] = [];
    protected total = 0;

    constructor(protected maxBytes: number) {
        if (!Number.isFinite(maxBytes) || maxBytes < 0) {
            throw new RangeError(`invalid scrollback size ${maxBytes}`);
        }
    }

    get byteLength(): number {
        return this.total;
    }

    get limit(): number {
        return this.maxBytes;
    }

    /** The kept output, oldest first. */
    get text(): string {
        if (this.chunks.length > 1) {
            // Compact, so repeated snapshots do not join thousands of small chunks again and again.
            const data = this.chunks.map(chunk => chunk.data).join('');
            this.chunks = [{ data, bytes: this.total }];
        }
        return this.chunks.length ? this.chunks[0].data : '';
    }

    append(data: string): void {
        if (!data) {
            return;
        }
        const bytes = utf8ByteLength(data);
        this.chunks.push({ data, bytes });
        this.total += bytes;
        this.trim();
    }

    setLimit(maxBytes: number): void {
        this.maxBytes = Math.max(0, maxBytes);
        this.trim();
    }

    clear(): void {
        this.chunks = [];
        this.total = 0;
    }

    protected trim(): void {
        while (this.total > this.maxBytes && this.chunks.length) {
            const first = this.chunks[0];
            const excess = this.total - this.maxBytes;
            if (first.bytes <= excess) {
                this.chunks.shift();
                this.total -= first.bytes;
                continue;
            }
            let kept = utf8Tail(first.data, first.bytes - excess);
            const atLineStart = first.data.charAt(first.data.length - kept.length - 1) === '\n';
            const newline = atLineStart ? -1 : kept.indexOf('\n');
            if (newline >= 0) {
                kept = kept.slice(newline + 1);
            }
            const bytes = utf8ByteLength(kept);
            this.total -= first.bytes - bytes;
            if (kept) {
                this.chunks[0] = { data: kept, bytes };
            } else {
                this.chunks.shift();
            }
        }
    }
}
