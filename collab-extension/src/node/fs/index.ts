export * from './host-path-resolver';
export * from './host-file-system';
export * from './host-file-system-service';
export * from './host-file-system-backend-bindings';
