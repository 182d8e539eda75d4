export * from './bootstrap';
export * from './health.controller';
export * from './http-request-metrics';
export * from './metrics';
export * from './operability.module';
export * from './store-unavailable.filter';
