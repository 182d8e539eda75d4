export * from './zod-body.pipe';
export * from './openapi';
export * from './public-route';
export * from './request-authentication';
export * from './html-report';
export * from './hide-paths';
