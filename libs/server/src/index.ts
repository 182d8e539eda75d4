export * from './bootstrap';
export * from './health.controller';
export * from './metrics';
export * from './operability.module';
export * from './store-unavailable.filter';
