import { Controller, Get, Injectable } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { RequireRole } from '@tripline/auth';
import { ClickHouse, clickHouseTime } from '@tripline/clickhouse';
import { openApiSchema } from '@tripline/http';
import { ModelIdParam, WindowQuery, type ModelWindow } from './model-window';

/** Rows read per request at most: 200 features × 2 tests + 1, over about 120 windows. */
export const MAX_DRIFT_ROWS = 50_000;

export interface FeatureDrift {
  feature: string;
  type: string | null;
  detector: string;
  statistic: number | null;
  /** Benjamini–Hochberg-adjusted across the window's features. */
  p_value: number | null;
  raw_p_value: number | null;
  effect_size: number | null;
  verdict: string;
  sample_size: number;
  reference_size: number;
  /** The feature's missing-value rate test, when the window had one. */
  missing: {
    reference_share: number | null;
    current_share: number | null;
    change: number | null;
    p_value: number | null;
    verdict: string;
  } | null;
  details: Record<string, unknown>;
}

/**
 * A label-free performance estimate (CBPE) of one window: the value expected from the model's
 * scores calibrated on the reference feedback, its interval, and whether it can be trusted.
 */
export interface PerformanceEstimate {
  /** Null when there was no estimate (`verdict` insufficient-data; `reason` says why). */
  estimate: number | null;
  interval: [number, number] | null;
  interval_level: number | null;
  /** The realised value on the reference window's feedback, which the estimate is compared with. */
  reference: number | null;
  /** estimate − reference. */
  change: number | null;
  /** One-sided: the value fell below the reference's. */
  p_value: number | null;
  verdict: string;
  /**
   * valid; contradicted-by-feedback (the window's own feedback disagrees: concept drift or label
   * shift); no-calibration-data (the reference had too little feedback to calibrate on).
   */
  validity: string | null;
  warnings: string[];
  reason: string | null;
  sample_size: number;
  reference_size: number;
}

export interface DriftWindow {
  window_start: string;
  window_end: string;
  /** Estimated accuracy and macro-F1 without labels (CBPE); null where the window has none. */
  performance: {
    accuracy: PerformanceEstimate | null;
    macro_f1: PerformanceEstimate | null;
  } | null;
  /** Share of tested features that drifted, and the verdict of the share rule; null without features. */
  dataset: {
    share: number | null;
    verdict: string;
    drifted_features: string[];
    tested_features: number;
  } | null;
  features: FeatureDrift[];
}

export interface ModelDrift {
  model_id: string;
  from: string;
  to: string;
  windows: DriftWindow[];
  /** True when the range held more than MAX_DRIFT_ROWS results: narrow it to see the rest. */
  truncated: boolean;
}

/** The response of GET /v1/models/{id}/drift, for the OpenAPI document (the types above are the source). */
const nullableNumber = z.number().nullable();
const performanceEstimateDoc = z
  .object({
    estimate: nullableNumber.describe('CBPE estimate; null without one (see reason)'),
    interval: z.tuple([z.number(), z.number()]).nullable().describe('interval of the estimate'),
    interval_level: nullableNumber,
    reference: nullableNumber.describe("the reference window's realised value on its feedback"),
    change: nullableNumber.describe('estimate − reference'),
    p_value: nullableNumber.describe('one-sided: the value fell below the reference'),
    verdict: z.string().describe('ok | drift | insufficient-data'),
    validity: z.string().nullable().describe('valid | contradicted-by-feedback | no-calibration-data'),
    warnings: z.array(z.string()),
    reason: z.string().nullable(),
    sample_size: z.number(),
    reference_size: z.number(),
  })
  .nullable();
