import { Injectable } from '@nestjs/common';
import { ClickHouse, clickHouseTime } from '@tripline/clickhouse';
import { embeddingEncoderSettingSchema, type EmbeddingEncoderSetting } from '@tripline/contracts';
import {
  FeatureReservoir,
  fromReservoir,
  type FeatureType,
  type FeatureValue,
  type FeatureWindow,
  type WindowEvent,
} from '@tripline/detectors';
import type { TimeRange } from './windows';

/**
 * Events read per window and per reference, at most: a busy model's 24-hour reference is a
 * deterministic sample (lowest hash of event_id first) rather than millions of rows in memory.
 * The tests the detectors run are as valid on a uniform sample; they lose a little power.
 */
export const MAX_EVENTS_PER_WINDOW = 50_000;

/**
 * Embeddings read per window and per reference, at most. The block MMD costs 50 kernel
 * evaluations per row and the quadratic estimate (500 rows each) 500,000 in all, so at 768
 * dimensions a window costs about 2 × 10^9 multiply-adds; 5,000 rows × 768 float64 is 30 MB.
 */
export const MAX_EMBEDDINGS_PER_WINDOW = 5_000;

/** Characters of each input read for tokenising; lengths are measured on the whole text in ClickHouse. */
export const TEXT_PREFIX_CHARACTERS = 2_000;

export interface SampledWindow {
  events: WindowEvent[];
  /** Events in the range; more than `events.length` when the range was sampled. */
  total: number;
}

interface EventRow {
  label: string;
  confidence: number | null;
  text: string;
  text_length: number;
  scores: Record<string, number | string>;
  truth: string;
}

/** The model's class probabilities, or null when the event carried none (an empty map). */
function scoresOf(scores: Record<string, number | string> | undefined): Record<string, number> | null {
  if (!scores) return null;
  const entries = Object.entries(scores);
  return entries.length === 0
    ? null
    : Object.fromEntries(entries.map(([name, value]) => [name, Number(value)]));
}

/** The read side of the stream detectors: windows of inference events, with feedback where it arrived. */
@Injectable()
export class WindowSource {
  constructor(private readonly clickHouse: ClickHouse) {}

  /** Models with at least one event in the range. */
  async modelsWithEvents(range: TimeRange): Promise<string[]> {
    const rows = await this.rows<{ model_id: string }>(
      `SELECT DISTINCT model_id FROM ${this.clickHouse.table('inference_events')}
       WHERE timestamp >= {from:DateTime64(3, 'UTC')} AND timestamp < {to:DateTime64(3, 'UTC')}
       ORDER BY model_id`,
      { from: clickHouseTime(range.from), to: clickHouseTime(range.to) },
    );
    return rows.map((row) => row.model_id);
  }

  /**
   * A model's events in the range, each with whether its prediction matched the feedback label
   * (the latest feedback per event), in a fixed pseudo-random order: the hash of event_id, which
   * is both the sample and the order the vocabulary detector splits the reference by.
   */
  async events(modelId: string, range: TimeRange, limit = MAX_EVENTS_PER_WINDOW): Promise<SampledWindow> {
    const events = this.clickHouse.table('inference_events');
    const feedback = this.clickHouse.table('feedback');
    const inRange = `model_id = {model:String}
      AND timestamp >= {from:DateTime64(3, 'UTC')} AND timestamp < {to:DateTime64(3, 'UTC')}`;
    const params = {
      model: modelId,
      from: clickHouseTime(range.from),
      to: clickHouseTime(range.to),
      limit,
      prefix: TEXT_PREFIX_CHARACTERS,
    };
    // FINAL collapses redelivered duplicates of an event that a background merge has not reached.
    const rows = await this.rows<EventRow>(
      `SELECT predicted.label AS label, predicted.confidence AS confidence, predicted.text AS text,
              predicted.text_length AS text_length, predicted.scores AS scores, truth.label AS truth
       FROM (
         SELECT event_id, output_label AS label, confidence, output_scores AS scores,
                substringUTF8(input_text, 1, {prefix:UInt32}) AS text, toUInt32(lengthUTF8(input_text)) AS text_length
         FROM ${events} FINAL
         WHERE ${inRange}
         ORDER BY cityHash64(event_id), event_id
         LIMIT {limit:UInt32}
       ) AS predicted
       LEFT JOIN (
         SELECT event_id, argMax(label, ingested_at) AS label FROM ${feedback}
         WHERE model_id = {model:String} AND event_id IN (SELECT event_id FROM ${events} WHERE ${inRange})
         GROUP BY event_id
       ) AS truth USING (event_id)
       ORDER BY cityHash64(event_id), event_id`,
      params,
    );
    let total = rows.length;
    if (rows.length >= limit) {
      const [count] = await this.rows<{ n: string }>(
        `SELECT count() AS n FROM ${events} FINAL WHERE ${inRange}`,
        params,
      );
      total = Number(count.n);
    }
    return {
      total,
      events: rows.map((row) => ({
        label: row.label,
        confidence: row.confidence === null ? null : Number(row.confidence),
        text: row.text,
        textLength: Number(row.text_length),
        // A LEFT JOIN without a match yields the type's default, ''; feedback labels are never empty.
        correct: row.truth ? row.truth === row.label : null,
        truth: row.truth || null,
        scores: scoresOf(row.scores),
      })),
    };
  }

