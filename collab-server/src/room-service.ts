/**
 * Room lifecycle: create, join approval, permissions, removal, key distribution, leaving, resuming
 * and cleanup. Room state lives in the RoomStore (possibly shared by several instances through
 * Redis): every change is an atomic update there, then the peer bus brings the sockets concerned (on
 * whichever instance) in step, then the events go out. Mutations of one room are also serialized per
 * instance (KeyedMutex, shared by every part), which keeps optimistic-update conflicts rare.
 *
 * This class is the one entry point; the work is done by its parts, split along their seams:
 * - room-admission.ts: create, join, admit, deny;
 * - host-controls.ts: permission, removal, rekey;
 * - room-departures.ts: leaving and disconnections (grace periods in grace-periods.ts);
 * - room-resume.ts: resuming with a room token, and detaching this instance's members when it stops;
 * - room-replay.ts: `room:replay`;
 * - room-cleanup.ts: the periodic sweep and the check for rooms lost from a shared store;
 * - room-exits.ts: closing a room, removing a guest, cancelling a join request (used by the others).
 */
import type { RoomClosedReason } from '@theia-collab/protocol/lib/wire';
import type {
    Admit, CreateRoom, CreateRoomResult, Deny, JoinRoom, JoinRoomResult, LeaveRoom, Rekey, RemovePeer, Replay, ReplayResult, SetPermission
} from '@theia-collab/protocol/lib/wire';
import { GracePeriods } from './grace-periods';
import type { HandlerResult } from './handler-result';
import { HostControls } from './host-controls';
import { RoomAdmission } from './room-admission';
import { RoomCleanup } from './room-cleanup';
import { RoomDepartures } from './room-departures';
import { RoomExits } from './room-exits';
import { CLOSE_MESSAGES } from './room-messages';
import { RoomContext, RoomServiceDependencies } from './room-part';
import { RoomReplay } from './room-replay';
import { RoomResume } from './room-resume';
import type { RoomRecord } from './rooms';
import type { CollabSocket } from './socket-state';

export type { HandlerResult } from './handler-result';
export { CLOSE_MESSAGES, LOST_STATE_MESSAGE } from './room-messages';
export type { RoomServiceDependencies, RoomServiceOptions } from './room-part';

export class RoomService {
    protected readonly exits: RoomExits;
    protected readonly grace: GracePeriods;
    protected readonly admission: RoomAdmission;
    protected readonly hostControls: HostControls;
    protected readonly departures: RoomDepartures;
    protected readonly resumption: RoomResume;
    protected readonly replays: RoomReplay;
    protected readonly cleanup: RoomCleanup;

    constructor(deps: RoomServiceDependencies) {
        const context = new RoomContext(deps);
        this.exits = new RoomExits(context);
        this.grace = new GracePeriods(context, this.exits);
        this.admission = new RoomAdmission(context);
        this.hostControls = new HostControls(context, this.exits);
        this.departures = new RoomDepartures(context, this.exits, this.grace);
        this.resumption = new RoomResume(context, this.exits, this.grace);
        this.replays = new RoomReplay(context);
        this.cleanup = new RoomCleanup(context, this.exits, this.departures, this.grace);
    }

    create(socket: CollabSocket, request: CreateRoom): Promise<HandlerResult<CreateRoomResult>> {
        return this.admission.create(socket, request);
    }

    join(socket: CollabSocket, request: JoinRoom): Promise<HandlerResult<JoinRoomResult>> {
        return this.admission.join(socket, request);
    }

    admit(socket: CollabSocket, request: Admit): Promise<HandlerResult> {
        return this.admission.admit(socket, request);
    }

    deny(socket: CollabSocket, request: Deny): Promise<HandlerResult> {
        return this.admission.deny(socket, request);
    }

    setPermission(socket: CollabSocket, request: SetPermission): Promise<HandlerResult> {
        return this.hostControls.setPermission(socket, request);
    }

    remove(socket: CollabSocket, request: RemovePeer): Promise<HandlerResult> {
        return this.hostControls.remove(socket, request);
    }

    rekey(socket: CollabSocket, request: Rekey): Promise<HandlerResult> {
        return this.hostControls.rekey(socket, request);
    }

    leave(socket: CollabSocket, request: LeaveRoom): Promise<HandlerResult> {
        return this.departures.leave(socket, request);
    }

    /** A socket went away (see RoomDepartures.disconnected). */
    disconnected(socket: CollabSocket, reason?: string): Promise<void> {
        return this.departures.disconnected(socket, reason);
    }

    /** A connection that presented a room token takes over its member (see RoomResume.resume). */
    resume(socket: CollabSocket): Promise<void> {
        return this.resumption.resume(socket);
    }

    /** `resume`, retried through a store outage. */
    resumeConnection(socket: CollabSocket): Promise<void> {
        return this.resumption.resumeConnection(socket);
    }

    replay(socket: CollabSocket, request: Replay): Promise<HandlerResult<ReplayResult>> {
        return this.replays.replay(socket, request);
    }

    /** This instance stops while others go on: its members keep their place (see RoomResume.detachLocal). */
    detachLocal(): Promise<void> {
        return this.resumption.detachLocal();
    }

    /** Closes a room for everyone still in it (the leaving host excepted). False if it was gone (or `condition` failed). */
    closeRoom(roomId: string, reason: RoomClosedReason, message = CLOSE_MESSAGES[reason], condition?: (room: RoomRecord) => boolean): Promise<boolean> {
        return this.exits.closeRoom(roomId, reason, message, condition);
    }

    closeAll(reason: RoomClosedReason): Promise<void> {
        return this.exits.closeAll(reason);
    }

    /** Periodic, per instance, with a shared store (see RoomCleanup.checkLocalRooms). */
    checkLocalRooms(): Promise<void> {
        return this.cleanup.checkLocalRooms();
    }

    /** Periodic, one instance at a time (see RoomCleanup.sweep). */
    sweep(now = Date.now()): Promise<void> {
        return this.cleanup.sweep(now);
    }

    /** Stops the grace period timers (the server stops). */
    dispose(): void {
        this.grace.dispose();
    }
}
