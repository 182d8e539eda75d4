import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { z } from 'zod';
import { ENVIRONMENT, type Environment } from '@tripline/config';
import { driftMetricSchema, type EmbeddingEncoderSetting } from '@tripline/contracts';
import {
  detectFeatureDrift,
  detectStreamDrift,
  embeddingDrift,
  EventWindow,
  STREAM_DETECTORS,
  type FeatureType,
  type DetectorResult,
  type FeatureWindow,
  type WindowEvent,
} from '@tripline/detectors';
import { Metrics } from '@tripline/server';
import { EventBus } from '@tripline/transport';
import { encoderName, EncoderUnavailable, WindowEncoder } from './window-encoder';
import { WindowSource } from './window-source';
import { lastCompletedWindow, nextEvaluationAt, referenceFor, type TimeRange } from './windows';

/** One metrics-topic message as published (times as RFC 3339 text). */
export type DriftMetricRecord = z.input<typeof driftMetricSchema>;

/**
 * The stream detectors of the ingestor: at the end of every window (DRIFT_WINDOW_SECONDS, aligned
 * to the clock, plus a short grace for late events), each model that had events in the window is
 * compared with its reference (the DRIFT_REFERENCE_SECONDS before the window, or the pinned
 * DRIFT_REFERENCE_PERIOD), and every detector's result goes to the metrics topic, one message per
 * metric, keyed by model. The sink stores them in drift_metrics; the alerter reads the topic.
 *
 * Replicas all evaluate every model: the results are deterministic functions of what ClickHouse
 * holds, and drift_metrics is keyed on (model, metric, detector, window), so copies collapse.
 */
