export * from './agent-participant';
