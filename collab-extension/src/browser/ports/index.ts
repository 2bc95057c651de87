export * from './port-frontend-bindings';
export * from './port-share-contribution';
export * from './port-share-service';
