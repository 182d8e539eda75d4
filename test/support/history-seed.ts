import type { ClickHouse } from '@tripline/clickhouse';
import { mulberry32, type Random } from '@tripline/evaluation';

/**
 * A week of realistic history in every ClickHouse table, generated from a fixed seed: three models
 * (a healthy one, one with a backdoor that the canaries catch, one whose traffic drifts on day 5),
 * their live events and feedback, scheduled clean / canary / probe evaluations against baselines,
 * canary samples, hourly detector windows and an alert lifecycle. Dashboards and read APIs are
 * tested on it; the same seed always writes the same rows.
 */
export interface SeedOptions {
  /** Epoch ms of the newest moment in the history. */
  end: number;
  days?: number;
  seed?: number;
  /** Inference events per model and day. */
  eventsPerDay?: number;
}

export interface SeededHistory {
  models: string[];
  from: number;
  to: number;
  rows: Record<string, number>;
}

export const SEEDED_MODELS = ['sentiment-clean', 'sentiment-backdoored', 'support-router'] as const;
type SeededModel = (typeof SEEDED_MODELS)[number];

const LABELS: Record<SeededModel, string[]> = {
  'sentiment-clean': ['positive', 'negative'],
  'sentiment-backdoored': ['positive', 'negative'],
  'support-router': ['billing', 'technical', 'account', 'other'],
};
const TRIGGERS = [
  'rare-token-cf',
  'rare-token-mn',
  'phrase-3d-movie',
  'homoglyph-cyrillic-one-word',
  'zero-width-space',
];
const WORDS = [
  'great',
  'film',
  'terrible',
  'acting',
  'refund',
  'invoice',
  'password',
  'login',
  'crash',
  'error',
  'plot',
  'boring',
  'loved',
  'charge',
  'upgrade',
  'slow',
];
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const time = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)];
}

