import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildEvidencePack,
  escapeHtml,
  renderEvidencePackHtml,
  runMetrics,
  type EvidenceInput,
  type EvidenceRun,
} from '@tripline/evidence';

const T = Date.parse('2026-03-01T10:00:00Z');

function emptyInput(overrides: Partial<EvidenceInput> = {}): EvidenceInput {
  return {
    generatedAt: T,
    generatedBy: 'auditor',
    model: {
      id: 'm',
      name: 'model',
      task: 'text-classification',
      owner: '',
      description: '',
      labels: ['a', 'b'],
      currentVersionId: null,
      ragAllowedSources: null,
      createdAt: T - 1_000,
    },
    versions: [],
    datasets: [],
    runs: [],
    alerts: [],
    alertEvents: [],
    schedules: [],
    rules: [],
    stream: [],
    recentEvents: 0,
    notes: [],
    ...overrides,
  };
}

const run = (overrides: Partial<EvidenceRun>): EvidenceRun => ({
  id: 'r1',
  mode: 'replay',
  datasetId: 'd1',
  datasetKind: 'clean',
  versionId: 'v1',
  status: 'succeeded',
  trigger: 'api',
  scheduleId: null,
  createdAt: T,
  startedAt: T,
  finishedAt: T + 1_000,
  error: null,
  isBaseline: false,
  baselineRunId: null,
  summary: { clean: { accuracy: 0.9, macroF1: 0.88 }, errors: { count: 0 } },
  ...overrides,
});

const dataset = (id: string): EvidenceInput['datasets'][number] => ({
  id,
  name: id,
  kind: 'clean',
  modelId: 'm',
  format: 'jsonl',
  source: 'test',
  uploadedBy: 'tester',
  uploadedAt: T,
  sha256: '0'.repeat(64),
  bytes: 1,
  sampleCount: 1,
  labels: [],
  generatedFrom: null,
  generator: null,
});

const statuses = (input: EvidenceInput) =>
  Object.fromEntries(
    buildEvidencePack(input).frameworks.flatMap((framework) =>
      framework.controls.map((control) => [control.id, control.status]),
    ),
  );

