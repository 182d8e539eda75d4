export * from './manifest';
export * from './signing';
