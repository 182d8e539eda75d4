import { RAG_CITATION_RULE_METRIC } from '@tripline/rag';
import type { EvidenceInput, EvidenceRun } from './evidence-input';
import type { EvidencePack } from './evidence-pack';

export type ControlStatus = 'evidenced' | 'partial' | 'no-evidence' | 'not-applicable';

export interface ControlAssessment {
  id: string;
  title: string;
  /** What the requirement asks, in short (paraphrased, not the official text). */
  summary: string;
  /**
   * evidenced: the records below speak to every part Tripline can speak to; partial: to some;
   * no-evidence: Tripline holds nothing for it yet; not-applicable: not for this kind of model.
   */
  status: ControlStatus;
  evidence: { section: keyof EvidencePack['sections']; detail: string }[];
  /** What is missing, or outside what Tripline records. */
  gaps: string[];
}

export interface FrameworkAssessment {
  id: string;
  name: string;
  reference: string;
  controls: ControlAssessment[];
}

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
function factsOf(input: EvidenceInput, pack: EvidencePack) {
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

type Facts = ReturnType<typeof factsOf>;

function runs(what: string, list: EvidenceRun[], metric?: (run: EvidenceRun) => string | undefined): string {
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

const metricOf = (label: string, path: string[]) => (run: EvidenceRun) => {
  let value: unknown = run.summary;
  for (const part of path)
    value = value && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
  return typeof value === 'number' ? `${label} ${value.toFixed(3)}` : undefined;
};

/** Builds one control: evidence lines whose condition holds, gaps for those that do not. */
function control(
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

const evidence = {
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

const UNRECORDED_SCANS =
  'dataset and knowledge-base scans (POST /v1/scans, tripline scan) answer in the request and are not stored: attach their reports';

/** How the pack's records map to each framework's requirements. */
export function assessFrameworks(input: EvidenceInput, pack: EvidencePack): FrameworkAssessment[] {
  const f = factsOf(input, pack);
  return [
    {
      id: 'owasp-llm-top-10-2025',
      name: 'OWASP Top 10 for LLM Applications 2025',
      reference: 'https://genai.owasp.org/llm-top-10/',
      controls: [
        control(
          'LLM04:2025',
          'Data and Model Poisoning',
          'Pre-training, fine-tuning or embedding data is manipulated to plant backdoors, biases or vulnerabilities.',
          [evidence.canaries(f), evidence.provenance(f), evidence.rules(f)],
          [UNRECORDED_SCANS],
        ),
        control(
          'LLM03:2025',
          'Supply Chain',
          'Third-party models, weights and data can be tampered with or swapped.',
          [evidence.artefacts(f)],
        ),
        control(
          'LLM08:2025',
          'Vector and Embedding Weaknesses',
          'Retrieval-augmented generation can retrieve poisoned or unauthorised content.',
          [evidence.ragAllowList(f), evidence.ragChecks(f)],
          [UNRECORDED_SCANS],
          f.rag,
        ),
        control(
          'LLM01:2025',
          'Prompt Injection',
          'Instructions in inputs or retrieved content change the model’s behaviour (direct and indirect injection).',
          [
            {
              holds: f.generation.length > 0,
              evidence: () => ({
                section: 'evaluations',
                detail: runs(
                  'assertion canary run(s)',
                  f.generation,
                  metricOf('assertion pass rate', ['generation', 'passRate']),
                ),
              }),
              gap: 'no canary run with assertions on the generated text',
            },
          ],
          f.rag
            ? ['instruction-like content in the knowledge base is found by the RAG scan, which is not stored']
            : [],
          f.generative,
        ),
      ],
    },
    {
      id: 'nist-ai-rmf-1.0',
      name: 'NIST AI Risk Management Framework 1.0 (NIST AI 100-1)',
      reference: 'https://doi.org/10.6028/NIST.AI.100-1',
      controls: [
        control(
          'MEASURE 2.1',
          'Test sets, metrics and TEVV tools are documented',
          'The data sets, metrics and tools used for testing, evaluation, verification and validation are documented.',
          [evidence.provenance(f), evidence.clean(f)],
        ),
        control(
          'MEASURE 2.3',
          'Performance is measured for deployment-like conditions',
          'Performance or assurance criteria are measured and demonstrated for conditions similar to deployment, and documented.',
          [evidence.clean(f), evidence.monitoring(f)],
        ),
        control(
          'MEASURE 2.4',
          'Functionality and behaviour are monitored in production',
          'The system and its components are monitored when in production.',
          [evidence.monitoring(f), evidence.rules(f)],
        ),
        control(
          'MEASURE 2.5',
          'Validity and reliability are demonstrated',
          'The deployed system is shown to be valid and reliable, and the limits of its generalisation are documented.',
          [evidence.clean(f), evidence.comparisons(f)],
        ),
        control(
          'MEASURE 2.7',
          'Security and resilience are evaluated and documented',
          'Security and resilience of the system are evaluated and documented.',
          [evidence.canaries(f), evidence.artefacts(f)],
          [UNRECORDED_SCANS],
        ),
        control(
          'MANAGE 2.2',
          'Mechanisms sustain the value of the deployed system',
          'Mechanisms are in place and applied to sustain the value of deployed AI systems.',
          [evidence.monitoring(f), evidence.rules(f)],
        ),
        control(
          'MANAGE 2.3',
          'Previously unknown risks are responded to',
          'Procedures are followed to respond to and recover from a previously unknown risk when it is identified.',
          [
            {
              holds: f.scans.length > 0 || f.streamWindows > 0,
              evidence: () => ({
                section: 'evaluations',
                detail: `${f.scans.length} trigger scan(s) for unnamed triggers; ${f.streamWindows} stream-detector window(s) for unforeseen drift`,
              }),
              gap: 'no trigger scan and no stream-detector window: only known triggers are tested',
            },
            evidence.incidents(f),
          ],
          ['recovery steps (rollback, retraining) are taken outside Tripline'],
        ),
        control(
          'MANAGE 2.4',
          'Systems can be superseded, disengaged or deactivated',
          'Mechanisms and responsibilities exist to supersede, disengage or deactivate systems whose outcomes are inconsistent with intended use.',
          [
            {
              holds: f.localWithManifest.length > 0,
              evidence: () => ({
                section: 'verifications',
                detail:
                  'a local version whose files differ from its manifest is refused at load and raises a critical alert',
              }),
              gap: 'no local version with a manifest: Tripline cannot refuse a load for this model',
            },
            evidence.rules(f),
          ],
          ['deactivating the production deployment is an operator action outside Tripline'],
        ),
        control(
          'MANAGE 4.1',
          'Post-deployment monitoring plans are implemented',
          'Post-deployment monitoring plans are implemented, including incident response, recovery and change management.',
          [evidence.monitoring(f), evidence.rules(f), evidence.artefacts(f)],
        ),
        control(
          'MANAGE 4.3',
          'Incidents and errors are tracked and communicated',
          'Incidents and errors are communicated to relevant actors; tracking, response and recovery are followed and documented.',
          [evidence.incidents(f), evidence.rules(f)],
        ),
      ],
    },
    {
      id: 'eu-ai-act',
      name: 'EU AI Act (Regulation (EU) 2024/1689)',
      reference: 'https://eur-lex.europa.eu/eli/reg/2024/1689/oj',
      controls: [
        control(
          'Art. 10',
          'Data and data governance',
          'Training, validation and testing data are subject to governance covering their origin and collection (10(2)(b)) and are relevant, representative and as free of errors as possible (10(3)).',
          [evidence.provenance(f)],
          [
            'the training data of the model itself is covered only where it was uploaded or scanned',
            'examination for bias (10(2)(f), (g)) is outside what Tripline measures',
          ],
        ),
        control(
          'Art. 15',
          'Accuracy, robustness and cybersecurity',
          'Appropriate accuracy (with declared metrics, 15(3)), consistent performance, and resilience against attacks including data poisoning and model poisoning (15(5)).',
          [evidence.clean(f), evidence.comparisons(f), evidence.canaries(f), evidence.artefacts(f)],
        ),
        control(
          'Art. 72',
          'Post-market monitoring',
          'A documented post-market monitoring system that actively and systematically collects and analyses performance data throughout the lifetime.',
          [evidence.monitoring(f), evidence.rules(f), evidence.incidents(f)],
          ['the post-market monitoring plan document itself (72(3)) is written by the provider'],
        ),
      ],
    },
  ];
}
