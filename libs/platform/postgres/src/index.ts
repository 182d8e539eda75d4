export * from './data-source';
export * from './embedded-postgres';
export * from './migrations';
export * from './postgres.module';