  /**
   * A model's input features in the range, sampled per feature by a seeded reservoir (see
   * `FeatureReservoir`): the rows are streamed, never held together, so a window of 10^6 events
   * costs the reservoir's memory, not the window's. They come in the order of the hash of event_id,
   * so every replica and every re-run feeds the reservoir alike and keeps the same sample.
   */
  async features(
    modelId: string,
    range: TimeRange,
    options: { capacity: number; maxFeatures: number },
  ): Promise<FeatureWindow> {
    const reservoir = new FeatureReservoir(options);
    const inRange = `model_id = {model:String}
      AND timestamp >= {from:DateTime64(3, 'UTC')} AND timestamp < {to:DateTime64(3, 'UTC')}`;
    const params = { model: modelId, from: clickHouseTime(range.from), to: clickHouseTime(range.to) };
    const table = this.clickHouse.table('inference_events');
    // Events without features only count (every feature is missing there): a text model's window is one count.
    const [without] = await this.rows<{ n: string }>(
      `SELECT count() AS n FROM ${table} FINAL WHERE ${inRange} AND input_features = ''`,
      params,
    );
    reservoir.addWithoutFeatures(Number(without.n));
    const result = await this.clickHouse.client.query({
      query: `SELECT input_features AS features FROM ${table} FINAL
        WHERE ${inRange} AND input_features != ''
        ORDER BY cityHash64(event_id), event_id`,
      query_params: params,
      format: 'JSONCompactEachRow',
    });
    for await (const rows of result.stream()) {
      for (const row of rows) {
        const [text] = row.json<[string]>();
        reservoir.add(JSON.parse(text) as Record<string, FeatureValue>);
      }
    }
    return fromReservoir(reservoir);
  }

  /**
   * A sample of the model's input embeddings in the range: at most `limit`, lowest hash of
   * event_id first (a uniform sample, in a random order, the same on every replica).
   */
  async embeddings(
    modelId: string,
    range: TimeRange,
    limit = MAX_EMBEDDINGS_PER_WINDOW,
  ): Promise<number[][]> {
    const rows = await this.rows<{ embedding: number[] }>(
      `SELECT input_embedding AS embedding FROM ${this.clickHouse.table('inference_events')} FINAL
       WHERE model_id = {model:String} AND notEmpty(input_embedding)
         AND timestamp >= {from:DateTime64(3, 'UTC')} AND timestamp < {to:DateTime64(3, 'UTC')}
       ORDER BY cityHash64(event_id), event_id
       LIMIT {limit:UInt32}`,
      { model: modelId, from: clickHouseTime(range.from), to: clickHouseTime(range.to), limit },
    );
    return rows.map((row) => row.embedding.map(Number));
  }

  /**
   * The model's feature-type overrides (`feature_types` on the model), as the registry last
   * published them on `models.v1`; empty when it has none or was deleted.
   */
  async featureTypes(modelId: string): Promise<Record<string, FeatureType>> {
    const rows = await this.rows<{ feature_types: Record<string, string>; deleted: number }>(
      `SELECT feature_types, deleted FROM ${this.clickHouse.table('model_settings')} FINAL
       WHERE model_id = {model:String}
       ORDER BY updated_at DESC
       LIMIT 1`,
      { model: modelId },
    );
    const [row] = rows;
    if (!row || Number(row.deleted) === 1) return {};
    const types: Record<string, FeatureType> = {};
    for (const [feature, type] of Object.entries(row.feature_types)) {
      if (type === 'numeric' || type === 'categorical') types[feature] = type;
    }
    return types;
  }

  /**
   * The model's text encoder for embedding drift (`embedding_encoder` on the model), as the
   * registry last published it on `models.v1`; undefined when it has none or was deleted.
   */
  async embeddingEncoder(modelId: string): Promise<EmbeddingEncoderSetting | undefined> {
    const rows = await this.rows<{ embedding_encoder: string; deleted: number }>(
      `SELECT embedding_encoder, deleted FROM ${this.clickHouse.table('model_settings')} FINAL
       WHERE model_id = {model:String}
       ORDER BY updated_at DESC
       LIMIT 1`,
      { model: modelId },
    );
    const [row] = rows;
    if (!row || Number(row.deleted) === 1 || !row.embedding_encoder) return undefined;
    // The sink stored what the contract accepted; parsed again, since the column is plain text.
    return embeddingEncoderSettingSchema.parse(JSON.parse(row.embedding_encoder));
  }

  /** Tokens the trigger-response detector flagged for the model in windows inside the range. */
  async flaggedTokens(modelId: string, range: TimeRange): Promise<string[]> {
    const rows = await this.rows<{ token: string }>(
      `SELECT DISTINCT arrayJoin(splitByChar(',', labels['trigger_tokens'])) AS token
       FROM ${this.clickHouse.table('drift_metrics')} FINAL
       WHERE model_id = {model:String} AND metric = 'trigger_response' AND verdict = 'drift'
         AND window_start >= {from:DateTime64(3, 'UTC')} AND window_end <= {to:DateTime64(3, 'UTC')}
       ORDER BY token`,
      { model: modelId, from: clickHouseTime(range.from), to: clickHouseTime(range.to) },
    );
    return rows.map((row) => row.token).filter((token) => token !== '');
  }

  private async rows<T>(query: string, query_params: Record<string, unknown>): Promise<T[]> {
    return (await this.clickHouse.client.query({ query, query_params, format: 'JSONEachRow' })).json<T>();
  }
}
