export * from './clickhouse';
export * from './clickhouse.module';
export * from './cluster';
export * from './migration';
export * from './migrations';
export * from './time';