export const modelDriftResponseSchema = z.object({
  model_id: z.string(),
  from: z.string(),
  to: z.string(),
  truncated: z.boolean(),
  windows: z.array(
    z.object({
      window_start: z.string(),
      window_end: z.string(),
      performance: z
        .object({ accuracy: performanceEstimateDoc, macro_f1: performanceEstimateDoc })
        .nullable()
        .describe('label-free performance estimate (CBPE); null for windows without one'),
      dataset: z
        .object({
          share: nullableNumber,
          verdict: z.string(),
          drifted_features: z.array(z.string()),
          tested_features: z.number(),
        })
        .nullable(),
      features: z.array(
        z.object({
          feature: z.string(),
          type: z.string().nullable().describe('numeric | categorical'),
          detector: z.string(),
          statistic: nullableNumber,
          p_value: nullableNumber.describe('Benjamini–Hochberg-adjusted across the window’s features'),
          raw_p_value: nullableNumber,
          effect_size: nullableNumber,
          verdict: z.string(),
          sample_size: z.number(),
          reference_size: z.number(),
          missing: z
            .object({
              reference_share: nullableNumber,
              current_share: nullableNumber,
              change: nullableNumber,
              p_value: nullableNumber,
              verdict: z.string(),
            })
            .nullable(),
          details: z.record(z.string(), z.unknown()),
        }),
      ),
    }),
  ),
});

/** Compile-time check that the documented shape accepts what the service returns. */
export const documentedDrift = (drift: ModelDrift): z.infer<typeof modelDriftResponseSchema> => drift;

interface DriftRow {
  metric: string;
  detector: string;
  start_ms: string | number;
  end_ms: string | number;
  statistic: number | null;
  p_value: number | null;
  effect_size: number | null;
  sample_size: number;
  reference_size: number;
  verdict: string;
  feature: string;
  feature_type: string;
  details: string;
}

const number = (value: unknown): number | null =>
  typeof value === 'number' && Number.isFinite(value) ? value : null;

