import { Controller, Get, Injectable } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireRole } from '@tripline/auth';
import { ClickHouse, clickHouseTime } from '@tripline/clickhouse';
import { ApiWindowQuery, ModelIdParam, WindowQuery, type ModelWindow } from './model-window';

/** Buckets a chart can hold per range at most; the bucket width grows in these steps to stay under it. */
export const MAX_TRAFFIC_BUCKETS = 240;
const BUCKET_STEPS_SECONDS = [10, 30, 60, 300, 900, 1_800, 3_600, 10_800, 21_600, 43_200, 86_400];
/** Rows read per series family at most; `truncated` says when a range held more. */
export const MAX_SERIES_ROWS = 20_000;

/** The narrowest bucket that keeps a range under MAX_TRAFFIC_BUCKETS buckets. */
export function bucketSecondsFor(fromMs: number, toMs: number): number {
  const spanSeconds = Math.max(1, (toMs - fromMs) / 1_000);
  return (
    BUCKET_STEPS_SECONDS.find((step) => spanSeconds / step <= MAX_TRAFFIC_BUCKETS) ??
    Math.ceil(spanSeconds / MAX_TRAFFIC_BUCKETS / 86_400) * 86_400
  );
}

export interface EvaluationPoint {
  run_id: string;
  dataset_id: string;
  dataset_kind: string;
  model_version: string;
  finished_at: string;
  accuracy: number | null;
  macro_f1: number | null;
  attack_success_rate: number | null;
  /** The trigger with the highest attack-success rate in a canary run, and that rate. */
  worst_trigger: { trigger: string; attack_success_rate: number } | null;
  fingerprint: string | null;
}

export interface DriftSeries {
  metric: string;
  detector: string;
  /** The input feature of a per-feature metric; null for the event-level detectors. */
  feature: string | null;
  points: {
    window_end: string;
    statistic: number | null;
    p_value: number | null;
    verdict: string;
  }[];
}

export interface TrafficBucket {
  bucket_start: string;
  events: number;
  events_per_second: number;
  latency_ms_mean: number | null;
  latency_ms_p90: number | null;
}

export interface AlertMarker {
  timestamp: string;
  alert_id: string;
  state: string;
  severity: string;
  rule_name: string;
  metric: string;
  summary: string;
}

export interface ModelTimeSeries {
  model_id: string;
  from: string;
  to: string;
  bucket_seconds: number;
  evaluations: EvaluationPoint[];
  drift: DriftSeries[];
  traffic: TrafficBucket[];
  alerts: AlertMarker[];
  /** True when a family held more than MAX_SERIES_ROWS rows in the range: narrow it to see the rest. */
  truncated: boolean;
}

const finite = (value: unknown): number | null => {
  if (value === null || value === undefined) return null;
  const number = Number(value);
  return Number.isFinite(number) ? number : null;
};

const iso = (ms: unknown) => new Date(Number(ms)).toISOString();

/** A row as ClickHouse returns it in JSONEachRow: numbers may come as strings (UInt64). */
type Row = Record<string, unknown>;

function evaluationPoint(row: Row): EvaluationPoint {
  return {
    run_id: String(row.run_id),
    dataset_id: String(row.dataset_id),
    dataset_kind: String(row.dataset_kind),
    model_version: String(row.model_version),
    finished_at: iso(row.finished_ms),
    accuracy: finite(row.accuracy),
    macro_f1: finite(row.macro_f1),
    attack_success_rate: finite(row.attack_success_rate),
    worst_trigger: worstTrigger(row.triggers, row.rates),
    fingerprint: row.fingerprint ? String(row.fingerprint) : null,
  };
}

/** One series per metric and detector, its points in window order (the rows come sorted so). */
function driftSeriesOf(rows: Row[]): DriftSeries[] {
  const series = new Map<string, DriftSeries>();
  for (const row of rows) {
    const key = `${row.metric}\u0000${row.detector}`;
    let entry = series.get(key);
    if (!entry) {
      entry = {
        metric: String(row.metric),
        detector: String(row.detector),
        feature: row.feature ? String(row.feature) : null,
        points: [],
      };
      series.set(key, entry);
    }
    entry.points.push({
      window_end: iso(row.end_ms),
      statistic: finite(row.statistic),
      p_value: finite(row.p_value),
      verdict: String(row.verdict),
    });
  }
  return [...series.values()];
}

/** Events per second over the bucket; a p90 latency only when some event reported one. */
function trafficBucket(row: Row, bucketSeconds: number): TrafficBucket {
  const events = Number(row.events);
  return {
    bucket_start: iso(row.bucket_ms),
    events,
    events_per_second: events / bucketSeconds,
    latency_ms_mean: finite(row.latency_mean),
    latency_ms_p90: Number(row.with_latency) > 0 ? finite(row.latency_p90) : null,
  };
}

function alertMarker(row: Row): AlertMarker {
  return {
    timestamp: iso(row.at_ms),
    alert_id: String(row.alert_id),
    state: String(row.state),
    severity: String(row.severity),
    rule_name: String(row.rule_name),
    metric: String(row.metric),
    summary: String(row.summary),
  };
}

/**
 * Read side of the history tables as time series for one model: evaluation figures per run, drift
 * results per metric and detector, inference events per bucket, and alert state changes. What the
 * console charts; every family is bounded and ordered by time.
 */
@Injectable()
export class ModelTimeSeriesService {
  constructor(private readonly clickHouse: ClickHouse) {}

