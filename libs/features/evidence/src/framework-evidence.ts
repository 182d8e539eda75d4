/*
 * The building blocks of the framework mapping (frameworks.ts): the facts a pack's records
 * establish, and for each kind of evidence whether it holds, what it says, and the gap otherwise.
 */
import { RAG_CITATION_RULE_METRIC } from '@tripline/rag';
import type { EvidenceInput, EvidenceRun } from './evidence-input';
import type { EvidencePack } from './evidence-pack';
import type { ControlAssessment } from './frameworks';

const POISONING_METRICS = new Set([
  'attack_success_rate',
  'trigger_attack_success_rate',
  'flip_rate',
  'confidence_shift',
  'citation_violations',
  'citation_violation_rate',
  'fingerprint_changed',
  'artefact_integrity',
  RAG_CITATION_RULE_METRIC,
]);

const day = (ms: number | null) => (ms === null ? 'unknown' : new Date(ms).toISOString().slice(0, 10));

/** The facts the assessments are decided on, computed once. */
export function factsOf(input: EvidenceInput, pack: EvidencePack) {
  const succeeded = input.runs.filter((run) => run.status === 'succeeded');
  const ofKind = (kind: string) =>
    succeeded.filter((run) => run.mode !== 'trigger-scan' && run.datasetKind === kind);
  const summaryOf = (run: EvidenceRun) => (run.summary ?? {}) as Record<string, unknown>;
  const generation = succeeded.filter((run) => summaryOf(run).generation !== undefined);
  const local = input.versions.filter((version) => version.adapterKind === 'onnx');
  const rules = input.rules.filter((rule) => rule.enabled);
  const streamWindows = (input.stream ?? []).reduce((sum, metric) => sum + metric.windows, 0);
  return {
    rag: input.model.task === 'rag',
    generative: input.model.task !== 'text-classification',
    clean: ofKind('clean'),
    canary: ofKind('canary').filter((run) => (summaryOf(run).canary ?? null) !== null),
    generation,
    citationChecks: generation.filter(
      (run) => (summaryOf(run).generation as Record<string, unknown>).citations !== undefined,
    ),
    probes: ofKind('probe'),
    scans: succeeded.filter((run) => run.mode === 'trigger-scan'),
    comparisons: succeeded.filter((run) => run.baselineRunId !== null),
    datasets: input.datasets,
    datasetsWithSource: input.datasets.filter((dataset) => dataset.source.trim() !== ''),
    local,
    localWithManifest: local.filter((version) => version.manifest !== null),
    signed: input.versions.filter((version) => version.manifest?.signature),
    remote: input.versions.filter((version) => version.adapterKind !== 'onnx'),
    integrityFailures: (input.alertEvents ?? []).filter(
      (event) => event.metric === 'artefact_integrity' && event.state === 'firing',
    ),
    schedules: input.schedules.filter((schedule) => schedule.enabled),
    rules,
    poisoningRules: rules.filter((rule) => POISONING_METRICS.has(rule.metric)),
    ragRules: rules.filter((rule) => rule.metric === RAG_CITATION_RULE_METRIC),
    alerts: input.alerts,
    handled: input.alerts.filter((alert) => alert.acknowledgedAt !== null || alert.resolvedAt !== null),
    poisoningAlerts: input.alerts.filter((alert) => POISONING_METRICS.has(alert.metric)),
    streamWindows,
    streamDrift: (input.stream ?? []).reduce((sum, metric) => sum + metric.drift, 0),
    recentEvents: input.recentEvents,
    pack,
  };
}

export type Facts = ReturnType<typeof factsOf>;

export function runs(
  what: string,
  list: EvidenceRun[],
  metric?: (run: EvidenceRun) => string | undefined,
): string {
  const latest = [...list].sort((a, b) => (b.finishedAt ?? 0) - (a.finishedAt ?? 0))[0];
  const shown = latest && metric ? metric(latest) : undefined;
  return `${list.length} succeeded ${what}; latest ${day(latest?.finishedAt ?? null)}${shown ? ` (${shown})` : ''}`;
}

/** The current state of the worst canary set, not of whichever canary run came last. */
function worstCanary(f: Facts): string {
  const worst = f.pack.posture.worst_canary;
  if (!worst) return '';
  const name = worst.dataset_name ?? worst.dataset_id;
  const trigger = worst.worst_trigger ? `, trigger "${worst.worst_trigger}"` : '';
  return `; worst current attack-success rate ${worst.attack_success_rate.toFixed(3)} (set "${name}"${trigger}, ${day(Date.parse(worst.at ?? '') || null)})`;
}

export const metricOf = (label: string, path: string[]) => (run: EvidenceRun) => {
  let value: unknown = run.summary;
  for (const part of path)
    value = value && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
  return typeof value === 'number' ? `${label} ${value.toFixed(3)}` : undefined;
};

/** Builds one control: evidence lines whose condition holds, gaps for those that do not. */
export function control(
  id: string,
  title: string,
  summary: string,
  parts: {
    holds: boolean;
    evidence: () => { section: ControlAssessment['evidence'][number]['section']; detail: string };
    gap: string;
  }[],
  always: string[] = [],
  applicable = true,
): ControlAssessment {
  if (!applicable) return { id, title, summary, status: 'not-applicable', evidence: [], gaps: [] };
  const held = parts.filter((part) => part.holds);
  return {
    id,
    title,
    summary,
    status: held.length === parts.length ? 'evidenced' : held.length > 0 ? 'partial' : 'no-evidence',
    evidence: held.map((part) => part.evidence()),
    gaps: [...parts.filter((part) => !part.holds).map((part) => part.gap), ...always],
  };
}