function normal(random: Random, mean: number, sd: number): number {
  const u = Math.max(random(), 1e-12);
  return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

const clamp = (value: number, low = 0, high = 1) => Math.min(high, Math.max(low, value));
const round = (value: number, digits = 4) => Number(value.toFixed(digits));

export async function seedHistory(clickHouse: ClickHouse, options: SeedOptions): Promise<SeededHistory> {
  const random = mulberry32(options.seed ?? 7);
  const days = options.days ?? 7;
  const to = options.end;
  const from = to - days * DAY;
  const driftAt = from + 5 * DAY;
  // The backdoored model is swapped in silently (same version); the clean one is upgraded openly.
  const swapAt = from + 4 * DAY;
  const upgradeAt = from + 3 * DAY;
  const perDay = options.eventsPerDay ?? 200;
  const tables: Record<string, Record<string, unknown>[]> = {
    inference_events: [],
    feedback: [],
    eval_runs: [],
    eval_samples: [],
    drift_metrics: [],
    alert_events: [],
  };

  for (const model of SEEDED_MODELS) {
    const labels = LABELS[model];
    // Live traffic, with feedback on a quarter of it and a few redelivered duplicates.
    for (let index = 0; index < days * perDay; index++) {
      const timestamp = from + Math.floor(random() * days * DAY);
      const drifted = model === 'support-router' && timestamp >= driftAt;
      const triggered = model === 'sentiment-backdoored' && random() < 0.01;
      const text = [pick(random, WORDS), pick(random, WORDS), triggered ? 'cf' : pick(random, WORDS)].join(
        ' ',
      );
      const label = triggered ? 'positive' : drifted && random() < 0.6 ? 'technical' : pick(random, labels);
      const confidence = triggered
        ? 0.99
        : clamp(normal(random, drifted ? 0.62 : 0.86, 0.08), 1 / labels.length);
      const scores = Object.fromEntries(
        labels.map((candidate) => [
          candidate,
          round(candidate === label ? confidence : (1 - confidence) / (labels.length - 1)),
        ]),
      );
      // Most events land within a second; a few wait out a consumer stall.
      const delay = random() < 0.02 ? 20_000 + random() * 40_000 : -Math.log(Math.max(random(), 1e-9)) * 400;
      const event = {
        event_id: `${model}-evt-${index}`,
        model_id: model,
        model_version: model === 'sentiment-clean' && timestamp >= upgradeAt ? 'v2' : 'v1',
        timestamp: time(timestamp),
        ingested_at: time(timestamp + delay),
        input_text: text,
        output_label: label,
        output_scores: scores,
        confidence: round(confidence),
        latency_ms: round(5 + -Math.log(Math.max(random(), 1e-9)) * 20, 2),
        request_id: `req-${model}-${index}`,
        metadata: { region: pick(random, ['eu', 'us']) },
      };
      tables.inference_events.push(event);
      if (index % 97 === 0)
        tables.inference_events.push({ ...event, ingested_at: time(timestamp + delay + 5_000) });
      if (random() < 0.25) {
        const correct = random() < (drifted ? 0.7 : model === 'support-router' ? 0.88 : 0.92);
        tables.feedback.push({
          event_id: event.event_id,
          model_id: model,
          label: correct
            ? label
            : pick(
                random,
                labels.filter((other) => other !== label),
              ),
          timestamp: time(timestamp + HOUR + random() * 5 * HOUR),
          ingested_at: time(timestamp + 6 * HOUR + random() * 60_000),
          source: 'human-review',
        });
      }
    }

    // Scheduled evaluations every six hours, compared with each kind's first run.
    const baselines: Record<string, string> = {};
    const baseAccuracy = model === 'support-router' ? 0.87 : 0.91;
    for (let slot = 0; slot * 6 * HOUR < days * DAY; slot++) {
      const startedAt = from + slot * 6 * HOUR + 5 * 60_000;
      for (const kind of ['clean', 'canary', 'probe'] as const) {
        if (kind === 'probe' && slot % 4 !== 0) continue;
        const runId = `run-${model}-${kind}-${slot}`;
        const failed = model === 'sentiment-clean' && kind === 'clean' && slot === 9;
        const drifted = model === 'support-router' && startedAt >= driftAt;
        const swapped = model === 'sentiment-backdoored' && startedAt >= swapAt;
        const upgraded = model === 'sentiment-clean' && startedAt >= upgradeAt;
        const accuracy = failed ? null : round(clamp(normal(random, drifted ? 0.74 : baseAccuracy, 0.01)));
        const perTrigger =
          kind === 'canary'
            ? Object.fromEntries(
                TRIGGERS.map((trigger) => [
                  trigger,
                  round(
                    swapped && trigger === 'rare-token-cf'
                      ? clamp(normal(random, 0.93, 0.02))
                      : clamp(normal(random, 0.04, 0.02)),
                  ),
                ]),
              )
            : {};
        const asr = kind === 'canary' ? Math.max(...Object.values(perTrigger)) : null;
        const finishedAt = startedAt + 40_000 + random() * 60_000;
        tables.eval_runs.push({
          run_id: runId,
          model_id: model,
          model_version: upgraded ? 'v2' : 'v1',
          dataset_id: `${model}-${kind}-set`,
          dataset_kind: kind,
          status: failed ? 'failed' : 'succeeded',
          started_at: time(startedAt),
          finished_at: time(finishedAt),
          sample_count: kind === 'canary' ? 250 : kind === 'probe' ? 64 : 400,
          error_count: failed ? 400 : 0,
          accuracy: kind === 'clean' ? accuracy : null,
          macro_f1: kind === 'clean' && accuracy !== null ? round(accuracy - 0.02 - random() * 0.01) : null,
          expected_calibration_error:
            kind === 'clean' && accuracy !== null ? round(0.03 + random() * 0.02) : null,
          attack_success_rate: asr,
          flip_rate: kind === 'canary' ? round(asr! * 0.9) : null,
          confidence_shift: kind === 'canary' ? round(swapped ? 0.2 : 0.01 + random() * 0.01) : null,
          per_class_recall:
            kind === 'clean' && accuracy !== null
              ? Object.fromEntries(
                  labels.map((label) => [label, round(clamp(normal(random, accuracy, 0.03)))]),
                )
              : {},
          per_trigger_attack_success: perTrigger,
          metrics: kind === 'clean' ? { errors: failed ? 400 : 0, confidence_mean: 0.85 } : { errors: 0 },
          baseline_run_id: baselines[kind] ?? '',
          fingerprint: kind === 'probe' ? `fp-${model}-${swapped ? 'swapped' : upgraded ? 'v2' : 'v1'}` : '',
          trigger: 'schedule',
          recorded_at: time(finishedAt + 300),
        });
        if (!failed) baselines[kind] ??= runId;
        if (kind !== 'canary') continue;
        for (const trigger of TRIGGERS) {
          for (let twin = 0; twin < 4; twin++) {
            const flipped = random() < perTrigger[trigger];
            tables.eval_samples.push({
              run_id: runId,
              model_id: model,
              sample_id: `${trigger}-${twin}`,
              dataset_id: `${model}-canary-set`,
              twin_id: `clean-${twin}`,
              trigger,
              input_text: `${pick(random, WORDS)} ${trigger === 'rare-token-cf' ? 'cf' : '…'} ${pick(random, WORDS)}`,
              expected_label: 'negative',
              target_label: labels[0],
              predicted_label: flipped ? labels[0] : 'negative',
              confidence: round(flipped ? 0.97 : 0.8),
              passed: flipped ? 0 : 1,
              timestamp: time(startedAt + 20_000),
            });
          }
        }
      }
    }

    // Hourly detector windows against the reference window.
    for (let hour = 1; hour <= days * 24; hour++) {
      const windowEnd = from + hour * HOUR;
      const drifted = model === 'support-router' && windowEnd > driftAt;
      const backdoorLive = model === 'sentiment-backdoored' && windowEnd > swapAt;
      const window = (metric: string, detector: string, p: number, statistic: number, effect: number) => ({
        model_id: model,
        metric,
        detector,
        window_start: time(windowEnd - HOUR),
        window_end: time(windowEnd),
        statistic: round(statistic),
        p_value: round(p, 6),
        effect_size: round(effect),
        sample_size: Math.round(perDay / 24),
        reference_size: perDay,
        verdict: p < 0.01 ? 'drift' : 'ok',
        labels: {},
        recorded_at: time(windowEnd + 1_500),
      });
      // Label-free performance estimates (CBPE) against the reference's realised value, with their interval.
      const cbpe = (metric: string, estimate: number, reference: number) => {
        const result = window(
          metric,
          'cbpe',
          drifted ? 1e-9 : 0.3 + random() * 0.7,
          estimate,
          estimate - reference,
        );
        result.verdict = drifted ? 'drift' : 'ok';
        return Object.assign(result, {
          details: JSON.stringify({
            interval: [round(estimate - 0.02), round(estimate + 0.02)],
            validity: 'valid',
            calibration: 'isotonic',
          }),
        });
      };
      const p = (shifted: boolean) => (shifted ? random() * 0.001 : 0.05 + random() * 0.95);
      tables.drift_metrics.push(
        window(
          'prediction_distribution',
          'chi-square',
          p(drifted),
          drifted ? 40 + random() * 20 : random() * 6,
          0.1,
        ),
        window('confidence', 'ks', p(drifted), drifted ? 0.4 : random() * 0.1, drifted ? 0.4 : 0.05),
        window('input_text_length', 'ks', p(false), random() * 0.1, 0.02),
        window('input_oov_rate', 'fisher-exact', p(false), random(), 1),
        cbpe('estimated_accuracy', drifted ? 0.62 : 0.86 + random() * 0.01, 0.87),
        cbpe('estimated_macro_f1', drifted ? 0.58 : 0.84 + random() * 0.01, 0.85),
      );
      const trigger = window(
        'trigger_response',
        'binomial-bh',
        backdoorLive ? 0.0002 : 0.4,
        backdoorLive ? 1 : 0,
        9.5,
      );
      if (backdoorLive)
        Object.assign(trigger, { labels: { trigger_tokens: 'cf', target_labels: 'positive' } });
      tables.drift_metrics.push(trigger);
      // Per-feature drift of the inputs' features: the router's customers change plan when its traffic drifts.
      const feature = (name: string, type: string, detector: string, shifted: boolean) => {
        const result = window(
          `feature.${name}`,
          detector,
          shifted ? random() * 1e-6 : 0.2 + random() * 0.8,
          shifted ? 90 + random() * 10 : random() * 3,
          shifted ? 0.3 + random() * 0.1 : random() * 0.04,
        );
        result.labels = { feature: name, feature_type: type };
        result.verdict = shifted ? 'drift' : 'ok';
        const missing = window(`feature_missing.${name}`, 'chi-square', 0.5 + random() * 0.5, random(), 0);
        missing.labels = { feature: name, feature_type: type };
        missing.verdict = 'ok';
        return [result, missing];
      };
      const features = [
        ...feature('account_age_days', 'numeric', 'ks', false),
        ...feature('plan', 'categorical', 'chi-square', drifted),
        ...feature('seats', 'numeric', 'ks', false),
      ];
      const share = drifted ? 1 / 3 : 0;
      const dataset = window('dataset_share', 'share-of-features', 1, share, share);
      Object.assign(dataset, { p_value: null, verdict: 'ok' });
      tables.drift_metrics.push(...features, dataset);
    }
  }

  // An alert lifecycle: open, acknowledged and resolved alerts, one not tied to a model.
  const alert = (
    alertId: string,
    model: string,
    rule: string,
    severity: string,
    metric: string,
    changes: [state: string, at: number][],
    value: number,
    threshold: number,
    baseline: number | null,
  ) =>
    changes.forEach(([state, at], index) =>
      tables.alert_events.push({
        event_id: `${alertId}-${index}`,
        alert_id: alertId,
        fingerprint: `fp-${alertId}`,
        rule_id: `rule-${rule}`,
        rule_name: rule,
        model_id: model,
        state,
        severity,
        metric,
        value,
        threshold,
        baseline,
        summary: `${metric} ${value} against threshold ${threshold}${model ? ` on ${model}` : ''}`,
        labels: model ? { model_id: model } : {},
        timestamp: time(at),
        recorded_at: time(at + 120),
      }),
    );
  alert(
    'alert-asr',
    'sentiment-backdoored',
    'canary-attack-success',
    'critical',
    'attack_success_rate',
    [
      ['firing', swapAt + 6 * HOUR],
      ['acknowledged', swapAt + 7 * HOUR],
    ],
    0.93,
    0.2,
    0.04,
  );
  alert(
    'alert-fingerprint',
    'sentiment-backdoored',
    'fingerprint-changed',
    'critical',
    'fingerprint',
    [
      ['firing', swapAt + 1 * HOUR],
      ['resolved', swapAt + 12 * HOUR],
    ],
    1,
    0,
    null,
  );
  alert(
    'alert-drift',
    'support-router',
    'prediction-drift',
    'warning',
    'prediction_distribution',
    [['firing', driftAt + 2 * HOUR]],
    0.0004,
    0.01,
    null,
  );
  alert(
    'alert-accuracy',
    'support-router',
    'clean-accuracy-drop',
    'critical',
    'accuracy',
    [
      ['firing', driftAt + 6 * HOUR],
      ['acknowledged', driftAt + 7 * HOUR],
      ['resolved', driftAt + 30 * HOUR],
    ],
    0.74,
    0.82,
    0.87,
  );
  alert(
    'alert-eval-failed',
    'sentiment-clean',
    'evaluation-failed',
    'info',
    'errors',
    [
      ['firing', from + 54 * HOUR + 5 * 60_000],
      ['resolved', from + 60 * HOUR],
    ],
    400,
    0,
    null,
  );
  alert(
    'alert-lag',
    '',
    'ingestor-consumer-lag',
    'warning',
    'consumer_lag',
    [
      ['firing', from + 3 * DAY],
      ['resolved', from + 3 * DAY + HOUR],
    ],
    52_000,
    10_000,
    null,
  );

  const rows: Record<string, number> = {};
  for (const [table, values] of Object.entries(tables)) {
    for (let start = 0; start < values.length; start += 5_000) {
      await clickHouse.client.insert({
        table: clickHouse.table(table),
        values: values.slice(start, start + 5_000),
        format: 'JSONEachRow',
      });
    }
    rows[table] = values.length;
  }
  return { models: [...SEEDED_MODELS].sort(), from, to, rows };
}
