import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  acknowledge,
  alertFingerprint,
  LifecycleError,
  observe,
  resolveByHand,
  retire,
  tick,
  type AlertState,
  type Silence,
  type Transition,
} from '@tripline/alert-rules';
import { idSequence, observation, rule, T0 } from './fixtures';

const context = (now = T0, silences: Silence[] = []) => ({ now, silences, newId: idSequence() });

function fired(transition: Transition | undefined): AlertState {
  assert.ok(transition, 'expected a transition');
  assert.equal(transition.change, 'firing');
  return transition.alert;
}

describe('alert engine: firing, dedup and auto-resolve', () => {
  it('a breach under a rule without `for` fires at once, is published and notified', () => {
    const step = observe(rule(), observation(0.9), undefined, context());
    assert.equal(step?.change, 'firing');
    assert.equal(step?.publish, 'firing');
    assert.equal(step?.notify, 'firing');
    const alert = step!.alert;
    assert.equal(alert.state, 'firing');
    assert.equal(alert.value, 0.9);
    assert.equal(alert.threshold, 0.5);
    assert.equal(alert.firedAt, T0);
    assert.equal(alert.lastNotifiedAt, T0);
    assert.equal(alert.condition, 'attack_success_rate > 0.5');
    assert.equal(alert.fingerprint, alertFingerprint('rule-asr', observation(0.9).labels));
    assert.deepEqual(alert.labels, {
      team: 'ml-platform',
      model_id: 'backdoored',
      dataset_id: 'canary-1',
      dataset_kind: 'canary',
    });
  });

  it('a value within bounds raises nothing, and neither does a value that cannot be judged', () => {
    assert.equal(observe(rule(), observation(0.5), undefined, context()), undefined);
    assert.equal(observe(rule(), observation(null), undefined, context()), undefined);
    assert.equal(observe(rule(), observation(Number.NaN), undefined, context()), undefined);
  });

  it('the same breach observed twice is one alert: the second observation only updates it', () => {
    const alert = fired(observe(rule(), observation(0.9), undefined, context()));
    const again = observe(rule(), observation(0.92, T0 + 1_000), alert, context(T0 + 1_000));
    assert.equal(again?.change, 'updated');
    assert.equal(again?.publish, undefined);
    assert.equal(again?.notify, undefined);
    assert.equal(again?.alert.id, alert.id);
    assert.equal(again?.alert.value, 0.92);
    // A redelivery of the very same message is just as quiet.
    const redelivered = observe(rule(), observation(0.9), alert, context());
    assert.equal(redelivered?.change, 'updated');
    assert.equal(redelivered?.notify, undefined);
  });

  it('an observation older than the one the alert last saw is ignored', () => {
    const alert = fired(observe(rule(), observation(0.9, T0 + 5_000), undefined, context()));
    assert.equal(observe(rule(), observation(0.1, T0), alert, context(T0 + 6_000)), undefined);
  });

  it('a later observation back within bounds resolves the alert and tells whoever was told it fired', () => {
    const alert = fired(observe(rule(), observation(0.9), undefined, context()));
    const step = observe(rule(), observation(0.1, T0 + 60_000), alert, context(T0 + 60_000));
    assert.equal(step?.change, 'resolved');
    assert.equal(step?.publish, 'resolved');
    assert.equal(step?.notify, 'resolved');
    assert.equal(step?.alert.state, 'resolved');
    assert.equal(step?.alert.resolution, 'condition-cleared');
    assert.equal(step?.alert.resolvedBy, null);
    assert.equal(step?.alert.value, 0.1, 'the resolving value is kept for the all-clear');
  });

  it('rules only judge what they select: metric, model, labels, enabled, and measured after the rule existed', () => {
    const at = (overrides: Parameters<typeof rule>[0]) =>
      observe(rule(overrides), observation(0.9), undefined, context());
    assert.equal(at({ metric: 'flip_rate' }), undefined);
    assert.equal(at({ selector: { modelId: 'other' } }), undefined);
    assert.equal(at({ selector: { labels: { dataset_kind: 'clean' } } }), undefined);
    assert.equal(at({ enabled: false }), undefined);
    assert.equal(at({ createdAt: T0 + 1 }), undefined);
    assert.equal(
      at({ selector: { modelId: 'backdoored', labels: { dataset_id: 'canary-1' } } })?.change,
      'firing',
    );
  });

  it('operators compare as written: >=, < and <= included', () => {
    const judged = (op: '>' | '>=' | '<' | '<=', value: number) =>
      observe(
        rule({ condition: { type: 'threshold', op, value: 0.5 } }),
        observation(value),
        undefined,
        context(),
      )?.change === 'firing';
    assert.deepEqual(
      [judged('>', 0.5), judged('>=', 0.5), judged('<', 0.5), judged('<', 0.49), judged('<=', 0.5)],
      [false, true, false, true, true],
    );
  });

  it('a statistical rule fires on p-value < alpha and records the p-value against alpha', () => {
    const drift = rule({
      metric: 'drift.prediction.chi_square',
      condition: { type: 'statistical', alpha: 0.01 },
    });
    const window = (pValue: number | null) =>
      observation(12.5, T0, { metric: 'drift.prediction.chi_square', pValue });
    assert.equal(observe(drift, window(0.2), undefined, context()), undefined);
    assert.equal(observe(drift, window(null), undefined, context()), undefined, 'no p-value, no verdict');
    const alert = fired(observe(drift, window(0.001), undefined, context()));
    assert.equal(alert.value, 0.001);
    assert.equal(alert.threshold, 0.01);
    assert.equal(alert.statistic, 12.5);
    assert.equal(alert.condition, 'p-value of drift.prediction.chi_square < 0.01');
  });
});

