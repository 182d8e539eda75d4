import { Controller, Get, Optional, Req } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorService,
  type HealthIndicatorFunction,
} from '@nestjs/terminus';
import { DataSource } from 'typeorm';
import { ClickHouse } from '@tripline/clickhouse';
import { hidePaths, Public } from '@tripline/http';
import { EventBus } from '@tripline/transport';

const CHECK_TIMEOUT_MS = 5_000;

/**
 * Liveness plus the readiness of each store this process holds. A process composed without a
 * store (an evaluator has no ClickHouse) simply does not report it.
 */
@Public()
@ApiTags('operations')
@Controller('health')
export class HealthController {
  private readonly startedAt = Date.now();

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    @Optional() private readonly clickHouse?: ClickHouse,
    @Optional() private readonly dataSource?: DataSource,
    @Optional() private readonly bus?: EventBus,
  ) {}

  @Get()
  @HealthCheck()
  @ApiOperation({
    summary: 'Liveness and the readiness of ClickHouse, PostgreSQL and the event bus',
    description:
      'Each check with its status, latency and detail. Filesystem paths in a detail (the embedded data directory) are shown only to callers that send a valid API key (any role).',
  })
  check(@Req() request: { principal?: unknown }) {
    // Details name the data directory: a path is for callers with a key only.
    const detailed = request.principal !== undefined;
    const checks: HealthIndicatorFunction[] = [
      () =>
        this.indicator
          .check('process')
          .up({ uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000) }),
    ];
    const { clickHouse, dataSource, bus } = this;
    if (clickHouse) checks.push(() => this.probe('clickhouse', () => clickHouse.check(), detailed));
    if (dataSource) checks.push(() => this.probe('postgres', () => postgresCheck(dataSource), detailed));
    if (bus)
      checks.push(() => this.probe(bus.kind === 'kafka' ? 'kafka' : 'bus', () => bus.check(), detailed));
    return this.health.check(checks);
  }

  @Get('live')
  @ApiOperation({ summary: 'Liveness only: the process answers' })
  live() {
    return { status: 'ok' };
  }

  private async probe(key: string, run: () => Promise<{ up: boolean; detail: string }>, detailed: boolean) {
    const session = this.indicator.check(key);
    const started = Date.now();
    const result = await Promise.race([
      run(),
      new Promise<{ up: boolean; detail: string }>((resolve) =>
        setTimeout(
          () => resolve({ up: false, detail: `no answer within ${CHECK_TIMEOUT_MS} ms` }),
          CHECK_TIMEOUT_MS,
        ).unref(),
      ),
    ]);
    const latencyMs = Date.now() - started;
    const data = { detail: detailed ? result.detail : hidePaths(result.detail), latencyMs };
    return result.up ? session.up(data) : session.down(data);
  }
}

async function postgresCheck(dataSource: DataSource): Promise<{ up: boolean; detail: string }> {
  try {
    if (!dataSource.isInitialized) return { up: false, detail: 'connection pool not initialised' };
    const [row] = (await dataSource.query('SHOW server_version')) as { server_version: string }[];
    return { up: true, detail: `PostgreSQL ${row.server_version}` };
  } catch (error) {
    return { up: false, detail: error instanceof Error ? error.message : String(error) };
  }
}
