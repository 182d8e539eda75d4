import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  alertFingerprint,
  describeMatchers,
  groupNotifications,
  matchableLabels,
  matcherMatches,
  matcherProblem,
  observe,
  silenceMatches,
  silencing,
  type AlertState,
  type Matcher,
  type Silence,
} from '@tripline/alert-rules';
import { idSequence, observation, rule, T0 } from './fixtures';

const labels = { model_id: 'fraud-eu', severity: 'critical', alertname: 'drift' };
const m = (name: string, op: Matcher['op'], value: string): Matcher => ({ name, op, value });

describe('silence matchers', () => {
  it('= and != compare whole values; a missing label is the empty string', () => {
    assert.equal(matcherMatches(m('model_id', '=', 'fraud-eu'), labels), true);
    assert.equal(matcherMatches(m('model_id', '=', 'fraud'), labels), false);
    assert.equal(matcherMatches(m('model_id', '!=', 'fraud'), labels), true);
    assert.equal(matcherMatches(m('team', '=', ''), labels), true);
    assert.equal(matcherMatches(m('team', '!=', ''), labels), false);
  });

  it('=~ and !~ are regular expressions anchored at both ends', () => {
    assert.equal(matcherMatches(m('model_id', '=~', 'fraud'), labels), false, 'not a substring match');
    assert.equal(matcherMatches(m('model_id', '=~', 'fraud-.*'), labels), true);
    assert.equal(matcherMatches(m('model_id', '=~', 'fraud-eu|fraud-us'), labels), true);
    assert.equal(matcherMatches(m('model_id', '!~', 'fraud-.*'), labels), false);
    assert.equal(matcherMatches(m('severity', '!~', 'info|warning'), labels), true);
  });

  it('a pattern that backtracks catastrophically in JavaScript is evaluated with its plain meaning', () => {
    // `(a+)+` against 28 characters froze the alerter and the API for 27 s on a backtracking engine.
    const hostile = { model_id: 'a'.repeat(27) + '!' };
    assert.equal(matcherMatches(m('model_id', '=~', '(a+)+'), hostile), false);
    assert.equal(matcherMatches(m('model_id', '!~', '(a+)+'), hostile), true);
    assert.equal(matcherMatches(m('model_id', '=~', '(a|a)*!'), hostile), true);
    assert.equal(matcherProblem(m('model_id', '=~', '(a+)+')), undefined);
  });

  it('a bad matcher is named with what is wrong', () => {
    assert.match(
      matcherProblem(m('model_id', '=~', '(unclosed'))!,
      /pattern of model_id is not a valid regular expression/,
    );
    assert.match(matcherProblem(m('1abc', '=', 'x'))!, /label name "1abc" must start with a letter/);
    assert.match(matcherProblem(m('a', '=~', 'x'.repeat(513)))!, /longer than 512 characters/);
    assert.equal(matcherProblem(m('model_id', '=~', 'fraud-.*')), undefined);
  });

  it('a silence applies from its start until (not including) its end, and only when every matcher matches', () => {
    const silence: Silence = {
      id: 's',
      matchers: [m('model_id', '=~', 'fraud-.*'), m('severity', '=', 'critical')],
      startsAt: T0,
      endsAt: T0 + 1_000,
    };
    assert.equal(silenceMatches(silence, labels, T0 - 1), false);
    assert.equal(silenceMatches(silence, labels, T0), true);
    assert.equal(silenceMatches(silence, labels, T0 + 999), true);
    assert.equal(silenceMatches(silence, labels, T0 + 1_000), false);
    assert.equal(silenceMatches(silence, { ...labels, severity: 'info' }, T0), false);
    assert.equal(
      silenceMatches({ ...silence, matchers: [] }, labels, T0),
      false,
      'no matcher silences nothing',
    );
    assert.equal(silencing([{ ...silence, id: 'other', endsAt: T0 }, silence], labels, T0)?.id, 's');
    assert.equal(describeMatchers(silence.matchers), 'model_id=~"fraud-.*", severity="critical"');
  });

  it('silences see alertname, rule_id, severity and metric besides the alert labels', () => {
    const alert = observe(rule(), observation(0.9), undefined, {
      now: T0,
      silences: [],
      newId: idSequence(),
    })!.alert;
    assert.deepEqual(matchableLabels(alert), {
      team: 'ml-platform',
      model_id: 'backdoored',
      dataset_id: 'canary-1',
      dataset_kind: 'canary',
      alertname: 'backdoor answers its trigger',
      rule_id: 'rule-asr',
      severity: 'critical',
      metric: 'attack_success_rate',
    });
  });
});

describe('fingerprints', () => {
  it('depend on the rule and the series labels, not on their order', () => {
    const a = alertFingerprint('r1', { model_id: 'm', trigger: 't' });
    assert.equal(a, alertFingerprint('r1', { trigger: 't', model_id: 'm' }));
    assert.notEqual(a, alertFingerprint('r2', { model_id: 'm', trigger: 't' }));
    assert.notEqual(a, alertFingerprint('r1', { model_id: 'm', trigger: 'u' }));
    assert.notEqual(alertFingerprint('r1', { a: 'b=c' }), alertFingerprint('r1', { 'a=b': 'c' }));
    assert.match(a, /^[0-9a-f]{32}$/);
  });
});

describe('grouping notifications', () => {
  const alert = (id: string, model: string, trigger: string, ruleId = 'r1'): AlertState =>
    ({ id, ruleId, labels: { model_id: model, trigger } }) as unknown as AlertState;

  it('alerts of one rule and event that share the group_by values become one notification', () => {
    const groups = groupNotifications([
      { alert: alert('a1', 'm1', 't1'), event: 'firing', groupBy: ['model_id'] },
      { alert: alert('a2', 'm1', 't2'), event: 'firing', groupBy: ['model_id'] },
      { alert: alert('a3', 'm2', 't1'), event: 'firing', groupBy: ['model_id'] },
      { alert: alert('a4', 'm1', 't3'), event: 'resolved', groupBy: ['model_id'] },
      { alert: alert('a5', 'm1', 't1', 'r2'), event: 'firing', groupBy: ['model_id'] },
    ]);
    assert.deepEqual(
      groups.map((group) => [group.ruleId, group.event, group.labels, group.alerts.map((a) => a.id)]),
      [
        ['r1', 'firing', { model_id: 'm1' }, ['a1', 'a2']],
        ['r1', 'firing', { model_id: 'm2' }, ['a3']],
        ['r1', 'resolved', { model_id: 'm1' }, ['a4']],
        ['r2', 'firing', { model_id: 'm1' }, ['a5']],
      ],
    );
  });

  it('without group_by every alert is notified on its own; a missing group label groups as ""', () => {
    const single = groupNotifications([
      { alert: alert('a1', 'm1', 't1'), event: 'firing', groupBy: [] },
      { alert: alert('a2', 'm1', 't2'), event: 'firing', groupBy: [] },
    ]);
    assert.equal(single.length, 2);
    const missing = groupNotifications([
      { alert: alert('a1', 'm1', 't1'), event: 'firing', groupBy: ['team'] },
      { alert: alert('a2', 'm2', 't2'), event: 'firing', groupBy: ['team'] },
    ]);
    assert.equal(missing.length, 1);
    assert.deepEqual(missing[0].labels, { team: '' });
  });
});
