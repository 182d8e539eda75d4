export * from './stream-detection.module';
export * from './stream-detector.service';
export * from './window-source';
export * from './windows';
export * from './window-encoder';
