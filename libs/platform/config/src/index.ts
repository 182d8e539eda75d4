export * from './environment';
export * from './config.module';
export * from './load';
export * from './own-listeners';
