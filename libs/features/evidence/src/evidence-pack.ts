import type {
  EvidenceAlert,
  EvidenceAlertEvent,
  EvidenceDataset,
  EvidenceInput,
  EvidenceRun,
  EvidenceVersion,
} from './evidence-input';
import { assessFrameworks, type FrameworkAssessment } from './frameworks';
import { currentPosture, type Posture } from './posture';

/** The metric the evaluator's artefact-integrity check publishes its alerts under. */
export const ARTEFACT_INTEGRITY_METRIC = 'artefact_integrity';
/** How many runs and alerts a pack lists; the counts cover everything read. */
export const LISTED_ITEMS = 500;

const iso = (ms: number | null | undefined) =>
  ms === null || ms === undefined ? null : new Date(ms).toISOString();
const record = (value: unknown): Record<string, unknown> | undefined =>
  value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
const finite = (value: unknown): number | null =>
  typeof value === 'number' && Number.isFinite(value) ? value : null;

/** The headline numbers of one run, read from the summary the evaluator stored with it. */
export function runMetrics(run: EvidenceRun): Record<string, number | string | boolean | null> {
  const summary = record(run.summary) ?? {};
  const clean = record(summary.clean);
  const canary = record(summary.canary);
  const generation = record(summary.generation);
  const citations = record(generation?.citations);
  const change = record(summary.fingerprintChange);
  const comparison = record(summary.comparison);
  const scan = record(summary.scan);
  const errors = record(summary.errors);
  const metrics: Record<string, number | string | boolean | null> = {
    accuracy: finite(clean?.accuracy),
    macro_f1: finite(clean?.macroF1),
    expected_calibration_error: finite(clean?.expectedCalibrationError),
    attack_success_rate: finite(record(canary?.maxAttackSuccessRate)?.rate),
    worst_trigger: (record(canary?.maxAttackSuccessRate)?.trigger as string | undefined) ?? null,
    flip_rate: finite(canary?.pooledFlipRate),
    assertion_pass_rate: finite(generation?.passRate),
    citation_violations: finite(citations?.violations),
    citation_violation_rate: finite(citations?.rate),
    fingerprint: typeof summary.fingerprint === 'string' ? summary.fingerprint : null,
    fingerprint_changed: change ? change.changed === true && change.versionChanged !== true : null,
    regressions: Array.isArray(comparison?.regressions) ? comparison.regressions.length : null,
    flagged_triggers: Array.isArray(scan?.flagged) ? scan.flagged.length : null,
    errors: finite(errors?.count),
  };
  return Object.fromEntries(Object.entries(metrics).filter(([, value]) => value !== null));
}

export interface EvidencePack {
  format: 'tripline.evidence-pack';
  format_version: 1;
  generated_at: string;
  generated_by: string | null;
  disclaimer: string;
  model: Record<string, unknown>;
  /** The headline: the worst current canary attack-success rate per canary set, and the fingerprint state. */
  posture: Posture;
  sections: {
    evaluations: {
      total: number;
      succeeded: number;
      failed: number;
      by_kind: Record<string, number>;
      first_at: string | null;
      last_at: string | null;
      items: Record<string, unknown>[];
    };
    alerts: {
      total: number;
      open: number;
      by_severity: Record<string, number>;
      items: Record<string, unknown>[];
      /** Alerts raised outside the rules engine (artefact integrity), from the alerts topic history. */
      builtin: Record<string, unknown>[];
    };
    datasets: { total: number; items: Record<string, unknown>[] };
    manifests: { total: number; signed: number; items: Record<string, unknown>[] };
    verifications: { items: Record<string, unknown>[] };
    monitoring: {
      schedules: Record<string, unknown>[];
      rules: Record<string, unknown>[];
      stream: Record<string, unknown>[] | null;
      recent_events: number | null;
      rag: { allowed_sources: string[] | null; canary_citation_checks: number } | null;
    };
  };
  frameworks: FrameworkAssessment[];
  notes: string[];
}

