import { createHash } from 'node:crypto';
import { Injectable, Logger, Optional } from '@nestjs/common';
import { redactAdapterConfig } from '@tripline/adapters';
import { AlertHistory } from '@tripline/alerts';
import { ClickHouse } from '@tripline/clickhouse';
import {
  DatasetService,
  ModelRegistry,
  ScheduleService,
  type Dataset,
  type Model,
  type ModelVersion,
  type Schedule,
} from '@tripline/registry';
import { RunQueue, type EvaluationRun } from '@tripline/runs';
import { canonicalManifestBytes } from '@tripline/supply-chain';
import type {
  EvidenceAlert,
  EvidenceAlertEvent,
  EvidenceDataset,
  EvidenceInput,
  EvidenceRule,
  EvidenceRun,
  EvidenceStreamMetric,
  EvidenceVersion,
} from './evidence-input';

/** Runs and alerts read per pack: years of a daily schedule, without an unbounded read. */
const MAX_RUNS = 5_000;
const MAX_ALERTS = 5_000;

const ms = (value: Date | string | null | undefined): number | null =>
  value === null || value === undefined ? null : new Date(value).getTime();

/**
 * Reads what an evidence pack is made of: the registry (models, versions, datasets, runs,
 * schedules) and the alerter's alerts and rules, through their owners' services, the alerts topic's history and the stream
 * detectors' results from ClickHouse. A store that cannot be read leaves its part empty and says
 * so in the pack's notes, rather than failing the export.
 */
@Injectable()
export class EvidenceService {
  private readonly logger = new Logger('Evidence');

  constructor(
    private readonly registry: ModelRegistry,
    private readonly datasets: DatasetService,
    private readonly runs: RunQueue,
    private readonly schedules: ScheduleService,
    private readonly alertHistory: AlertHistory,
    @Optional() private readonly clickHouse?: ClickHouse,
  ) {}

  async collect(modelId: string, generatedBy: string | null): Promise<EvidenceInput> {
    const model = await this.registry.get(modelId);
    const notes: string[] = [];
    const [versions, runs, schedules] = await Promise.all([
      this.registry.listVersions(modelId),
      this.runs.history(modelId, MAX_RUNS),
      this.schedules.list(modelId),
    ]);
    if (runs.length === MAX_RUNS) notes.push(`only the newest ${MAX_RUNS} evaluation runs are included`);
    const datasets = await this.datasetsOf(modelId, runs, schedules, notes);
    return {
      generatedAt: Date.now(),
      generatedBy,
      model: evidenceModel(model),
      versions: versions.map(evidenceVersion),
      datasets: datasets.map(evidenceDataset),
      runs: runs.map(evidenceRun),
      alerts: await this.alerts(modelId, notes),
      alertEvents: await this.alertEvents(modelId, notes),
      schedules: schedules.map((schedule) => ({
        id: schedule.id,
        cron: schedule.cron,
        enabled: schedule.enabled,
        datasetIds: schedule.datasetIds,
        createdAt: schedule.createdAt.getTime(),
      })),
      rules: await this.rules(modelId, notes),
      stream: await this.stream(modelId, notes),
      recentEvents: await this.recentEvents(modelId),
      notes,
    };
  }

  /** The model's own sets, and any set its runs or schedules used (a shared clean set has no model). */
  private async datasetsOf(
    modelId: string,
    runs: EvaluationRun[],
    schedules: Schedule[],
    notes: string[],
  ): Promise<Dataset[]> {
    const owned = await this.datasets.list({ modelId });
    const used = [
      ...new Set([...runs.map((run) => run.datasetId), ...schedules.flatMap((s) => s.datasetIds)]),
    ];
    const missing = used.filter((id) => !owned.some((dataset) => dataset.id === id));
    const shared = await this.datasets.findByIds(missing);
    const deleted = missing.length - shared.length;
    if (deleted > 0) notes.push(`${deleted} dataset(s) used by runs or schedules have since been deleted`);
    return [...owned, ...shared];
  }

  private async alerts(modelId: string, notes: string[]): Promise<EvidenceAlert[]> {
    try {
      // Pending alerts have not fired: their condition has not held for the rule's duration yet.
      const alerts = await this.alertHistory.firedAlertsOf(modelId, MAX_ALERTS);
      return alerts.map((alert) => ({
        id: alert.id,
        ruleId: alert.ruleId,
        ruleName: alert.ruleName,
        state: alert.state,
        severity: alert.severity,
        metric: alert.metric,
        condition: alert.condition,
        value: alert.value,
        threshold: alert.threshold,
        baseline: alert.baseline,
        seriesLabels: alert.seriesLabels ?? {},
        activeSince: ms(alert.activeSince)!,
        firedAt: ms(alert.firedAt),
        acknowledgedAt: ms(alert.acknowledgedAt),
        acknowledgedBy: alert.acknowledgedBy,
        resolvedAt: ms(alert.resolvedAt),
        resolvedBy: alert.resolvedBy,
        resolution: alert.resolution,
      }));
    } catch (error) {
      notes.push(`alerts could not be read from PostgreSQL: ${String(error)}`);
      return [];
    }
  }

  private async rules(modelId: string, notes: string[]): Promise<EvidenceRule[]> {
    try {
      const rules = await this.alertHistory.rulesWatching(modelId);
      return rules.map(({ modelId: watched, ...rule }) => ({ ...rule, allModels: watched === undefined }));
    } catch (error) {
      notes.push(`alert rules could not be read from PostgreSQL: ${String(error)}`);
      return [];
    }
  }

