export * from './bootstrap';
export * from './health.controller';
export * from './log-redaction';
export * from './http-request-metrics';
export * from './metrics';
export * from './operability.module';
export * from './store-unavailable.filter';
export * from './console.controller';