const DISCLAIMER =
  'This pack collects the technical records Tripline holds for the model and shows which requirements they ' +
  'speak to. It is evidence for an assessment, not an assessment: whether a requirement is met is for the ' +
  'provider, deployer or auditor to judge with the context Tripline does not have.';

type Sections = EvidencePack['sections'];

/** What every section reads: the runs newest first, and datasets and versions by id. */
interface PackContext {
  input: EvidenceInput;
  runs: EvidenceRun[];
  datasets: Map<string, EvidenceDataset>;
  versions: Map<string, EvidenceVersion>;
}

const kindOf = (run: EvidenceRun) => (run.mode === 'trigger-scan' ? 'trigger-scan' : run.datasetKind);

/**
 * Per model: evaluations, alerts, dataset provenance, manifests and verifications, with how they
 * map to OWASP Top 10 for LLM Applications 2025, NIST AI RMF 1.0 and the EU AI Act.
 */
export function buildEvidencePack(input: EvidenceInput): EvidencePack {
  const context: PackContext = {
    input,
    runs: [...input.runs].sort((a, b) => b.createdAt - a.createdAt),
    datasets: new Map(input.datasets.map((dataset) => [dataset.id, dataset])),
    versions: new Map(input.versions.map((version) => [version.id, version])),
  };
  const pack: EvidencePack = {
    format: 'tripline.evidence-pack',
    format_version: 1,
    generated_at: iso(input.generatedAt)!,
    generated_by: input.generatedBy,
    disclaimer: DISCLAIMER,
    model: modelSection(context),
    posture: currentPosture(context.runs, input.datasets),
    sections: {
      evaluations: evaluationsSection(context),
      alerts: alertsSection(input),
      datasets: datasetsSection(context),
      manifests: manifestsSection(input),
      verifications: { items: verificationItems(context) },
      monitoring: monitoringSection(context),
    },
    frameworks: [],
    notes: [...input.notes],
  };
  pack.frameworks = assessFrameworks(input, pack);
  return pack;
}

function modelSection({ input: { model }, versions }: PackContext): Record<string, unknown> {
  return {
    id: model.id,
    name: model.name,
    task: model.task,
    owner: model.owner,
    description: model.description,
    labels: model.labels,
    current_version: versions.get(model.currentVersionId ?? '')?.version ?? null,
    current_version_id: model.currentVersionId,
    rag_allowed_sources: model.ragAllowedSources,
    registered_at: iso(model.createdAt),
  };
}

function evaluationsSection({ runs, datasets, versions }: PackContext): Sections['evaluations'] {
  const byKind: Record<string, number> = {};
  for (const run of runs) byKind[kindOf(run)] = (byKind[kindOf(run)] ?? 0) + 1;
  const times = runs.map((run) => run.finishedAt ?? run.createdAt);
  return {
    total: runs.length,
    succeeded: runs.filter((run) => run.status === 'succeeded').length,
    failed: runs.filter((run) => run.status === 'failed').length,
    by_kind: byKind,
    first_at: iso(times.length ? times.reduce((a, b) => Math.min(a, b)) : null),
    last_at: iso(times.length ? times.reduce((a, b) => Math.max(a, b)) : null),
    items: runs.slice(0, LISTED_ITEMS).map((run) => ({
      id: run.id,
      kind: kindOf(run),
      status: run.status,
      dataset_id: run.datasetId,
      dataset_name: datasets.get(run.datasetId)?.name ?? null,
      version: versions.get(run.versionId ?? '')?.version ?? null,
      trigger: run.trigger,
      started_at: iso(run.startedAt),
      finished_at: iso(run.finishedAt),
      is_baseline: run.isBaseline,
      baseline_run_id: run.baselineRunId,
      metrics: runMetrics(run),
      error: run.error,
    })),
  };
}

