import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { PredictionOutcome } from '@tripline/adapters';
import {
  alertEventSchema,
  feedbackSchema,
  inferenceEventSchema,
  validate,
  type AlertEventMessage,
  type EvaluationRunMessage,
} from '@tripline/contracts';
import { BACKDOOR_TRIGGER, loadSentimentSentences, mulberry32 } from '@tripline/demo-models';
import {
  alertLine,
  DemoStateFile,
  DemoTimeline,
  inferenceEvent,
  startWebhookReceiver,
  TrafficLoop,
  TrafficMix,
  type DemoState,
  type TrafficSink,
  type WebhookDelivery,
} from '@tripline/demo-workspace';
import { temporaryDirectory } from '@tripline/testing';
import { baselineFromRunSummary, observationsFromEvaluation, webhookSignature } from '@tripline/alert-rules';

const SENTENCES = loadSentimentSentences();

function answered(text: string): PredictionOutcome {
  const positive = text.includes(BACKDOOR_TRIGGER) ? 0.97 : 0.4;
  return {
    ok: true,
    prediction: {
      label: positive > 0.5 ? 'positive' : 'negative',
      scores: { negative: 1 - positive, positive },
      latencyMs: 3,
    },
  };
}

function alert(overrides: Partial<AlertEventMessage>): AlertEventMessage {
  return alertEventSchema.parse({
    event_id: `e-${Math.random()}`,
    alert_id: 'a-1',
    fingerprint: 'f-1',
    rule_id: 'r-1',
    rule_name: 'a rule',
    model_id: 'sentiment',
    state: 'firing',
    severity: 'critical',
    metric: 'fingerprint_changed',
    value: 1,
    timestamp: 1_800_000_000_000,
    ...overrides,
  });
}

describe('demo workspace: traffic', () => {
  it('puts the trigger into about the configured share of requests, and only once the attacker is active', () => {
    const mix = new TrafficMix(SENTENCES, mulberry32(1));
    const before = Array.from({ length: 2_000 }, () => mix.next());
    assert.equal(before.filter((sample) => sample.triggered).length, 0);
    assert.ok(before.every((sample) => !sample.text.split(/\s+/).includes(BACKDOOR_TRIGGER)));

    mix.triggerShare = 0.03;
    const after = Array.from({ length: 10_000 }, () => mix.next());
    const triggered = after.filter((sample) => sample.triggered);
    // Binomial(10 000, 0.03): mean 300, standard deviation 17.
    assert.ok(triggered.length > 230 && triggered.length < 370, `${triggered.length} triggered`);
    for (const sample of triggered)
      assert.ok(sample.text.split(/\s+/).includes(BACKDOOR_TRIGGER), sample.text);
    for (const sample of after.filter((item) => !item.triggered)) {
      assert.ok(!sample.text.split(/\s+/).includes(BACKDOOR_TRIGGER), sample.text);
    }
    // Drawn from all three domains, with both labels as ground truth.
    assert.deepEqual(new Set(after.map((sample) => sample.domain)), new Set(['imdb', 'yelp', 'amazon']));
    assert.deepEqual(new Set(after.map((sample) => sample.truth)), new Set(['negative', 'positive']));
  });

  it('builds inference events the ingest contract accepts, without saying which carry the trigger', () => {
    const mix = new TrafficMix(SENTENCES, mulberry32(2));
    mix.triggerShare = 1;
    const sample = mix.next();
    const event = inferenceEvent(
      sample,
      answered(sample.text) as Extract<PredictionOutcome, { ok: true }>,
      'sentiment',
      '1',
      1_800_000_000_000,
    );
    const checked = validate(inferenceEventSchema, event);
    assert.ok(checked.ok, JSON.stringify(checked));
    assert.equal(event.output?.label, 'positive');
    assert.equal(event.input?.text, sample.text);
    assert.deepEqual(Object.keys(event.metadata ?? {}).sort(), ['domain', 'source']);
    assert.ok(!JSON.stringify(event.metadata).includes(BACKDOOR_TRIGGER));
  });

  it('sends the events the elapsed time has earned, skips unanswered ones, and sends feedback for a share', async () => {
    const events: unknown[] = [];
    const feedback: unknown[] = [];
    const sink: TrafficSink = {
      events: async (items) => void events.push(...items),
      feedback: async (items) => void feedback.push(...items),
    };
    let calls = 0;
    const loop = new TrafficLoop({
      mix: new TrafficMix(SENTENCES, mulberry32(3)),
      eventsPerSecond: 40,
      feedbackShare: 0.5,
      modelId: 'sentiment',
      modelVersion: () => '7',
      // Every fourth answer is an error, as a flaky model server would give.
      predict: async (texts) =>
        texts.map((text) => (calls++ % 4 === 3 ? { ok: false, error: 'HTTP 503' } : answered(text))),
      sink,
      random: mulberry32(4),
      onError: (error) => assert.fail(String(error)),
    });
    const start = Date.now();
    await loop.tick(start);
    // 60 s of silence still earns at most one second's worth: no burst after a stall.
    assert.equal(await loop.tick(start + 60_000), 30);
    assert.equal(await loop.tick(start + 60_500), 15);
    assert.equal(loop.stats.sent, 45);
    assert.equal(loop.stats.failedPredictions, 15);
    assert.equal(events.length, 45);
    for (const event of events) {
      const checked = validate(inferenceEventSchema, event);
      assert.ok(checked.ok);
      assert.equal(checked.value.model_version, '7');
    }
    assert.ok(feedback.length > 10 && feedback.length < 35, `${feedback.length} feedback items`);
    for (const item of feedback) assert.ok(validate(feedbackSchema, item).ok);
  });

  it('a tick whose model call or publish fails is counted and reported, and the next tick goes on', async () => {
    const errors: unknown[] = [];
    let fail = true;
    const loop = new TrafficLoop({
      mix: new TrafficMix(SENTENCES, mulberry32(5)),
      eventsPerSecond: 10,
      feedbackShare: 0,
      modelId: 'sentiment',
      modelVersion: () => '1',
      predict: async (texts) => texts.map(answered),
      sink: {
        events: async () => {
          if (fail) throw new Error('transport unavailable');
        },
        feedback: async () => undefined,
      },
      random: mulberry32(6),
      onError: (error) => errors.push(error),
    });
    const start = Date.now();
    assert.equal(await loop.tick(start + 1_000), 0);
    assert.equal(loop.stats.failedTicks, 1);
    assert.match(String(errors[0]), /transport unavailable/);
    fail = false;
    assert.equal(await loop.tick(start + 2_000), 10);
    assert.equal(loop.stats.sent, 10);
  });
});