  private async query<T>(query: string, modelId: string): Promise<T[]> {
    if (!this.clickHouse) throw new Error('this process has no ClickHouse connection');
    const result = await this.clickHouse.client.query({
      query,
      query_params: { model: modelId },
      format: 'JSONEachRow',
    });
    return result.json<T>();
  }

  private async alertEvents(modelId: string, notes: string[]): Promise<EvidenceAlertEvent[] | null> {
    try {
      const rows = await this.query<Record<string, unknown>>(
        `SELECT alert_id, rule_id, rule_name, state, severity, metric, value, threshold, summary, labels,
                toUnixTimestamp64Milli(timestamp) AS at
           FROM ${this.clickHouse!.table('alert_events')} FINAL
          WHERE model_id = {model:String} ORDER BY timestamp DESC LIMIT ${MAX_ALERTS}`,
        modelId,
      );
      return rows.map((row) => ({
        alertId: String(row.alert_id),
        ruleId: String(row.rule_id),
        ruleName: String(row.rule_name),
        state: String(row.state),
        severity: String(row.severity),
        metric: String(row.metric),
        value: row.value === null ? null : Number(row.value),
        threshold: row.threshold === null ? null : Number(row.threshold),
        summary: String(row.summary),
        labels: (row.labels as Record<string, string>) ?? {},
        timestamp: Number(row.at),
      }));
    } catch (error) {
      this.logger.warn(`alert history of ${modelId} not read: ${String(error)}`);
      notes.push(`the alert history (ClickHouse alert_events) could not be read: ${String(error)}`);
      return null;
    }
  }

  private async stream(modelId: string, notes: string[]): Promise<EvidenceStreamMetric[] | null> {
    try {
      const rows = await this.query<Record<string, unknown>>(
        `SELECT metric, detector, count() AS windows, countIf(verdict = 'drift') AS drift,
                toUnixTimestamp64Milli(max(window_end)) AS last
           FROM ${this.clickHouse!.table('drift_metrics')} FINAL
          WHERE model_id = {model:String} AND window_end >= now64(3) - INTERVAL 30 DAY
          GROUP BY metric, detector ORDER BY metric, detector`,
        modelId,
      );
      return rows.map((row) => ({
        metric: String(row.metric),
        detector: String(row.detector),
        windows: Number(row.windows),
        drift: Number(row.drift),
        lastWindowEnd: row.last === null ? null : Number(row.last),
      }));
    } catch (error) {
      notes.push(`stream-detector history (ClickHouse drift_metrics) could not be read: ${String(error)}`);
      return null;
    }
  }

  private async recentEvents(modelId: string): Promise<number | null> {
    try {
      // uniq: approximate, but bounded in memory however busy the model is.
      const [row] = await this.query<{ events: string | number }>(
        `SELECT uniq(event_id) AS events FROM ${this.clickHouse!.table('inference_events')}
          WHERE model_id = {model:String} AND timestamp >= now64(3) - INTERVAL 30 DAY`,
        modelId,
      );
      return row ? Number(row.events) : null;
    } catch {
      return null;
    }
  }
}

function evidenceModel(model: Model): EvidenceInput['model'] {
  return {
    id: model.id,
    name: model.name,
    task: model.task,
    owner: model.owner,
    description: model.description,
    labels: model.labels,
    currentVersionId: model.currentVersionId,
    ragAllowedSources: model.ragAllowedSources,
    createdAt: model.createdAt.getTime(),
  };
}

/** A version with its adapter config redacted and its manifest as counts, digest and signer. */
function evidenceVersion(version: ModelVersion): EvidenceVersion {
  return {
    id: version.id,
    version: version.version,
    adapterKind: version.adapter.kind,
    adapter: redactAdapterConfig(version.adapter),
    createdBy: version.createdBy,
    createdAt: version.createdAt.getTime(),
    manifest: version.manifest
      ? {
          files: version.manifest.files.length,
          bytes: version.manifest.files.reduce((sum, file) => sum + file.bytes, 0),
          digest: createHash('sha256').update(canonicalManifestBytes(version.manifest)).digest('hex'),
          signature: version.manifest.signature
            ? { keyId: version.manifest.signature.keyId, algorithm: version.manifest.signature.algorithm }
            : null,
        }
      : null,
  };
}

function evidenceDataset(dataset: Dataset): EvidenceDataset {
  return {
    id: dataset.id,
    name: dataset.name,
    kind: dataset.kind,
    modelId: dataset.modelId,
    format: dataset.format,
    source: dataset.source,
    uploadedBy: dataset.uploadedBy,
    uploadedAt: dataset.createdAt.getTime(),
    sha256: dataset.sha256,
    bytes: dataset.bytes,
    sampleCount: dataset.sampleCount,
    labels: dataset.labels,
    generatedFrom: dataset.generatedFrom,
    generator: dataset.generator,
  };
}

function evidenceRun(run: EvaluationRun): EvidenceRun {
  return {
    id: run.id,
    mode: run.mode,
    datasetId: run.datasetId,
    datasetKind: run.datasetKind,
    versionId: run.versionId,
    status: run.status,
    trigger: run.trigger,
    scheduleId: run.scheduleId,
    createdAt: run.createdAt.getTime(),
    startedAt: ms(run.startedAt),
    finishedAt: ms(run.finishedAt),
    error: run.error,
    isBaseline: run.isBaseline,
    baselineRunId: run.baselineRunId,
    summary: run.summary,
  };
}
