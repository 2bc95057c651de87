/**
 * The host's invites: which secrets currently let a guest ask to join. A join request is shown to the host
 * only when its proof (invite.ts, `joinProof`) was made with the secret of an invite that is neither revoked,
 * expired nor used up; everything else is refused without asking anyone. The server never sees a secret,
 * so it can neither make a proof for a key of its own nor re-use a guest's proof for another key.
 */
import { randomBytes, toBase64Url } from './crypto';
import { checkJoinProof, createInvite, newInviteSecret } from './invite';
import { Invite, InviteOptions } from './session';

/** How many invites a host keeps at once; the oldest revoked or expired ones go first. */
const MAX_INVITES = 64;

interface InviteRecord {
    invite: Invite;
    revoked: boolean;
    used: boolean;
}

export class InviteRegistry {
    private readonly records = new Map<string, InviteRecord>();

    constructor(
        private readonly serverUrl: string,
        private readonly roomId: string,
        private readonly hostFingerprint: string,
        private readonly now: () => number = Date.now
    ) { }

    create(options: InviteOptions = {}, id = toBase64Url(randomBytes(6))): Invite {
        this.prune();
        const invite: Invite = createInvite(this.serverUrl, this.roomId, this.hostFingerprint, newInviteSecret(), id);
        if (options.expiresInMs !== undefined) {
            invite.expiresAt = this.now() + Math.max(0, options.expiresInMs);
        }
        if (options.singleUse) {
            invite.singleUse = true;
        }
        this.records.set(id, { invite, revoked: false, used: false });
        return invite;
    }

    revoke(id: string): boolean {
        const record = this.records.get(id);
        if (!record || !this.usable(record)) {
            return false;
        }
        record.revoked = true;
        return true;
    }

    /** The invites a guest can join with now. */
    list(): Invite[] {
        return [...this.records.values()].filter(record => this.usable(record)).map(record => record.invite);
    }

    /** The usable invite whose secret made `proof` for this guest key, if any. */
    match(publicKey: string, proof: string | undefined): Invite | undefined {
        for (const record of this.records.values()) {
            if (this.usable(record) && checkJoinProof(record.invite.secret, this.roomId, publicKey, proof)) {
                return record.invite;
            }
        }
        return undefined;
    }

    /** Whether a guest may still be admitted with this invite (it may have been revoked, or used, meanwhile). */
    isUsable(id: string): boolean {
        const record = this.records.get(id);
        return !!record && this.usable(record);
    }

    /** A guest was admitted with this invite: a single-use invite is used up. */
    consume(id: string): void {
        const record = this.records.get(id);
        if (record?.invite.singleUse) {
            record.used = true;
        }
    }

    clear(): void {
        this.records.clear();
    }

    private usable(record: InviteRecord): boolean {
        return !record.revoked && !record.used && (record.invite.expiresAt === undefined || record.invite.expiresAt > this.now());
    }

    private prune(): void {
        for (const [id, record] of this.records) {
            if (this.records.size < MAX_INVITES) {
                return;
            }
            if (!this.usable(record)) {
                this.records.delete(id);
            }
        }
        if (this.records.size >= MAX_INVITES) {
            // All usable: the oldest goes.
            this.records.delete(this.records.keys().next().value!);
        }
    }
}
