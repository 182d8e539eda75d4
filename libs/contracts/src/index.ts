export * from './topics';
export * from './limits';
export * from './inference-event';
export * from './inference-event-check';
export * from './validation';
export * from './json-schemas';
export * from './history';
export { identifierPattern, parseInstant, parseRfc3339 } from './fields';
export * from './json-depth';