export const evidence = {
  canaries: (f: Facts) => ({
    holds: f.canary.length + f.scans.length + f.citationChecks.length > 0,
    evidence: () => ({
      section: 'evaluations' as const,
      detail: [
        f.canary.length ? `${f.canary.length} succeeded canary run(s)${worstCanary(f)}` : '',
        f.scans.length ? `${f.scans.length} trigger scan(s) for triggers no canary names` : '',
        f.citationChecks.length ? `${f.citationChecks.length} RAG canary run(s) checking cited sources` : '',
      ]
        .filter(Boolean)
        .join('; '),
    }),
    gap: 'no succeeded canary run or trigger scan: nothing has measured how the model answers a trigger',
  }),
  provenance: (f: Facts) => ({
    holds: f.datasets.length > 0 && f.datasetsWithSource.length === f.datasets.length,
    evidence: () => ({
      section: 'datasets' as const,
      detail: `${f.datasets.length} dataset(s) with source, uploader, upload time and SHA-256`,
    }),
    gap:
      f.datasets.length === 0
        ? 'no dataset registered for this model'
        : `${f.datasets.length - f.datasetsWithSource.length} dataset(s) without a recorded source`,
  }),
  clean: (f: Facts) => ({
    holds: f.clean.length > 0 || (f.generative && f.generation.length > 0),
    evidence: () => ({
      section: 'evaluations' as const,
      detail: f.clean.length
        ? runs('clean-set replay(s)', f.clean, metricOf('accuracy', ['clean', 'accuracy']))
        : runs('assertion run(s)', f.generation, metricOf('assertion pass rate', ['generation', 'passRate'])),
    }),
    gap: 'no succeeded clean-set replay: accuracy has not been measured',
  }),
  comparisons: (f: Facts) => ({
    holds: f.comparisons.length > 0,
    evidence: () => ({
      section: 'evaluations' as const,
      detail: `${f.comparisons.length} run(s) compared with a pinned or earlier baseline`,
    }),
    gap: 'no run compared with a baseline yet (a second run of the same set is)',
  }),
  artefacts: (f: Facts) => ({
    holds:
      f.local.length + f.remote.length > 0 &&
      f.localWithManifest.length === f.local.length &&
      (f.remote.length === 0 || f.probes.length > 0),
    evidence: () => ({
      section: 'manifests' as const,
      detail:
        `${f.localWithManifest.length} local version(s) with a SHA-256 manifest (${f.signed.length} signed)` +
        (f.remote.length
          ? `; ${f.probes.length} fingerprint probe run(s) for ${f.remote.length} remote version(s)`
          : '') +
        (f.integrityFailures.length ? `; ${f.integrityFailures.length} integrity failure(s) recorded` : ''),
    }),
    gap:
      f.local.length + f.remote.length === 0
        ? 'no model version registered'
        : f.localWithManifest.length < f.local.length
          ? 'a local version has no manifest'
          : 'a remote version has no fingerprint probe run: a silent swap behind the endpoint would go unseen',
  }),
  monitoring: (f: Facts) => ({
    holds: f.schedules.length > 0 || f.streamWindows > 0,
    evidence: () => ({
      section: 'monitoring' as const,
      detail: [
        f.schedules.length ? `${f.schedules.length} enabled evaluation schedule(s)` : '',
        f.streamWindows
          ? `${f.streamWindows} stream-detector window(s) in 30 days (${f.streamDrift} with drift)`
          : '',
        f.recentEvents ? `about ${f.recentEvents} inference event(s) observed in 30 days` : '',
      ]
        .filter(Boolean)
        .join('; '),
    }),
    gap: 'no enabled schedule and no stream-detector window: nothing watches the model in production',
  }),
  rules: (f: Facts) => ({
    holds: f.rules.length > 0,
    evidence: () => ({
      section: 'monitoring' as const,
      detail: `${f.rules.length} enabled alert rule(s) watch this model (${f.poisoningRules.length} on poisoning signals)`,
    }),
    gap: 'no enabled alert rule watches this model: a finding would page nobody',
  }),
  incidents: (f: Facts) => ({
    holds: f.alerts.length > 0,
    evidence: () => ({
      section: 'alerts' as const,
      detail: `${f.alerts.length} alert(s), ${f.handled.length} acknowledged or resolved, each with its timeline`,
    }),
    gap: 'no alert recorded for this model (none raised yet)',
  }),
  ragAllowList: (f: Facts) => ({
    holds: (f.pack.model.rag_allowed_sources as string[] | null) !== null,
    evidence: () => ({
      section: 'monitoring' as const,
      detail: `an allow-list of ${(f.pack.model.rag_allowed_sources as string[]).length} approved source(s)`,
    }),
    gap: 'no RAG allow-list: citations are not checked',
  }),
  ragChecks: (f: Facts) => ({
    holds: f.citationChecks.length > 0 || f.ragRules.length > 0,
    evidence: () => ({
      section: 'monitoring' as const,
      detail: `${f.citationChecks.length} RAG canary run(s) checking citations; ${f.ragRules.length} rule(s) on ${RAG_CITATION_RULE_METRIC} for live events`,
    }),
    gap: `no RAG canary run and no rule on ${RAG_CITATION_RULE_METRIC}`,
  }),
};