function alertsSection(input: EvidenceInput): Sections['alerts'] {
  const alerts = [...input.alerts].sort((a, b) => b.activeSince - a.activeSince);
  const bySeverity: Record<string, number> = {};
  for (const alert of alerts) bySeverity[alert.severity] = (bySeverity[alert.severity] ?? 0) + 1;
  const engineAlerts = new Set(alerts.map((alert) => alert.id));
  const builtin = latestPerAlert(
    (input.alertEvents ?? []).filter((event) => !engineAlerts.has(event.alertId)),
  );
  return {
    total: alerts.length,
    open: alerts.filter((alert) => alert.state !== 'resolved').length,
    by_severity: bySeverity,
    items: alerts.slice(0, LISTED_ITEMS).map(alertItem),
    builtin: builtin.slice(0, LISTED_ITEMS).map((event) => ({
      alert_id: event.alertId,
      rule: event.ruleName,
      state: event.state,
      severity: event.severity,
      metric: event.metric,
      value: event.value,
      summary: event.summary,
      at: iso(event.timestamp),
    })),
  };
}

function alertItem(alert: EvidenceAlert): Record<string, unknown> {
  return {
    id: alert.id,
    rule: alert.ruleName,
    rule_id: alert.ruleId,
    state: alert.state,
    severity: alert.severity,
    metric: alert.metric,
    condition: alert.condition,
    value: alert.value,
    threshold: alert.threshold,
    baseline: alert.baseline,
    labels: alert.seriesLabels,
    active_since: iso(alert.activeSince),
    fired_at: iso(alert.firedAt),
    acknowledged_at: iso(alert.acknowledgedAt),
    acknowledged_by: alert.acknowledgedBy,
    resolved_at: iso(alert.resolvedAt),
    resolved_by: alert.resolvedBy,
    resolution: alert.resolution,
  };
}

function datasetsSection({ input, runs }: PackContext): Sections['datasets'] {
  return {
    total: input.datasets.length,
    items: input.datasets.map((dataset) => ({
      id: dataset.id,
      name: dataset.name,
      kind: dataset.kind,
      belongs_to_model: dataset.modelId === input.model.id,
      source: dataset.source,
      uploaded_by: dataset.uploadedBy,
      uploaded_at: iso(dataset.uploadedAt),
      sha256: dataset.sha256,
      bytes: dataset.bytes,
      format: dataset.format,
      samples: dataset.sampleCount,
      labels: dataset.labels,
      generated_from: dataset.generatedFrom,
      generator: dataset.generator,
      used_by_runs: runs.filter((run) => run.datasetId === dataset.id).length,
    })),
  };
}

function manifestsSection(input: EvidenceInput): Sections['manifests'] {
  return {
    total: input.versions.length,
    signed: input.versions.filter((version) => version.manifest?.signature).length,
    items: input.versions.map((version) => ({
      version: version.version,
      version_id: version.id,
      current: version.id === input.model.currentVersionId,
      adapter_kind: version.adapterKind,
      adapter: version.adapter,
      registered_by: version.createdBy,
      registered_at: iso(version.createdAt),
      manifest: version.manifest
        ? {
            files: version.manifest.files,
            bytes: version.manifest.bytes,
            digest_sha256: version.manifest.digest,
            signature: version.manifest.signature,
          }
        : null,
    })),
  };
}

/** Registrations and loads per version, then integrity checks, then probe fingerprints. */
function verificationItems(context: PackContext): Record<string, unknown>[] {
  return [
    ...context.input.versions.flatMap((version) => versionVerifications(version, context.runs)),
    ...integrityVerifications(context.input.alertEvents ?? []),
    ...fingerprintVerifications(context),
  ];
}

