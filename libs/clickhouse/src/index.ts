export * from './clickhouse';
export * from './clickhouse.module';
export * from './migration';
export * from './migrations';