describe('alert engine: the `for` duration', () => {
  const slow = rule({ forSeconds: 300 });

  it('a breach is pending, not notified, until it has held for `for`', () => {
    const first = observe(slow, observation(0.9), undefined, context());
    assert.equal(first?.change, 'pending');
    assert.equal(first?.publish, undefined);
    assert.equal(first?.notify, undefined);
    const pending = first!.alert;
    assert.equal(pending.state, 'pending');
    const early = observe(slow, observation(0.9, T0 + 200_000), pending, context(T0 + 200_000));
    assert.equal(early?.change, 'updated');
    const late = observe(slow, observation(0.95, T0 + 300_000), early!.alert, context(T0 + 300_000));
    assert.equal(late?.change, 'firing');
    assert.equal(late?.alert.id, pending.id);
    assert.equal(late?.alert.activeSince, T0);
  });

  it('the periodic check fires a pending alert once `for` has passed without a contrary observation', () => {
    const pending = observe(slow, observation(0.9), undefined, context())!.alert;
    assert.equal(tick(slow, pending, T0 + 299_999, []), undefined);
    const step = tick(slow, pending, T0 + 300_000, []);
    assert.equal(step?.change, 'firing');
    assert.equal(step?.notify, 'firing');
  });

  it('a pending alert whose condition clears is dropped without a word', () => {
    const pending = observe(slow, observation(0.9), undefined, context())!.alert;
    const step = observe(slow, observation(0.2, T0 + 10_000), pending, context(T0 + 10_000));
    assert.equal(step?.change, 'pending-cleared');
    assert.equal(step?.publish, undefined);
    assert.equal(step?.notify, undefined);
  });
});

describe('alert lifecycle: firing -> acknowledged -> resolved', () => {
  const firing = () => fired(observe(rule(), observation(0.9), undefined, context()));

  it('acknowledging records who and when, is published and notified, and is idempotent', () => {
    const step = acknowledge(firing(), T0 + 1_000, 'alice');
    assert.equal(step?.change, 'acknowledged');
    assert.equal(step?.publish, 'acknowledged');
    assert.equal(step?.notify, 'acknowledged');
    assert.equal(step?.alert.acknowledgedBy, 'alice');
    assert.equal(step?.alert.acknowledgedAt, T0 + 1_000);
    assert.equal(acknowledge(step!.alert, T0 + 2_000, 'bob'), undefined);
  });

  it('an acknowledged alert still auto-resolves when the condition clears', () => {
    const acknowledged = acknowledge(firing(), T0 + 1_000, 'alice')!.alert;
    const step = observe(rule(), observation(0.1, T0 + 5_000), acknowledged, context(T0 + 5_000));
    assert.equal(step?.change, 'resolved');
    assert.equal(step?.notify, 'resolved');
  });

  it('an acknowledged alert is not repeated', () => {
    const repeating = rule({ repeatIntervalSeconds: 60 });
    const acknowledged = acknowledge(firing(), T0 + 1_000, 'alice')!.alert;
    assert.equal(tick(repeating, acknowledged, T0 + 3_600_000, []), undefined);
  });

  it('resolving by hand records the person; pending and resolved alerts cannot be acknowledged', () => {
    const step = resolveByHand(firing(), T0 + 1_000, 'bob');
    assert.equal(step?.alert.state, 'resolved');
    assert.equal(step?.alert.resolution, 'manual');
    assert.equal(step?.alert.resolvedBy, 'bob');
    assert.equal(resolveByHand(step!.alert, T0 + 2_000, 'bob'), undefined);
    assert.throws(() => acknowledge(step!.alert, T0 + 2_000, 'bob'), LifecycleError);
    const pending = observe(rule({ forSeconds: 60 }), observation(0.9), undefined, context())!.alert;
    assert.throws(() => acknowledge(pending, T0, 'bob'), /pending; only a firing alert/);
    assert.throws(() => resolveByHand(pending, T0, 'bob'), /pending \(not firing yet\)/);
  });

  it('retiring a rule resolves its firing alerts and drops its pending ones', () => {
    assert.equal(retire(firing(), T0 + 1, 'rule-deleted').alert.resolution, 'rule-deleted');
    const pending = observe(rule({ forSeconds: 60 }), observation(0.9), undefined, context())!.alert;
    assert.equal(retire(pending, T0 + 1, 'rule-disabled').change, 'pending-cleared');
  });
});

