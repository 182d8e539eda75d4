export * from './artefact-integrity';
export * from './evaluation-executor';
export * from './evaluation-scheduler';
export * from './evaluation-worker';
export * from './evaluator.module';
export * from './manifest-hashing';
export * from './word-list';
