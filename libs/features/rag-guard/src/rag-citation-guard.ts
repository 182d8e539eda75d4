import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { ENVIRONMENT, type Environment } from '@tripline/config';
import { driftMetricSchema, inferenceEventSchema, type InferenceEvent } from '@tripline/contracts';
import {
  checkEventCitations,
  citationViolationRecord,
  storedAllowList,
  type AllowList,
  type CitationMetricRecord,
} from '@tripline/rag';
import { ModelRegistry } from '@tripline/registry';
import { Metrics } from '@tripline/server';
import { EventBus, type ConsumerBatch, type Subscription } from '@tripline/transport';

/** How long a model's allow-list is reused before it is read again: how soon a PATCH takes effect. */
export const ALLOW_LIST_TTL_MS = 5_000;

/**
 * The RAG stream rule: every inference event whose rag.documents cite a source outside its
 * model's allow-list (models.rag_allowed_sources) is published on the metrics topic as
 * rag_citation/allow_list, which the alerter's rules turn into alerts (rule metric
 * drift.rag_citation.allow_list). The allow-lists are the registry's: read through ModelRegistry.
 *
 * It runs beside the alerter, not in the ingestor: the allow-lists live in PostgreSQL, which the
 * ingestor of the distributed topology does not connect to (it has Kafka and ClickHouse only),
 * while the alerter already has PostgreSQL and the bus. Reading the allow-list where it is
 * stored means a change applies within ALLOW_LIST_TTL_MS, with no topic to keep in step. The
 * inference topic is read in a consumer group of its own, so a burst of traffic never delays
 * the judging of evaluations and metrics; replicas share its partitions (keyed by model).
 *
 * Like the alerter's group it starts from the beginning of the topic: the published windows carry
 * the events' own timestamps, and a rule only judges what happened after it was created, so a
 * new group replaying history raises nothing a rule did not ask for. Offsets are committed after
 * the metrics are published; a batch that fails (PostgreSQL or the bus down) is redelivered, so no
 * event goes unchecked. Invalid messages are skipped here: the ingestor's sink dead-letters them.
 */
@Injectable()
export class RagCitationGuard implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('RagCitationGuard');
  private subscription?: Subscription;
  private readonly allowLists = new Map<string, { list: AllowList | undefined; readAt: number }>();
  private readonly checked;
  private readonly violations;

  constructor(
    private readonly bus: EventBus,
    private readonly registry: ModelRegistry,
    @Inject(ENVIRONMENT) private readonly environment: Environment,
    metrics: Metrics,
  ) {
    this.checked = metrics.counter({
      name: 'tripline_rag_guard_events_total',
      help: 'Inference events with retrieved documents checked against their model’s RAG allow-list',
    });
    this.violations = metrics.counter({
      name: 'tripline_rag_guard_violations_total',
      help: 'Inference events citing a source outside their model’s RAG allow-list',
    });
  }

  get consumerGroup(): string {
    return `${this.environment.KAFKA_TOPIC_PREFIX}rag-guard`;
  }

  async onApplicationBootstrap(): Promise<void> {
    this.subscription = await this.bus.subscribe({
      groupId: this.consumerGroup,
      topics: ['inference'],
      fromBeginning: true,
      handleBatch: async (batch) => void (await this.handle(batch)),
      onRetry: (error, attempt, delay) =>
        this.logger.warn(`batch not checked (attempt ${attempt}), retrying in ${delay} ms: ${String(error)}`),
    });
    this.logger.log(
      `checking RAG citations on ${this.bus.topicName('inference')} as group ${this.consumerGroup}`,
    );
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.subscription?.stop();
  }

  /** Checks one batch and publishes one metrics message per model with violations; returns them. */
  async handle(batch: ConsumerBatch): Promise<CitationMetricRecord[]> {
    const events: InferenceEvent[] = [];
    for (const message of batch.messages) {
      let raw: unknown;
      try {
        raw = JSON.parse(message.value.toString('utf8'));
      } catch {
        continue;
      }
      // Most events retrieve nothing: only those with documents pay for validation.
      const documents = (raw as { rag?: { documents?: unknown } } | null)?.rag?.documents;
      if (!Array.isArray(documents) || documents.length === 0) continue;
      const parsed = inferenceEventSchema.safeParse(raw);
      if (parsed.success) events.push(parsed.data);
    }
    if (events.length === 0) return [];
    const lists = await this.allowListsOf([...new Set(events.map((event) => event.model_id))]);
    const groups = checkEventCitations(events, (modelId) => lists.get(modelId));
    const records: CitationMetricRecord[] = [];
    for (const group of groups) {
      this.checked.inc(group.checked);
      const record = citationViolationRecord(group);
      if (!record) continue;
      // A record the contract refuses would be dead-lettered by the sink; failing here names the bug.
      driftMetricSchema.parse(record);
      records.push(record);
      this.violations.inc(group.violating.length);
    }
    if (records.length === 0) return [];
    await this.bus.publish(
      'metrics',
      records.map((record) => ({ key: record.model_id, value: JSON.stringify(record) })),
    );
    for (const record of records)
      this.logger.warn(
        `model ${record.model_id}: ${record.statistic} event(s) cite sources outside the RAG allow-list: ${record.labels?.unapproved_sources}`,
      );
    return records;
  }

  private async allowListsOf(modelIds: string[]): Promise<Map<string, AllowList | undefined>> {
    const now = Date.now();
    const stale = modelIds.filter((id) => {
      const cached = this.allowLists.get(id);
      return !cached || now - cached.readAt > ALLOW_LIST_TTL_MS;
    });
    if (stale.length > 0) {
      const found = await this.registry.ragAllowListsOf(stale);
      for (const id of stale) {
        let list: AllowList | undefined;
        try {
          list = storedAllowList(found.get(id));
        } catch (error) {
          // Stored entries were validated on the way in; one that no longer compiles is a bug to see, not to crash on.
          this.logger.error(`model ${id}: unusable RAG allow-list, not checked: ${String(error)}`);
        }
        this.allowLists.set(id, { list, readAt: now });
      }
    }
    return new Map(modelIds.map((id) => [id, this.allowLists.get(id)?.list]));
  }
}
