export * from './browser';
export * from './coordination-server';
export * from './paths';
export * from './theia-backend';
export * from './wait';
