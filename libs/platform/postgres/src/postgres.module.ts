import path from 'node:path';
import {
  Global,
  Injectable,
  Logger,
  Module,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ENVIRONMENT, type Environment } from '@tripline/config';
import { dataSourceOptions, migratePostgres } from './data-source';
import { EmbeddedPostgres } from './embedded-postgres';

/** Where the relational store is: the server of DATABASE_URL, or the embedded engine. */
export class PostgresEndpoint implements OnApplicationShutdown {
  constructor(
    readonly url: string,
    readonly engine: EmbeddedPostgres | undefined,
    private readonly moduleRef: ModuleRef,
  ) {}

  get embedded(): boolean {
    return this.engine !== undefined;
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.engine) return;
    // The engine must outlive the connection pool, whichever module Nest shuts down first.
    const dataSource = this.moduleRef.get(DataSource, { strict: false });
    if (dataSource.isInitialized) await dataSource.destroy();
    await this.engine.stop();
  }
}

/** Applies pending migrations before any module's bootstrap code reads a table. */
@Injectable()
class PostgresMigrations implements OnModuleInit {
  constructor(
    private readonly dataSource: DataSource,
    private readonly endpoint: PostgresEndpoint,
  ) {}

  async onModuleInit(): Promise<void> {
    const applied = await migratePostgres(this.dataSource, this.endpoint.embedded);
    new Logger('PostgreSQL').log(`ready; migrations applied: ${applied.join(', ') || 'none pending'}`);
  }
}

@Global()
@Module({
  providers: [
    {
      provide: PostgresEndpoint,
      inject: [ENVIRONMENT, ModuleRef],
      useFactory: async (environment: Environment, moduleRef: ModuleRef) => {
        if (environment.DATABASE_URL)
          return new PostgresEndpoint(environment.DATABASE_URL, undefined, moduleRef);
        const engine = new EmbeddedPostgres(path.join(environment.TRIPLINE_DATA_DIR, 'postgres'));
        return new PostgresEndpoint(await engine.start(), engine, moduleRef);
      },
    },
  ],
  exports: [PostgresEndpoint],
})
class PostgresEndpointModule {}

@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      imports: [PostgresEndpointModule],
      inject: [PostgresEndpoint],
      useFactory: (endpoint: PostgresEndpoint) => ({
        ...dataSourceOptions(endpoint.url, [], endpoint.embedded),
        autoLoadEntities: true,
        retryAttempts: 10,
        retryDelay: 2_000,
      }),
    }),
  ],
  providers: [PostgresMigrations],
  exports: [TypeOrmModule],
})
export class PostgresModule {}
