export * from './model-adapter';
