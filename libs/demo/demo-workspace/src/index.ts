export * from './demo-workspace.module';
export * from './demo-workspace.service';
export * from './options';
export * from './start';
export * from './state';
export * from './timeline';
export * from './traffic';
export * from './webhook-receiver';
