import { Global, Module } from '@nestjs/common';
import { parseEnvironment, type Environment } from './environment';

/** Injection token of the validated environment. */
export const ENVIRONMENT = Symbol('ENVIRONMENT');

/**
 * Validates the environment once, at module construction: a bad variable stops the process
 * before any connection is opened.
 */
@Global()
@Module({
  providers: [{ provide: ENVIRONMENT, useFactory: (): Environment => parseEnvironment(process.env) }],
  exports: [ENVIRONMENT],
})
export class ConfigModule {}
