export * from './event-bus';
export * from './kafka-bus';
export * from './embedded-bus';
export * from './segment-log';
export * from './transport.module';
export * from './kafka-log';
export * from './topic-creation';
export * from './produce-requests';
