export * from './topics';
export * from './limits';
export * from './inference-event';
export * from './validation';
export * from './json-schemas';
export * from './history';
export * from './model-settings';
export { identifierPattern, parseInstant, parseRfc3339 } from './fields';
export * from './json-depth';
