export * from './evidence-input';
export * from './evidence-pack';
export * from './frameworks';
export * from './render-html';
export * from './evidence.controller';
export * from './evidence.module';
export * from './evidence.service';
export * from './posture';