  async series(modelId: string, from: number, to: number): Promise<ModelTimeSeries> {
    const bucket = bucketSecondsFor(from, to);
    const [evaluations, drift, traffic, alerts] = await this.families({
      model: modelId,
      from: clickHouseTime(from),
      to: clickHouseTime(to),
      limit: MAX_SERIES_ROWS + 1,
      bucket,
    });
    const truncated = [evaluations, drift, traffic, alerts].some((rows) => rows.length > MAX_SERIES_ROWS);
    const bounded = <T>(rows: T[]) => rows.slice(0, MAX_SERIES_ROWS);
    return {
      model_id: modelId,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      bucket_seconds: bucket,
      truncated,
      evaluations: bounded(evaluations).map(evaluationPoint),
      drift: driftSeriesOf(bounded(drift)),
      traffic: bounded(traffic).map((row) => trafficBucket(row, bucket)),
      alerts: bounded(alerts).map(alertMarker),
    };
  }

  /**
   * The four families' rows, read side by side: succeeded runs, drift results, events per
   * bucket and alert state changes; each one row over MAX_SERIES_ROWS, to tell when it was cut.
   */
  private families(params: Record<string, unknown>): Promise<Row[][]> {
    return Promise.all([
      this.rows<Row>(
        `SELECT run_id, dataset_id, dataset_kind, model_version,
                toUnixTimestamp64Milli(finished_at) AS finished_ms,
                accuracy, macro_f1, attack_success_rate, fingerprint,
                mapKeys(per_trigger_attack_success) AS triggers, mapValues(per_trigger_attack_success) AS rates
         FROM ${this.clickHouse.table('eval_runs')} FINAL
         WHERE model_id = {model:String} AND status = 'succeeded'
           AND finished_at >= {from:DateTime64(3, 'UTC')} AND finished_at < {to:DateTime64(3, 'UTC')}
         ORDER BY finished_at, run_id
         LIMIT {limit:UInt32}`,
        params,
      ),
      this.rows<Row>(
        `SELECT metric, detector, labels['feature'] AS feature,
                toUnixTimestamp64Milli(window_end) AS end_ms, statistic, p_value, verdict
         FROM ${this.clickHouse.table('drift_metrics')} FINAL
         WHERE model_id = {model:String}
           AND window_end > {from:DateTime64(3, 'UTC')} AND window_end <= {to:DateTime64(3, 'UTC')}
         ORDER BY metric, detector, window_end
         LIMIT {limit:UInt32}`,
        params,
      ),
      this.rows<Row>(
        `SELECT toUInt64(toUnixTimestamp(toStartOfInterval(timestamp, toIntervalSecond({bucket:UInt32})))) * 1000 AS bucket_ms,
                count() AS events, avgOrNull(latency_ms) AS latency_mean,
                quantileExactIf(0.9)(assumeNotNull(latency_ms), latency_ms IS NOT NULL) AS latency_p90,
                countIf(latency_ms IS NOT NULL) AS with_latency
         FROM ${this.clickHouse.table('inference_events')} FINAL
         WHERE model_id = {model:String}
           AND timestamp >= {from:DateTime64(3, 'UTC')} AND timestamp < {to:DateTime64(3, 'UTC')}
         GROUP BY bucket_ms ORDER BY bucket_ms
         LIMIT {limit:UInt32}`,
        params,
      ),
      this.rows<Row>(
        `SELECT toUnixTimestamp64Milli(timestamp) AS at_ms, alert_id, state, severity, rule_name, metric, summary
         FROM ${this.clickHouse.table('alert_events')} FINAL
         WHERE model_id = {model:String}
           AND timestamp >= {from:DateTime64(3, 'UTC')} AND timestamp < {to:DateTime64(3, 'UTC')}
         ORDER BY timestamp, alert_id
         LIMIT {limit:UInt32}`,
        params,
      ),
    ]);
  }

  private async rows<T>(query: string, query_params: Record<string, unknown>): Promise<T[]> {
    return (await this.clickHouse.client.query({ query, query_params, format: 'JSONEachRow' })).json<T>();
  }
}

function worstTrigger(triggers: unknown, rates: unknown): EvaluationPoint['worst_trigger'] {
  if (!Array.isArray(triggers) || !Array.isArray(rates)) return null;
  let worst: EvaluationPoint['worst_trigger'] = null;
  triggers.forEach((trigger, index) => {
    const rate = finite(rates[index]);
    if (rate !== null && (worst === null || rate > worst.attack_success_rate))
      worst = { trigger: String(trigger), attack_success_rate: rate };
  });
  return worst;
}

@ApiTags('models')
@ApiBearerAuth()
@Controller('v1/models')
export class ModelTimeSeriesController {
  constructor(private readonly timeSeries: ModelTimeSeriesService) {}

  @Get(':id/timeseries')
  @RequireRole('viewer')
  @ApiOperation({
    summary:
      "The model's history as time series (default: the last 24 hours): accuracy, macro-F1 and canary attack-success rate per evaluation run, drift statistic and p-value per metric and detector (per feature too), inference events and latency per bucket (bucket_seconds grows with the range, at most 240 buckets), and alert state changes",
  })
  @ApiWindowQuery()
  async get(@ModelIdParam() id: string, @WindowQuery() query: ModelWindow): Promise<ModelTimeSeries> {
    return this.timeSeries.series(id, query.from, query.to);
  }
}
