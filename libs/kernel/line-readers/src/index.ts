export * from './lines';
export * from './jsonl';
export * from './csv';
