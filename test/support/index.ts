export * from './services';
export * from './processes';
export * from './ingestion';
export * from './zoo';
export * from './tabular';
export * from './manifests';
