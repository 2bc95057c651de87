export { startServer, ServerHandle, createOriginCheck } from './server';
export { ServerOptions, RateLimit, DEFAULT_OPTIONS, resolveOptions, loadOptions, parseDuration } from './config';
export { RoomStore, MemoryRoomStore, RoomRecord, MemberRecord, PendingJoinRecord } from './rooms';
export { LoginProvider, TokenService, UserIdentity, RoomClaims, hashSecret, verifySecret } from './auth';
export { createLogger } from './logger';