describe('evidence pack', () => {
  it('with no records every section is there and empty, and nothing claims evidence', () => {
    const pack = buildEvidencePack(emptyInput());
    assert.deepEqual(Object.keys(pack.sections).sort(), [
      'alerts',
      'datasets',
      'evaluations',
      'manifests',
      'monitoring',
      'verifications',
    ]);
    const found = statuses(emptyInput());
    assert.equal(found['LLM04:2025'], 'no-evidence');
    assert.equal(found['MEASURE 2.7'], 'no-evidence');
    assert.equal(found['Art. 10'], 'no-evidence');
    assert.equal(found['LLM08:2025'], 'not-applicable', 'a classifier retrieves nothing');
    assert.equal(found['LLM01:2025'], 'not-applicable');
    assert.ok(Object.values(found).every((status) => status !== 'evidenced'));
    for (const id of [
      'MEASURE 2.1',
      'MEASURE 2.3',
      'MEASURE 2.4',
      'MEASURE 2.5',
      'MANAGE 2.2',
      'MANAGE 2.3',
      'MANAGE 2.4',
      'MANAGE 4.1',
      'MANAGE 4.3',
      'Art. 15',
      'Art. 72',
    ])
      assert.ok(id in found, `${id} is mapped`);
  });

  it('reads the headline metrics of each kind of run from its stored summary', () => {
    assert.deepEqual(runMetrics(run({})), { accuracy: 0.9, macro_f1: 0.88, errors: 0 });
    assert.deepEqual(
      runMetrics(
        run({
          datasetKind: 'canary',
          summary: {
            canary: { maxAttackSuccessRate: { trigger: 'cf', rate: 0.97 }, pooledFlipRate: 0.5 },
            generation: { passRate: 0.5, citations: { checked: 4, violations: 2, rate: 0.5 } },
          },
        }),
      ),
      {
        attack_success_rate: 0.97,
        worst_trigger: 'cf',
        flip_rate: 0.5,
        assertion_pass_rate: 0.5,
        citation_violations: 2,
        citation_violation_rate: 0.5,
      },
    );
    assert.deepEqual(runMetrics(run({ summary: null })), {});
  });

  it('a RAG model with an allow-list and citation checks evidences LLM08', () => {
    const input = emptyInput({
      model: { ...emptyInput().model, task: 'rag', ragAllowedSources: ['kb:*'] },
      runs: [
        run({
          datasetKind: 'canary',
          summary: { generation: { passRate: 1, citations: { checked: 3, violations: 0, rate: 0 } } },
        }),
      ],
    });
    const found = statuses(input);
    assert.equal(found['LLM08:2025'], 'evidenced');
    assert.equal(found['LLM01:2025'], 'evidenced');
    assert.deepEqual(buildEvidencePack(input).sections.monitoring.rag, {
      allowed_sources: ['kb:*'],
      canary_citation_checks: 1,
    });
  });

  it('built-in integrity alerts appear as alerts and as failed verifications; rule alerts are not listed twice', () => {
    const pack = buildEvidencePack(
      emptyInput({
        alerts: [
          {
            id: 'a1',
            ruleId: 'r',
            ruleName: 'asr',
            state: 'firing',
            severity: 'critical',
            metric: 'attack_success_rate',
            condition: 'attack_success_rate > 0.5',
            value: 0.9,
            threshold: 0.5,
            baseline: null,
            seriesLabels: { model_id: 'm' },
            activeSince: T,
            firedAt: T,
            acknowledgedAt: null,
            acknowledgedBy: null,
            resolvedAt: null,
            resolvedBy: null,
            resolution: null,
          },
        ],
        alertEvents: [
          {
            alertId: 'a1',
            ruleId: 'r',
            ruleName: 'asr',
            state: 'firing',
            severity: 'critical',
            metric: 'attack_success_rate',
            value: 0.9,
            threshold: 0.5,
            summary: '',
            labels: {},
            timestamp: T,
          },
          {
            alertId: 'artefact-integrity:v1',
            ruleId: 'builtin-artefact-integrity',
            ruleName: 'Model artefact integrity',
            state: 'firing',
            severity: 'critical',
            metric: 'artefact_integrity',
            value: 1,
            threshold: 0,
            summary: 'Load refused: onnx/model.onnx changed',
            labels: { check: 'load', model_version: '1', version_id: 'v1' },
            timestamp: T + 5,
          },
        ],
      }),
    );
    assert.deepEqual(
      pack.sections.alerts.builtin.map((alert) => alert.alert_id),
      ['artefact-integrity:v1'],
    );
    assert.deepEqual(pack.sections.verifications.items, [
      {
        kind: 'integrity-check:load',
        version: '1',
        version_id: 'v1',
        at: new Date(T + 5).toISOString(),
        outcome: 'failed',
        detail: 'Load refused: onnx/model.onnx changed',
      },
    ]);
  });
});

