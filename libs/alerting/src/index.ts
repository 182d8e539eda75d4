export * from './rules';
export * from './observations';
export * from './fingerprint';
export * from './silences';
export * from './engine';
export * from './grouping';
export * from './notifications';
export * from './channels';
