export * from './port-backend-bindings';
export * from './port-tunnel-service';
