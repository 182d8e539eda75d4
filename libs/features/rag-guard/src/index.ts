export * from './rag-citation-guard';
export * from './rag-guard.module';
