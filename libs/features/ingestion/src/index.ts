export * from './event-sink';
export * from './ingest.controller';
export * from './ingestion.modules';
export * from './model-drift';
export * from './model-stats';
export * from './model-timeseries';
export * from './rows';
export * from './table-buffer';
