export * from './zod-body.pipe';
export * from './openapi';
export * from './public-route';
export * from './html-report';
