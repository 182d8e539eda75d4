import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { ENVIRONMENT, type Environment } from '@tripline/config';
import { driftMetricSchema, evaluationRunSchema, validateJson, type TopicKey } from '@tripline/contracts';
import { Metrics } from '@tripline/server';
import { EventBus, type ConsumerBatch, type Subscription } from '@tripline/transport';
import {
  baselineFromMessage,
  consumerLagObservation,
  modelQualityReadings,
  observationsFromDriftMetric,
  observationsFromEvaluation,
  type ModelQualityMeasure,
  type Observation,
} from '@tripline/alert-rules';
import type { Gauge } from 'prom-client';
import { AlertStore } from './alert-store';
import { ALERTER_SETTINGS, type AlerterSettings } from './settings';

/** The topics the ingestor's sink consumes: its lag is the history's delay. */
const SINK_TOPICS: TopicKey[] = [
  'inference',
  'feedback',
  'evaluations',
  'evaluationSamples',
  'metrics',
  'alerts',
  'models',
];
const ALERTER_TOPICS: TopicKey[] = ['evaluations', 'metrics'];

/**
 * Turns the evaluations and metrics topics into observations and hands them to the alert store,
 * runs the periodic checks (for durations, silences, repeats) and observes consumer lag. The
 * batch's offsets are committed only after the store committed what it decided, so a crash
 * redelivers the batch, and the store, finding the state it already produced, changes nothing.
 * Invalid messages are skipped here: the ingestor's sink dead-letters them.
 */
@Injectable()
export class AlertRuleRunner implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Alerter');
  private subscription?: Subscription;
  private tickTimer?: NodeJS.Timeout;
  private lagTimer?: NodeJS.Timeout;
  private ticking?: Promise<unknown>;
  private readonly observed;
  private readonly transitions;
  private readonly quality: Record<ModelQualityMeasure, Gauge<'model_id'>>;
  /** The latest drift verdict of each detector series, per model: what tripline_model_drift_detected reads. */
  private readonly driftBySeries = new Map<string, Map<string, boolean>>();

  constructor(
    private readonly bus: EventBus,
    private readonly store: AlertStore,
    @Inject(ALERTER_SETTINGS) private readonly settings: AlerterSettings,
    @Inject(ENVIRONMENT) private readonly environment: Environment,
    metrics: Metrics,
  ) {
    this.observed = metrics.counter(
      {
        name: 'tripline_alerter_observations_total',
        help: 'Observations judged against the alert rules, by source',
        labelNames: ['source'],
      },
      { source: ['evaluation', 'window'] },
    );
    this.quality = {
      accuracy: metrics.gauge({
        name: 'tripline_model_accuracy_ratio',
        help: 'Accuracy of the latest successful clean-set evaluation, per model',
        labelNames: ['model_id'],
      }),
      worst_canary_attack_success: metrics.gauge({
        name: 'tripline_model_canary_attack_success_ratio_max',
        help: 'Highest attack-success rate over the triggers of the latest canary evaluation, per model',
        labelNames: ['model_id'],
      }),
      fingerprint_changed: metrics.gauge({
        name: 'tripline_model_fingerprint_changed',
        help: '1 when the latest behavioural fingerprint differs from the baseline, 0 when it matches',
        labelNames: ['model_id'],
      }),
      drift_detected: metrics.gauge({
        name: 'tripline_model_drift_detected',
        help: "1 while any stream detector's latest window found drift for the model, else 0",
        labelNames: ['model_id'],
      }),
    };
    this.transitions = metrics.counter({
      name: 'tripline_alerter_transitions_total',
      help: 'Alert state changes decided by the alerter',
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    // From the beginning: a new group replays history, and rules only judge what was measured
    // after they were created, so the replay raises nothing that was not meant to be raised.
    this.subscription = await this.bus.subscribe({
      groupId: this.settings.consumerGroup,
      topics: ALERTER_TOPICS,
      fromBeginning: true,
      handleBatch: (batch) => this.handle(batch),
      onRetry: (error, attempt, delay) =>
        this.logger.warn(`batch not judged (attempt ${attempt}), retrying in ${delay} ms: ${String(error)}`),
    });
    this.tickTimer = setInterval(() => void this.tick(), this.settings.tickMs);
    this.tickTimer.unref();
    if (this.settings.lagIntervalMs > 0) {
      this.lagTimer = setInterval(() => void this.observeLag(), this.settings.lagIntervalMs);
      this.lagTimer.unref();
    }
    this.logger.log(
      `judging ${ALERTER_TOPICS.map((topic) => this.bus.topicName(topic)).join(', ')} as group ${this.settings.consumerGroup}`,
    );
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.tickTimer);
    clearInterval(this.lagTimer);
    await this.subscription?.stop();
    await this.ticking;
  }

  async handle(batch: ConsumerBatch): Promise<void> {
    const observations: Observation[] = [];
    const evaluationsTopic = this.bus.topicName('evaluations');
    for (const message of batch.messages) {
      if (batch.topic === evaluationsTopic) {
        const result = validateJson(evaluationRunSchema, message.value);
        if (!result.ok) continue;
        // The message carries its baseline's values (contracts): nothing is read back from the
        // evaluator's tables. A message from before it did is judged without a baseline.
        const baseline = result.value.baseline ? baselineFromMessage(result.value.baseline) : undefined;
        observations.push(...observationsFromEvaluation(result.value, baseline));
        this.observed.inc({ source: 'evaluation' });
      } else {
        const result = validateJson(driftMetricSchema, message.value);
        const observed = result.ok ? observationsFromDriftMetric(result.value) : [];
        if (observed.length === 0) continue;
        observations.push(...observed);
        this.observed.inc({ source: 'window' });
      }
    }
    const changes = await this.store.applyObservations(observations);
    this.transitions.inc(changes.transitions);
    for (const reading of modelQualityReadings(observations, this.driftBySeries))
      this.quality[reading.measure].set({ model_id: reading.modelId }, reading.value);
  }

  /** One periodic check at a time. */
  tick(): Promise<unknown> {
    this.ticking ??= this.store
      .tick()
      .then((changes) => this.transitions.inc(changes.transitions))
      .catch((error: unknown) => this.logger.warn(`alert check failed, retrying next time: ${String(error)}`))
      .finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  /** Lag of the ingestor's sink and of this alerter, per group and topic, as consumer_lag observations. */
  async observeLag(): Promise<void> {
    const groups: [string, TopicKey[]][] = [
      [
        this.environment.INGEST_CONSUMER_GROUP ?? `${this.environment.KAFKA_TOPIC_PREFIX}ingestor`,
        SINK_TOPICS,
      ],
      [this.settings.consumerGroup, ALERTER_TOPICS],
    ];
    try {
      const now = Date.now();
      const observations: Observation[] = [];
      for (const [group, topics] of groups) {
        const totals = new Map<string, { lag: number; unit: string }>();
        for (const partition of await this.bus.lag(group, topics)) {
          const total = totals.get(partition.topic) ?? { lag: 0, unit: partition.unit };
          total.lag += partition.lag;
          totals.set(partition.topic, total);
        }
        for (const [topic, { lag, unit }] of totals)
          observations.push(consumerLagObservation(group, topic, unit, lag, now));
      }
      const changes = await this.store.applyObservations(observations, now);
      this.transitions.inc(changes.transitions);
    } catch (error) {
      this.logger.debug(`consumer lag not observed: ${String(error)}`);
    }
  }
}