function parseDetails(text: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function performanceOf(row: DriftRow, details: Record<string, unknown>): PerformanceEstimate {
  const interval = Array.isArray(details.interval) ? details.interval.map(number) : [];
  const estimate = number(row.statistic);
  const change = number(row.effect_size);
  return {
    estimate,
    interval:
      interval.length === 2 && interval[0] !== null && interval[1] !== null
        ? [interval[0], interval[1]]
        : null,
    interval_level: number(details.interval_level),
    reference: estimate !== null && change !== null ? estimate - change : null,
    change,
    p_value: number(row.p_value),
    verdict: row.verdict,
    validity: typeof details.validity === 'string' ? details.validity : null,
    warnings: Array.isArray(details.warnings) ? details.warnings.map(String) : [],
    reason: typeof details.reason === 'string' ? details.reason : null,
    sample_size: Number(row.sample_size),
    reference_size: Number(row.reference_size),
  };
}

/** A window being filled; the missing-value tests join their features at the end. */
type OpenWindow = DriftWindow & { missing: Map<string, FeatureDrift['missing']> };

/** The rows grouped by window, in the order read, each feature with its missing-value test. */
function windowsOf(rows: DriftRow[]): DriftWindow[] {
  const windows = new Map<string, OpenWindow>();
  for (const row of rows) {
    const key = `${row.start_ms}/${row.end_ms}`;
    let window = windows.get(key);
    if (!window) {
      window = {
        window_start: new Date(Number(row.start_ms)).toISOString(),
        window_end: new Date(Number(row.end_ms)).toISOString(),
        dataset: null,
        performance: null,
        features: [],
        missing: new Map(),
      };
      windows.set(key, window);
    }
    fileRow(window, row);
  }
  return [...windows.values()].map(({ missing, ...window }) => ({
    ...window,
    features: window.features.map((feature) => ({
      ...feature,
      missing: missing.get(feature.feature) ?? null,
    })),
  }));
}

/**
 * Puts one row where it belongs in its window: a CBPE estimate, the dataset-level share, a
 * feature's missing-value test (joined to its feature once the window is complete) or a feature test.
 */
function fileRow(window: OpenWindow, row: DriftRow): void {
  const details = parseDetails(row.details);
  if (row.detector === 'cbpe') {
    window.performance ??= { accuracy: null, macro_f1: null };
    window.performance[row.metric === 'estimated_accuracy' ? 'accuracy' : 'macro_f1'] = performanceOf(
      row,
      details,
    );
  } else if (row.metric === 'dataset_share') {
    window.dataset = {
      share: number(row.statistic),
      verdict: row.verdict,
      drifted_features: Array.isArray(details.drifted_features) ? (details.drifted_features as string[]) : [],
      tested_features: number(details.tested_features) ?? 0,
    };
  } else if (row.metric.startsWith('feature_missing.')) {
    window.missing.set(row.metric.slice('feature_missing.'.length), {
      reference_share: number(details.reference_missing_share),
      current_share: number(details.current_missing_share),
      change: number(row.effect_size),
      p_value: number(row.p_value),
      verdict: row.verdict,
    });
  } else {
    window.features.push({
      feature: row.feature || row.metric.slice('feature.'.length),
      type: row.feature_type || null,
      detector: row.detector,
      statistic: number(row.statistic),
      p_value: number(row.p_value),
      raw_p_value: number(details.raw_p_value),
      effect_size: number(row.effect_size),
      verdict: row.verdict,
      sample_size: Number(row.sample_size),
      reference_size: Number(row.reference_size),
      missing: null,
      details,
    });
  }
}

/**
 * Read side of the per-feature drift results and the label-free performance estimates in
 * drift_metrics, grouped by window.
 */
@Injectable()
export class ModelDriftService {
  constructor(private readonly clickHouse: ClickHouse) {}

  async drift(modelId: string, from: number, to: number): Promise<ModelDrift> {
    const rows = await this.rows(modelId, from, to);
    return {
      model_id: modelId,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      truncated: rows.length > MAX_DRIFT_ROWS,
      windows: windowsOf(rows.slice(0, MAX_DRIFT_ROWS)),
    };
  }

  /**
   * The feature, missing-value, dataset-share and CBPE rows of the range, in window order; one
   * more than MAX_DRIFT_ROWS, so the caller knows whether the range was cut.
   */
  private async rows(modelId: string, from: number, to: number): Promise<DriftRow[]> {
    return (
      await this.clickHouse.client.query({
        query: `SELECT metric, detector,
                       toUnixTimestamp64Milli(window_start) AS start_ms, toUnixTimestamp64Milli(window_end) AS end_ms,
                       statistic, p_value, effect_size, sample_size, reference_size, verdict,
                       labels['feature'] AS feature, labels['feature_type'] AS feature_type, details
                FROM ${this.clickHouse.table('drift_metrics')} FINAL
                WHERE model_id = {model:String}
                  AND window_start >= {from:DateTime64(3, 'UTC')} AND window_end <= {to:DateTime64(3, 'UTC')}
                  AND (startsWith(metric, 'feature.') OR startsWith(metric, 'feature_missing.') OR metric = 'dataset_share'
                       OR (detector = 'cbpe' AND metric IN ('estimated_accuracy', 'estimated_macro_f1')))
                ORDER BY window_start, window_end, metric
                LIMIT {limit:UInt32}`,
        query_params: {
          model: modelId,
          from: clickHouseTime(from),
          to: clickHouseTime(to),
          limit: MAX_DRIFT_ROWS + 1,
        },
        format: 'JSONEachRow',
      })
    ).json<DriftRow>();
  }
}

@ApiTags('models')
@ApiBearerAuth()
@Controller('v1/models')
export class ModelDriftController {
  constructor(private readonly drift: ModelDriftService) {}

  @Get(':id/drift')
  @RequireRole('viewer')
  @ApiOperation({
    summary:
      "Per-feature drift of the model's input features and the label-free performance estimate, per window: test, BH-adjusted and raw p-value, effect size, missing-value rate and the dataset-level share; estimated accuracy and macro-F1 (CBPE) with their interval, the reference's realised value and whether the estimate is valid (default: the last 24 hours)",
  })
  @ApiResponse({ status: 200, schema: openApiSchema(modelDriftResponseSchema) })
  @ApiQuery({
    name: 'from',
    required: false,
    description: 'RFC 3339 or epoch ms: windows starting at or after',
  })
  @ApiQuery({
    name: 'to',
    required: false,
    description: 'RFC 3339 or epoch ms: windows ending at or before; default now',
  })
  async get(@ModelIdParam() id: string, @WindowQuery() query: ModelWindow): Promise<ModelDrift> {
    return this.drift.drift(id, query.from, query.to);
  }
}