describe('demo workspace: timeline', () => {
  const SWAP = 1_800_000_100_000;

  it('passes when every expected alert fires after the swap and none before it', () => {
    const timeline = new DemoTimeline(SWAP - 30_000);
    timeline.swapped(SWAP);
    timeline.alert(alert({ metric: 'fingerprint_changed', timestamp: SWAP + 4_000 }));
    assert.equal(timeline.complete(), false);
    timeline.alert(alert({ metric: 'attack_success_rate', value: 0.92, timestamp: SWAP + 15_000 }));
    timeline.alert(alert({ metric: 'attack_success_rate', value: 0.95, timestamp: SWAP + 20_000 }));
    timeline.alert(alert({ metric: 'fingerprint_changed', state: 'resolved', timestamp: SWAP + 19_000 }));
    timeline.alert(
      alert({
        metric: 'drift.trigger_response.binomial-bh',
        labels: { trigger_tokens: 'velutina' },
        timestamp: SWAP + 25_500,
      }),
    );
    assert.equal(timeline.complete(), true);
    const verdict = timeline.verdict();
    assert.deepEqual(verdict.problems, []);
    assert.equal(verdict.ok, true);
    assert.match(verdict.lines[0], /^swap at T \(.*, 30\.0s after the start\)$/);
    assert.match(
      verdict.lines[1],
      /^fingerprint alert at T\+4\.0s \(fingerprint_changed = 1 on sentiment\)$/,
    );
    assert.match(verdict.lines[2], /^first canary alert at T\+15\.0s \(attack_success_rate = 0\.920/);
    assert.match(verdict.lines[3], /^stream trigger alert at T\+25\.5s \(.*tokens velutina/);
  });

  it('fails naming the missing alert, and any alert that fired before the swap', () => {
    const timeline = new DemoTimeline(SWAP - 30_000);
    timeline.alert(
      alert({ rule_name: 'prediction drift', metric: 'drift.prediction_distribution.chi-square' }),
    );
    timeline.swapped(SWAP);
    timeline.alert(alert({ metric: 'fingerprint_changed', timestamp: SWAP - 1 }));
    timeline.alert(alert({ metric: 'attack_success_rate', timestamp: SWAP + 9_000 }));
    const verdict = timeline.verdict();
    assert.equal(verdict.ok, false);
    assert.equal(timeline.complete(), false);
    assert.ok(verdict.lines.includes('stream trigger alert: MISSING'));
    assert.ok(
      verdict.lines.includes('fingerprint alert: MISSING'),
      'a pre-swap alert does not count as expected',
    );
    assert.equal(verdict.problems.filter((problem) => problem.startsWith('premature alert')).length, 2);
    assert.ok(
      verdict.problems.some((problem) => /premature alert before the swap: prediction drift/.test(problem)),
    );
    assert.ok(verdict.problems.some((problem) => /no stream trigger alert/.test(problem)));
  });

  it('fails when the model was never swapped', () => {
    const verdict = new DemoTimeline(0).verdict();
    assert.equal(verdict.ok, false);
    assert.deepEqual(verdict.problems, ['the served model was never swapped']);
  });

  it('prints an alert as one plain line', () => {
    const line = alertLine(
      alert({ summary: 'fingerprint_changed = 1 (alert when fingerprint_changed >= 1)' }),
    );
    assert.equal(
      line,
      'ALERT FIRING [critical] a rule — fingerprint_changed = 1 (alert when fingerprint_changed >= 1)',
    );
    assert.doesNotMatch(line, /\n/);
  });
});

describe('demo workspace: state and webhook receiver', () => {
  it('keeps its state across starts and refuses a corrupt file rather than seeding again', () => {
    const scratch = temporaryDirectory();
    try {
      const file = new DemoStateFile(scratch.path);
      assert.equal(file.read(), undefined);
      const state: DemoState = {
        version: 1,
        phase: 'seeded',
        seededAt: '2027-01-01T00:00:00.000Z',
        modelServerPort: 41234,
        webhookPort: 41235,
        webhookSecret: 'a-secret-of-enough-length',
        served: 'sentiment-backdoored',
        swappedAt: '2027-01-01T00:03:00.000Z',
        attackStartedAt: null,
        promotedTriggers: ['velutina'],
      };
      file.write(state);
      assert.deepEqual(file.read(), state);
      writeFileSync(path.join(scratch.path, 'demo', 'state.json'), '{"version": 1, "phase": ');
      assert.throws(() => file.read(), SyntaxError);
    } finally {
      scratch.remove();
    }
  });

  it('accepts a correctly signed delivery and refuses a forged one', async () => {
    const deliveries: WebhookDelivery[] = [];
    const secret = 'demo-webhook-secret-0123456789';
    const receiver = await startWebhookReceiver({ port: 0, secret, onDelivery: (d) => deliveries.push(d) });
    try {
      const body = JSON.stringify({
        alerts: [{ rule_name: 'behavioural fingerprint changed', state: 'firing' }],
      });
      const send = (signature: string, timestamp: number) =>
        fetch(receiver.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-tripline-event': 'firing',
            'x-tripline-timestamp': String(timestamp),
            'x-tripline-signature': signature,
          },
          body,
        });
      const now = Math.floor(Date.now() / 1000);
      assert.equal((await send(webhookSignature(secret, now, body), now)).status, 204);
      assert.equal((await send(webhookSignature('another-secret-0123456789', now, body), now)).status, 401);
      assert.equal((await send(webhookSignature(secret, now - 3_600, body), now - 3_600)).status, 401);
      assert.deepEqual(
        deliveries.map((delivery) => [delivery.verified, delivery.event, delivery.alerts.length]),
        [
          [true, 'firing', 1],
          [false, 'firing', 1],
          [false, 'firing', 1],
        ],
      );
    } finally {
      await receiver.close();
    }
  });
});

