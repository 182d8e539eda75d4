import path from 'node:path';
import { Global, Logger, Module } from '@nestjs/common';
import { ENVIRONMENT, type Environment } from '@tripline/config';
import { ClickHouse } from './clickhouse';
import { migrateClickHouse } from './migration';
import { CLICKHOUSE_MIGRATIONS } from './migrations';

export function clickHouseOptionsFrom(environment: Environment) {
  return {
    url: environment.CLICKHOUSE_URL,
    username: environment.CLICKHOUSE_USER,
    password: environment.CLICKHOUSE_PASSWORD,
    database: environment.CLICKHOUSE_DATABASE,
    dataDirectory: path.join(environment.TRIPLINE_DATA_DIR, 'clickhouse'),
  };
}

@Global()
@Module({
  providers: [
    {
      provide: ClickHouse,
      inject: [ENVIRONMENT],
      useFactory: async (environment: Environment) => {
        const logger = new Logger('ClickHouse');
        const clickHouse = new ClickHouse(clickHouseOptionsFrom(environment));
        const cluster = environment.CLICKHOUSE_CLUSTER;
        const report = await migrateClickHouse(
          clickHouse.client,
          clickHouse.database,
          CLICKHOUSE_MIGRATIONS,
          { cluster },
        );
        logger.log(
          `${clickHouse.kind} ClickHouse ready${cluster ? ` (cluster ${cluster})` : ''}; migrations applied: ${report.applied.join(', ') || 'none'} (${report.alreadyApplied.length} already applied)`,
        );
        return clickHouse;
      },
    },
  ],
  exports: [ClickHouse],
})
export class ClickHouseModule {}
