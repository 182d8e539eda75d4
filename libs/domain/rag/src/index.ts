export * from './allow-list';
export * from './canary-citations';
export * from './citation-rule';
export * from './injection-patterns';
export * from './knowledge-base-scan';
export * from './similarity';