function versionVerifications(version: EvidenceVersion, runs: EvidenceRun[]): Record<string, unknown>[] {
  if (version.adapterKind !== 'onnx')
    return [
      {
        kind: 'remote',
        version: version.version,
        version_id: version.id,
        at: iso(version.createdAt),
        outcome: 'not-applicable',
        detail: `served over ${version.adapterKind}: no files to check; the behavioural fingerprint of probe runs stands in`,
      },
    ];
  const items: Record<string, unknown>[] = [
    {
      kind: 'registration',
      version: version.version,
      version_id: version.id,
      at: iso(version.createdAt),
      outcome: version.manifest ? 'recorded' : 'missing',
      detail: version.manifest
        ? `manifest of ${version.manifest.files} file(s) recorded at registration` +
          (version.manifest.signature
            ? `, signed (${version.manifest.signature.algorithm}, key ${version.manifest.signature.keyId})`
            : ', unsigned') +
          '; a given manifest is checked against the folder before it is accepted'
        : 'no manifest recorded: the first load records the folder as it is then (trust on first use)',
    },
  ];
  const loads = runs.filter((run) => run.versionId === version.id && run.status === 'succeeded').length;
  if (loads > 0)
    items.push({
      kind: 'load',
      version: version.version,
      version_id: version.id,
      at: null,
      outcome: 'passed',
      detail: `${loads} succeeded run(s) used this version; a local model is loaded only after its files match the manifest`,
    });
  return items;
}

function integrityVerifications(events: EvidenceAlertEvent[]): Record<string, unknown>[] {
  return events
    .filter((event) => event.metric === ARTEFACT_INTEGRITY_METRIC)
    .sort((a, b) => b.timestamp - a.timestamp)
    .map((event) => ({
      kind: `integrity-check:${event.labels.check ?? 'unknown'}`,
      version: event.labels.model_version ?? null,
      version_id: event.labels.version_id ?? null,
      at: iso(event.timestamp),
      outcome: event.state === 'resolved' ? 'passed-again' : 'failed',
      detail: event.summary,
    }));
}

function fingerprintVerifications({ runs, versions }: PackContext): Record<string, unknown>[] {
  const items: Record<string, unknown>[] = [];
  for (const run of runs.filter(
    (candidate) => candidate.datasetKind === 'probe' && candidate.status === 'succeeded',
  )) {
    const metrics = runMetrics(run);
    if (metrics.fingerprint === undefined) continue;
    items.push({
      kind: 'fingerprint',
      version: versions.get(run.versionId ?? '')?.version ?? null,
      version_id: run.versionId,
      at: iso(run.finishedAt),
      outcome: metrics.fingerprint_changed === true ? 'changed' : 'unchanged',
      detail: `probe-set fingerprint ${String(metrics.fingerprint).slice(0, 16)}… (run ${run.id})`,
    });
  }
  return items;
}

function monitoringSection({ input, runs, datasets }: PackContext): Sections['monitoring'] {
  const { model } = input;
  const canaryCitationChecks = runs.filter(
    (run) => runMetrics(run).citation_violation_rate !== undefined,
  ).length;
  return {
    schedules: input.schedules.map((schedule) => ({
      id: schedule.id,
      cron: schedule.cron,
      enabled: schedule.enabled,
      datasets: schedule.datasetIds.map((id) => datasets.get(id)?.name ?? id),
      created_at: iso(schedule.createdAt),
    })),
    rules: input.rules.map((rule) => ({
      id: rule.id,
      name: rule.name,
      metric: rule.metric,
      condition: rule.condition,
      severity: rule.severity,
      enabled: rule.enabled,
      scope: rule.allModels ? 'every model' : 'this model',
    })),
    stream:
      input.stream?.map((metric) => ({
        metric: metric.metric,
        detector: metric.detector,
        windows: metric.windows,
        drift: metric.drift,
        last_window_end: iso(metric.lastWindowEnd),
      })) ?? null,
    recent_events: input.recentEvents,
    rag:
      model.task === 'rag' || model.ragAllowedSources
        ? { allowed_sources: model.ragAllowedSources, canary_citation_checks: canaryCitationChecks }
        : null,
  };
}

/** The newest event of each alert: its current state. */
function latestPerAlert(events: EvidenceAlertEvent[]): EvidenceAlertEvent[] {
  const latest = new Map<string, EvidenceAlertEvent>();
  for (const event of events) {
    const seen = latest.get(event.alertId);
    if (!seen || event.timestamp >= seen.timestamp) latest.set(event.alertId, event);
  }
  return [...latest.values()].sort((a, b) => b.timestamp - a.timestamp);
}
