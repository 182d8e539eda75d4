export * from './drain-worker';
export * from './outbox';
export * from './outbox-publisher';
export * from './outbox.module';