describe('silences and repeats', () => {
  const silence = (overrides: Partial<Silence> = {}): Silence => ({
    id: 'silence-1',
    matchers: [{ name: 'model_id', op: '=', value: 'backdoored' }],
    startsAt: T0 - 1_000,
    endsAt: T0 + 600_000,
    ...overrides,
  });

  it('an alert that fires under a silence is published as silenced and nobody is notified', () => {
    const step = observe(rule(), observation(0.9), undefined, context(T0, [silence()]));
    assert.equal(step?.change, 'firing');
    assert.equal(step?.publish, 'silenced');
    assert.equal(step?.notify, undefined);
    assert.equal(step?.alert.silencedBy, 'silence-1');
    assert.equal(step?.alert.lastNotifiedAt, null);
    // ...and since nobody heard of it, nobody hears that it resolved.
    const resolved = observe(rule(), observation(0.1, T0 + 1_000), step!.alert, context(T0 + 1_000));
    assert.equal(resolved?.publish, 'resolved');
    assert.equal(resolved?.notify, undefined);
  });

  it('when the silence ends on a still-firing alert, it is published as firing and notified then', () => {
    const alert = observe(rule(), observation(0.9), undefined, context(T0, [silence()]))!.alert;
    assert.equal(tick(rule(), alert, T0 + 1_000, [silence()]), undefined);
    const step = tick(rule(), alert, T0 + 600_000, [silence()]);
    assert.equal(step?.change, 'unsilenced');
    assert.equal(step?.publish, 'firing');
    assert.equal(step?.notify, 'firing');
    assert.equal(step?.alert.silencedBy, null);
  });

  it('a silence created over an alert already notified is published; the alert still gets its all-clear', () => {
    const alert = fired(observe(rule(), observation(0.9), undefined, context()));
    const step = tick(rule(), alert, T0 + 1_000, [silence()]);
    assert.equal(step?.change, 'silenced');
    assert.equal(step?.publish, 'silenced');
    assert.equal(step?.notify, undefined);
    const resolved = observe(rule(), observation(0.1, T0 + 2_000), step!.alert, context(T0 + 2_000));
    assert.equal(resolved?.notify, 'resolved', 'the page that was opened gets closed');
  });

  it('a silence whose matchers do not match leaves the alert alone', () => {
    const other = silence({ matchers: [{ name: 'model_id', op: '=', value: 'other' }] });
    const step = observe(rule(), observation(0.9), undefined, context(T0, [other]));
    assert.equal(step?.notify, 'firing');
  });

  it('a firing alert nobody acknowledged is notified again after the repeat interval, and only then', () => {
    const repeating = rule({ repeatIntervalSeconds: 3_600 });
    const alert = fired(observe(repeating, observation(0.9), undefined, context()));
    assert.equal(tick(repeating, alert, T0 + 3_599_999, []), undefined);
    const step = tick(repeating, alert, T0 + 3_600_000, []);
    assert.equal(step?.change, 'repeat');
    assert.equal(step?.notify, 'repeat');
    assert.equal(step?.publish, undefined, 'a repeat is not a state change');
    assert.equal(tick(repeating, step!.alert, T0 + 3_600_001, []), undefined);
    assert.equal(tick(rule(), alert, T0 + 100 * 3_600_000, []), undefined, 'interval 0 never repeats');
  });
});