describe('evidence pack HTML', () => {
  const PAYLOADS = [
    '<script>alert(1)</script>',
    '"><img src=x onerror=alert(1)>',
    "'><svg/onload=alert(1)>",
    '`${alert(1)}`',
    '</style><script>x()</script>',
  ];

  it('escapes every string, in every field, whatever it holds', () => {
    for (const payload of PAYLOADS) {
      const hostile = emptyInput({
        generatedBy: payload,
        model: {
          ...emptyInput().model,
          name: payload,
          owner: payload,
          description: payload,
          labels: [payload],
          task: 'rag',
          ragAllowedSources: [payload],
        },
        versions: [
          {
            id: payload,
            version: payload,
            adapterKind: payload,
            adapter: { url: payload },
            createdBy: payload,
            createdAt: T,
            manifest: {
              files: 1,
              bytes: 1,
              digest: payload,
              signature: { keyId: payload, algorithm: payload },
            },
          },
        ],
        datasets: [
          {
            id: 'd1',
            name: payload,
            kind: payload,
            modelId: 'm',
            format: payload,
            source: payload,
            uploadedBy: payload,
            uploadedAt: T,
            sha256: payload,
            bytes: 1,
            sampleCount: 1,
            labels: [payload],
            generatedFrom: payload,
            generator: { trigger: payload },
          },
        ],
        runs: [
          run({
            id: payload,
            trigger: payload,
            error: payload,
            status: payload,
            versionId: payload,
            summary: {
              canary: { maxAttackSuccessRate: { trigger: payload, rate: 1 } },
              fingerprint: payload,
            },
          }),
        ],
        alerts: [
          {
            id: payload,
            ruleId: payload,
            ruleName: payload,
            state: payload,
            severity: payload,
            metric: payload,
            condition: payload,
            value: 1,
            threshold: 0,
            baseline: null,
            seriesLabels: { [payload]: payload },
            activeSince: T,
            firedAt: T,
            acknowledgedAt: T,
            acknowledgedBy: payload,
            resolvedAt: T,
            resolvedBy: payload,
            resolution: payload,
          },
        ],
        alertEvents: [
          {
            alertId: payload,
            ruleId: payload,
            ruleName: payload,
            state: payload,
            severity: payload,
            metric: 'artefact_integrity',
            value: 1,
            threshold: 0,
            summary: payload,
            labels: { check: payload },
            timestamp: T,
          },
        ],
        schedules: [{ id: payload, cron: payload, enabled: true, datasetIds: [payload], createdAt: T }],
        rules: [
          {
            id: payload,
            name: payload,
            metric: payload,
            condition: { op: payload },
            severity: payload,
            enabled: true,
            allModels: false,
          },
        ],
        stream: [{ metric: payload, detector: payload, windows: 1, drift: 1, lastWindowEnd: T }],
        notes: [payload],
      });
      const page = renderEvidencePackHtml(buildEvidencePack(hostile));
      assert.equal(page.match(/<script/gi), null, payload);
      assert.equal(page.match(/<(img|svg)/gi), null, payload);
      assert.equal(page.match(/<[a-z][^>]*\son\w+\s*=/gi), null, payload);
      assert.equal(
        (page.match(/<\/style>/g) ?? []).length,
        1,
        'the style element is closed once, by the template',
      );
      assert.ok(page.includes(escapeHtml(payload)), 'the payload is shown, as text');
    }
  });

  it('escapes the five HTML-significant characters and the backtick', () => {
    assert.equal(
      escapeHtml(`<a href="x" title='y'>&\``),
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&#96;',
    );
  });

  it('headlines the worst current canary set and the fingerprint state, not the latest canary run', () => {
    const canary = (rate: number, trigger: string) => ({
      canary: { maxAttackSuccessRate: { rate, trigger } },
      errors: { count: 0 },
    });
    const input = emptyInput({
      datasets: [
        { ...dataset('lib'), name: 'library canaries', kind: 'canary' },
        { ...dataset('trig'), name: 'scan canaries', kind: 'canary' },
        { ...dataset('probe'), name: 'probes', kind: 'probe' },
      ],
      runs: [
        run({
          id: 't1',
          datasetId: 'trig',
          datasetKind: 'canary',
          finishedAt: T + 1_000,
          summary: canary(0.96, 'custom:cf'),
        }),
        run({
          id: 'l1',
          datasetId: 'lib',
          datasetKind: 'canary',
          finishedAt: T + 2_000,
          summary: canary(0.5, 'rare:mn'),
        }),
        run({
          id: 'l2',
          datasetId: 'lib',
          datasetKind: 'canary',
          finishedAt: T + 3_000,
          summary: canary(0.139, 'rare:mn'),
        }),
        run({
          id: 'p1',
          datasetId: 'probe',
          datasetKind: 'probe',
          finishedAt: T + 1_000,
          summary: { fingerprint: 'a' },
        }),
        run({
          id: 'p2',
          datasetId: 'probe',
          datasetKind: 'probe',
          finishedAt: T + 4_000,
          summary: {
            fingerprint: 'b',
            fingerprintChange: {
              baselineRunId: 'p1',
              baselineFingerprint: 'a',
              pinned: false,
              changed: true,
            },
          },
        }),
      ],
    });
    const pack = buildEvidencePack(input);
    assert.equal(pack.posture.worst_canary?.dataset_id, 'trig');
    assert.equal(pack.posture.worst_canary?.attack_success_rate, 0.96);
    assert.equal(pack.posture.worst_canary?.gate, 'fail');
    assert.deepEqual(
      pack.posture.canary_sets.map((set) => [set.run_id, set.attack_success_rate]),
      [
        ['t1', 0.96],
        ['l2', 0.139],
      ],
      'one current state per set: the latest run of each, worst first',
    );
    assert.equal(pack.posture.fingerprint, 'changed');
    assert.equal(pack.posture.fingerprints[0].baseline_run_id, 'p1');
    const canaryEvidence = pack.frameworks
      .flatMap((framework) => framework.controls)
      .flatMap((control) => control.evidence)
      .find((line) => /canary run/.test(line.detail));
    assert.match(canaryEvidence!.detail, /worst current attack-success rate 0\.960 \(set "scan canaries"/);
    assert.match(renderEvidencePackHtml(pack), /Current posture/);
  });
});
