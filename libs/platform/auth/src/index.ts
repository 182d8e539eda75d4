export * from './api-key-authentication';
export * from './access.decorator';
export * from './api-key.entity';
export * from './api-key.guard';
export * from './api-key.service';
export * from './auth.module';
export * from './key-material';
export * from './roles';
