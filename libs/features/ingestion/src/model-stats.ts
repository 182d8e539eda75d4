import { Controller, Get, Injectable } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireRole } from '@tripline/auth';
import { ClickHouse, clickHouseTime } from '@tripline/clickhouse';
import type { LiveTrafficTexts } from '@tripline/runs';
import { ApiWindowQuery, ModelIdParam, WindowQuery, type ModelWindow } from './model-window';

const QUANTILES = [0.5, 0.9, 0.99] as const;

export interface ModelStats {
  model_id: string;
  from: string;
  to: string;
  events: number;
  first_event_at: string | null;
  last_event_at: string | null;
  labels: { label: string; count: number; share: number }[];
  confidence: Record<'p50' | 'p90' | 'p99', number | null> & { mean: number | null };
  latency_ms: Record<'p50' | 'p90' | 'p99', number | null> & { mean: number | null };
  feedback: { labelled: number; correct: number; accuracy: number | null };
}

const finite = (value: unknown): number | null => {
  const number = Number(value);
  return value === null || value === undefined || !Number.isFinite(number) ? null : number;
};

/** Read side of the inference stream: counts, distributions and feedback accuracy per model and window. */
@Injectable()
export class ModelStatsService implements LiveTrafficTexts {
  constructor(private readonly clickHouse: ClickHouse) {}

  async stats(modelId: string, from: number, to: number): Promise<ModelStats> {
    const params = { model: modelId, from: clickHouseTime(from), to: clickHouseTime(to) };
    // FINAL collapses redelivered duplicates (same event_id) that a background merge has not reached yet.
    const window = `FROM ${this.clickHouse.table('inference_events')} FINAL
      WHERE model_id = {model:String} AND timestamp >= {from:DateTime64(3, 'UTC')} AND timestamp < {to:DateTime64(3, 'UTC')}`;
    const [summary] = await this.rows<Record<string, unknown>>(
      `SELECT count() AS events,
              toUnixTimestamp64Milli(min(timestamp)) AS first_ms, toUnixTimestamp64Milli(max(timestamp)) AS last_ms,
              quantilesExact(${QUANTILES.join(', ')})(assumeNotNull(confidence)) AS confidence_q, avgOrNull(confidence) AS confidence_mean,
              quantilesExactIf(${QUANTILES.join(', ')})(assumeNotNull(latency_ms), latency_ms IS NOT NULL) AS latency_q, avgOrNull(latency_ms) AS latency_mean,
              countIf(confidence IS NOT NULL) AS with_confidence
       ${window}`,
      params,
    );
    const labels = await this.rows<{ label: string; count: string }>(
      `SELECT output_label AS label, count() AS count ${window} GROUP BY label ORDER BY count DESC, label LIMIT 1000`,
      params,
    );
    const [feedback] = await this.rows<{ labelled: string; correct: string }>(
      `SELECT count() AS labelled, countIf(truth.label = predicted.output_label) AS correct
       FROM (SELECT event_id, output_label ${window}) AS predicted
       INNER JOIN (
         SELECT event_id, argMax(label, ingested_at) AS label FROM ${this.clickHouse.table('feedback')}
         WHERE model_id = {model:String} GROUP BY event_id
       ) AS truth USING (event_id)`,
      params,
    );
    const events = Number(summary.events);
    const withConfidence = Number(summary.with_confidence);
    const quantiles = (values: unknown, present: boolean) => {
      const list = Array.isArray(values) ? values : [];
      return {
        p50: present ? finite(list[0]) : null,
        p90: present ? finite(list[1]) : null,
        p99: present ? finite(list[2]) : null,
      };
    };
    const labelled = Number(feedback?.labelled ?? 0);
    const correct = Number(feedback?.correct ?? 0);
    return {
      model_id: modelId,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      events,
      first_event_at: events ? new Date(Number(summary.first_ms)).toISOString() : null,
      last_event_at: events ? new Date(Number(summary.last_ms)).toISOString() : null,
      labels: labels.map((row) => ({
        label: row.label,
        count: Number(row.count),
        share: events ? Number(row.count) / events : 0,
      })),
      confidence: {
        ...quantiles(summary.confidence_q, withConfidence > 0),
        mean: finite(summary.confidence_mean),
      },
      latency_ms: {
        ...quantiles(summary.latency_q, summary.latency_mean !== null),
        mean: finite(summary.latency_mean),
      },
      feedback: { labelled, correct, accuracy: labelled ? correct / labelled : null },
    };
  }

  /** The input texts of the model's most recent inference events, newest first (trigger-scan candidates). */
  async recentTexts(modelId: string, limit: number): Promise<string[]> {
    // No FINAL: a duplicated event only counts its words twice, and this must stay cheap.
    const rows = await this.rows<{ text: string }>(
      `SELECT input_text AS text FROM ${this.clickHouse.table('inference_events')}
       WHERE model_id = {model:String} AND input_text != ''
       ORDER BY timestamp DESC LIMIT {limit:UInt32}`,
      { model: modelId, limit },
    );
    return rows.map((row) => row.text);
  }

  private async rows<T>(query: string, query_params: Record<string, unknown>): Promise<T[]> {
    return (await this.clickHouse.client.query({ query, query_params, format: 'JSONEachRow' })).json<T>();
  }
}

@ApiTags('models')
@ApiBearerAuth()
@Controller('v1/models')
export class ModelStatsController {
  constructor(private readonly stats: ModelStatsService) {}

  @Get(':id/stats')
  @RequireRole('viewer')
  @ApiOperation({
    summary:
      'Event count, label distribution, confidence and latency quantiles, and feedback accuracy in a window (default: the last 24 hours)',
  })
  @ApiWindowQuery()
  async get(@ModelIdParam() id: string, @WindowQuery() query: ModelWindow): Promise<ModelStats> {
    return this.stats.stats(id, query.from, query.to);
  }
}