@Injectable()
export class StreamDetectorService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('StreamDetectors');
  private readonly windowMs: number;
  private readonly referenceMs: number;
  private readonly pinnedReference?: TimeRange;
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private stopped = false;
  private lastEvaluated?: TimeRange;
  /** Per model, tokens this process flagged and the end of the last window that flagged each. */
  private readonly flagged = new Map<string, Map<string, number>>();

  private readonly published;
  private readonly failures;
  private readonly windowSeconds;

  constructor(
    private readonly source: WindowSource,
    private readonly encoder: WindowEncoder,
    private readonly bus: EventBus,
    @Inject(ENVIRONMENT) private readonly environment: Environment,
    metrics: Metrics,
  ) {
    this.windowMs = environment.DRIFT_WINDOW_SECONDS * 1_000;
    this.referenceMs = environment.DRIFT_REFERENCE_SECONDS * 1_000;
    this.pinnedReference = environment.DRIFT_REFERENCE_PERIOD;
    this.published = metrics.counter(
      {
        name: 'tripline_drift_metrics_published_total',
        help: 'Stream-detector results published to the metrics topic',
        labelNames: ['metric', 'verdict'],
      },
      {
        metric: STREAM_DETECTORS.map((detector) => detector.metric),
        verdict: ['ok', 'drift', 'insufficient-data'],
      },
    );
    this.failures = metrics.counter({
      name: 'tripline_drift_model_failures_total',
      help: 'Model windows the stream detectors could not evaluate (read or publish failed)',
    });
    this.windowSeconds = metrics.histogram({
      name: 'tripline_drift_window_seconds',
      help: 'Time to evaluate one window for every model',
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    });
  }

  onApplicationBootstrap(): void {
    // The first evaluation waits for the next window end: a restart does not re-publish the window
    // the previous process already evaluated.
    this.schedule(lastCompletedWindow(Date.now(), this.windowMs));
  }

  /** Stops the schedule and lets an evaluation in progress finish publishing. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /**
   * Evaluates one window for every model that had events in it and publishes the results. The
   * reference is the configured one unless given. A model that fails (ClickHouse or the bus
   * unavailable) is logged and counted; the others still get their results.
   */
  async evaluateWindow(window: TimeRange, reference?: TimeRange): Promise<DriftMetricRecord[]> {
    const stop = this.windowSeconds.startTimer();
    const published: DriftMetricRecord[] = [];
    try {
      for (const modelId of await this.source.modelsWithEvents(window)) {
        try {
          published.push(...(await this.evaluateModel(modelId, window, reference)));
        } catch (error) {
          this.failures.inc();
          this.logger.error(
            `model ${modelId}, window ${describe(window)}: stream detectors failed: ${String(error)}`,
          );
        }
      }
    } finally {
      stop();
    }
    return published;
  }

  /** Runs the detectors for one model and window and publishes one message per metric. */
  async evaluateModel(
    modelId: string,
    window: TimeRange,
    reference: TimeRange = referenceFor(window, this.referenceMs, this.pinnedReference),
  ): Promise<DriftMetricRecord[]> {
    const sampling = {
      capacity: this.environment.DRIFT_FEATURE_SAMPLE,
      maxFeatures: this.environment.DRIFT_MAX_FEATURES,
    };
    const [
      current,
      baseline,
      watch,
      currentFeatures,
      referenceFeatures,
      currentEmbeddings,
      referenceEmbeddings,
      featureTypes,
    ] = await Promise.all([
      this.source.events(modelId, window),
      this.source.events(modelId, reference),
      this.watchedTokens(modelId, window),
      this.source.features(modelId, window, sampling),
      this.source.features(modelId, reference, sampling),
      this.source.embeddings(modelId, window),
      this.source.embeddings(modelId, reference),
      this.featureTypes(modelId),
    ]);
    const results = detectStreamDrift(new EventWindow(baseline.events), new EventWindow(current.events), {
      minSamples: this.environment.DRIFT_MIN_SAMPLES,
      alpha: this.environment.DRIFT_ALPHA,
      trigger: { watch },
      performance: {
        margin: this.environment.DRIFT_PERFORMANCE_MARGIN,
        calibration: this.environment.DRIFT_CBPE_CALIBRATION,
      },
    });
    results.push(...this.featureDrift(referenceFeatures, currentFeatures, featureTypes));
    // Embedding drift for models whose events carry input.embedding; one test at DRIFT_ALPHA of its own.
    if (currentEmbeddings.length > 0 || referenceEmbeddings.length > 0) {
      results.push(
        embeddingDrift(referenceEmbeddings, currentEmbeddings, {
          minSamples: this.environment.DRIFT_MIN_SAMPLES,
          alpha: this.environment.DRIFT_ALPHA,
        }),
      );
    } else {
      // Otherwise, for models that name a text encoder, the same test on a sample of texts it embeds.
      const encoded = await this.encodedDrift(modelId, reference, baseline.events, current.events);
      if (encoded) results.push(encoded);
    }
    const records = results.map((result) =>
      this.metricRecord(modelId, window, reference, result, current.total, baseline.total),
    );
    for (const record of records) {
      // A result the contract refuses would be dead-lettered by the sink; fail here instead, where it is a bug.
      const check = driftMetricSchema.safeParse(record);
      if (!check.success) {
        throw new Error(`metric ${record.metric} does not fit the metrics contract: ${check.error.message}`);
      }
    }
    await this.bus.publish(
      'metrics',
      records.map((record) => ({ key: modelId, value: JSON.stringify(record) })),
    );
    this.countAndRemember(modelId, window, records);
    return records;
  }

  /** One detector result as the metrics contract's record of this window and reference. */
  private metricRecord(
    modelId: string,
    window: TimeRange,
    reference: TimeRange,
    result: DetectorResult,
    windowEvents: number,
    referenceEvents: number,
  ): DriftMetricRecord {
    return {
      model_id: modelId,
      window_start: new Date(window.from).toISOString(),
      window_end: new Date(window.to).toISOString(),
      ...result,
      details: {
        ...result.details,
        reference_start: new Date(reference.from).toISOString(),
        reference_end: new Date(reference.to).toISOString(),
        reference_pinned: this.pinnedReference !== undefined,
        // Sizes before sampling: sample_size and reference_size are what the tests used.
        window_events: windowEvents,
        reference_events: referenceEvents,
      },
    };
  }

  /** Counts the published metrics; a drift is logged, and its trigger tokens are watched from now on. */
  private countAndRemember(modelId: string, window: TimeRange, records: DriftMetricRecord[]): void {
    for (const record of records) {
      this.published.inc({ metric: record.metric, verdict: record.verdict });
      if (record.verdict === 'drift') {
        const tokens = record.labels?.trigger_tokens;
        if (tokens) this.remember(modelId, tokens.split(','), window.to);
        this.logger.warn(
          `model ${modelId}, window ${describe(window)}: ${record.metric} drift` +
            (tokens ? ` (tokens ${tokens} pin ${record.labels?.target_labels})` : '') +
            ` (statistic ${record.statistic}, p ${record.p_value}, effect ${record.effect_size})`,
        );
      }
    }
  }

  /**
   * Per-feature drift of the model's `input.features`, for models that send them: nothing at all
   * for a model whose events carry no features, so text-only models publish what they did before.
   * The features form their own family (Benjamini–Hochberg at DRIFT_FEATURE_FDR), apart from the
   * Bonferroni split of DRIFT_ALPHA between the event-level detectors.
   */
  private featureDrift(
    reference: FeatureWindow,
    current: FeatureWindow,
    featureTypes: Record<string, FeatureType>,
  ) {
    if (reference.features.size === 0 && current.features.size === 0) return [];
    return detectFeatureDrift(reference, current, {
      minSamples: this.environment.DRIFT_MIN_SAMPLES,
      fdr: this.environment.DRIFT_FEATURE_FDR,
      datasetDriftShare: this.environment.DRIFT_DATASET_SHARE,
      maxFeatures: this.environment.DRIFT_MAX_FEATURES,
      featureTypes,
    });
  }

  /**
   * Embedding drift through the model's `embedding_encoder`, for events without input.embedding:
   * the first DRIFT_ENCODER_SAMPLE input texts of the window and of the reference (they come in
   * the order of the hash of event_id, a uniform sample) are embedded and compared by MMD with a
   * permutation p-value. Undefined for a model without an encoder; an encoder that may not or
   * cannot be used gives an insufficient-data result that says why.
   */
  private async encodedDrift(
    modelId: string,
    reference: TimeRange,
    baseline: readonly WindowEvent[],
    current: readonly WindowEvent[],
  ): Promise<DetectorResult | undefined> {
    let setting: EmbeddingEncoderSetting | undefined;
    try {
      setting = await this.source.embeddingEncoder(modelId);
    } catch (error) {
      this.logger.warn(`model ${modelId}: embedding_encoder unavailable: ${String(error)}`);
      return undefined;
    }
    if (!setting) return undefined;
    const sample = this.encoder.sampleSize;
    const texts = (events: readonly WindowEvent[]) =>
      events
        .map((event) => event.text)
        .filter((text) => text.trim() !== '')
        .slice(0, sample);
    const options = {
      minSamples: this.environment.DRIFT_MIN_SAMPLES,
      alpha: this.environment.DRIFT_ALPHA,
      pValue: 'permutation' as const,
      quadraticRows: sample,
      source: { kind: 'encoder' as const, encoder: encoderName(setting) },
    };
    try {
      const started = performance.now();
      const referenceVectors = await this.encoder.embed(
        modelId,
        setting,
        texts(baseline),
        `${reference.from}-${reference.to}`,
      );
      const currentVectors = await this.encoder.embed(modelId, setting, texts(current));
      const embedMs = performance.now() - started;
      const result = embeddingDrift(referenceVectors, currentVectors, options);
      result.details = { ...result.details, encode_ms: Math.round(embedMs) };
      return result;
    } catch (error) {
      if (!(error instanceof EncoderUnavailable)) throw error;
      this.logger.warn(`model ${modelId}: ${error.message}`);
      const result = embeddingDrift([], [], options);
      result.details = { ...result.details, reason: error.message };
      return result;
    }
  }

  /**
   * The model's feature-type overrides: DRIFT_FEATURE_TYPES for the model, then the model's own
   * `feature_types` (set through the API), which wins feature by feature. Settings that cannot be
   * read leave the environment's: the window is still tested, with types inferred where unknown.
   */
  private async featureTypes(modelId: string): Promise<Record<string, FeatureType>> {
    const configured = this.environment.DRIFT_FEATURE_TYPES?.[modelId] ?? {};
    try {
      return { ...configured, ...(await this.source.featureTypes(modelId)) };
    } catch (error) {
      this.logger.warn(
        `model ${modelId}: feature_types unavailable, using DRIFT_FEATURE_TYPES only: ${String(error)}`,
      );
      return { ...configured };
    }
  }

  /**
   * Trigger tokens flagged for the model within one reference length before the window, which
   * the trigger-response test keeps testing once a sliding reference has absorbed them: those
   * this process flagged, and those in drift_metrics, which another replica or an earlier run of
   * this process may have flagged. History that cannot be read leaves the process's own memory.
   */
  private async watchedTokens(modelId: string, window: TimeRange): Promise<string[]> {
    const since = window.from - this.referenceMs;
    const remembered = this.flagged.get(modelId) ?? new Map<string, number>();
    for (const [token, lastFlagged] of remembered) if (lastFlagged <= since) remembered.delete(token);
    let stored: string[] = [];
    try {
      stored = await this.source.flaggedTokens(modelId, { from: since, to: window.from });
    } catch (error) {
      this.logger.warn(`model ${modelId}: earlier trigger tokens unavailable: ${String(error)}`);
    }
    return [...new Set([...remembered.keys(), ...stored])].sort();
  }

  private remember(modelId: string, tokens: string[], at: number): void {
    const remembered = this.flagged.get(modelId) ?? new Map<string, number>();
    for (const token of tokens) remembered.set(token, Math.max(at, remembered.get(token) ?? 0));
    this.flagged.set(modelId, remembered);
  }

  private schedule(after: TimeRange): void {
    if (this.stopped) return;
    const delay = Math.max(0, nextEvaluationAt(after, this.windowMs) - Date.now());
    this.timer = setTimeout(() => void this.tick(), delay);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const window = lastCompletedWindow(Date.now(), this.windowMs);
    const previous = this.lastEvaluated;
    if (previous && window.to <= previous.to) {
      this.schedule(previous);
      return;
    }
    if (previous && window.from > previous.to) {
      // The previous evaluation overran, or the process was paused: say so rather than hide the gap.
      this.logger.warn(
        `windows ${describe({ from: previous.to, to: window.from })} were not evaluated (the previous evaluation overran)`,
      );
    }
    this.lastEvaluated = window;
    const running = this.evaluateWindow(window).catch((error) =>
      this.logger.error(`window ${describe(window)}: stream detectors failed: ${String(error)}`),
    );
    this.running = running;
    await running;
    this.schedule(window);
  }
}

function describe(range: TimeRange): string {
  return `${new Date(range.from).toISOString()}/${new Date(range.to).toISOString()}`;
}
