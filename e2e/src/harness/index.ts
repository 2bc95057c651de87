export * from './browser';
export * from './coordination-server';
export * from './paths';
export * from './theia-backend';
export * from './wait';
export * from './collaboration';
export * from './suite';
export * from './ide';