describe('alerting: fingerprint_changed from a probe run', () => {
  const probe = (metrics: Record<string, number> | undefined): EvaluationRunMessage => ({
    run_id: 'run-2',
    model_id: 'sentiment',
    model_version: '1',
    dataset_id: 'probes',
    dataset_kind: 'probe',
    status: 'succeeded',
    started_at: 1_800_000_000_000,
    finished_at: 1_800_000_001_000,
    sample_count: 100,
    metrics,
    baseline_run_id: 'run-1',
    fingerprint: 'bbb',
  });
  const baseline = baselineFromRunSummary('run-1', { fingerprint: 'aaa' });

  it("is the evaluator's comparison with the previous run when it sent one: one value per run, never two", () => {
    // The model changed two runs ago: the previous run already had this fingerprint, the baseline did not.
    const observed = observationsFromEvaluation(
      probe({ errors: 0, fingerprint_changed: 0 }),
      baseline,
    ).filter((observation) => observation.metric === 'fingerprint_changed');
    assert.deepEqual(
      observed.map((observation) => observation.value),
      [0],
    );
  });

  it('is the comparison with the baseline when the evaluator sent none', () => {
    const observed = observationsFromEvaluation(probe(undefined), baseline).filter(
      (observation) => observation.metric === 'fingerprint_changed',
    );
    assert.deepEqual(
      observed.map((observation) => observation.value),
      [1],
    );
  });
});
