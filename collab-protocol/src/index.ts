export * from './errors';
export * from './events';
export * from './messages';
export * from './session';
export * from './wire';
export * from './crypto';
export * from './invite';
export * from './client';
