export * from './collab-file-system-provider';
export * from './collaboration-workspace-service';
export * from './fs-frontend-bindings';
export * from './fs-guest-contribution';
export * from './fs-host-contribution';
export * from './participant-commands-contribution';
