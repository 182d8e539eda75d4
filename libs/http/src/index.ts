export * from './zod-body.pipe';
export * from './openapi';
