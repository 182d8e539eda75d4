export * from './entities';
export * from './live-traffic';
export * from './presenters';
export * from './run-queue.service';
export * from './runs.module';
export * from './schemas';
export * from './stored-dataset-scan';
