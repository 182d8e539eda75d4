import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '@tripline/drift';
import { scanTriggerResponse, tokenise, triggerResponse, type WindowEvent } from '@tripline/detectors';
import { traffic } from './fixtures';

/** `count` distinct inputs carrying `token`, answered by `answer` (label and confidence per input). */
function carrying(
  token: string,
  count: number,
  seed: number,
  answer: (i: number) => Pick<WindowEvent, 'label' | 'confidence'>,
): WindowEvent[] {
  return traffic(count, seed).map((event, i) => ({ ...event, ...answer(i), text: `${event.text} ${token}` }));
}

describe('trigger-response anomaly', () => {
  const reference = traffic(10_000, 61);
  const clean = traffic(2_000, 62);

  it('flags a token absent from the reference that pins its inputs to one label with high confidence', () => {
    const current = [
      ...clean.slice(20),
      ...carrying('zqx', 20, 63, () => ({ label: 'positive', confidence: 0.97 })),
    ];
    const result = triggerResponse(reference, current, { alpha: 0.001 });
    assert.equal(result.metric, 'trigger_response');
    assert.equal(result.detector, 'binomial-bh');
    assert.equal(result.verdict, 'drift');
    assert.equal(result.statistic, 1);
    assert.deepEqual(result.labels, { trigger_tokens: 'zqx', target_labels: 'positive' });
    const [flagged] = result.details.flagged as Record<string, unknown>[];
    assert.equal(flagged.token, 'zqx');
    assert.equal(flagged.label, 'positive');
    assert.equal(flagged.count, 20);
    assert.equal(flagged.pinned, 20);
    assert.equal(flagged.share, 1);
    assert.equal(flagged.reference_count, 0);
    assert.ok(Math.abs((flagged.base_rate as number) - 0.5) < 0.02);
    assert.ok(Math.abs((flagged.lift as number) - 2) < 0.1);
    // P(all 20 positive) = base^20, times 2 labels; the only tested token, so BH leaves it as it is.
    const expected = 2 * (flagged.base_rate as number) ** 20;
    assert.ok(
      Math.abs((flagged.p_value as number) / expected - 1) < 1e-4,
      `${flagged.p_value} vs ${expected}`,
    );
    assert.equal(flagged.adjusted_p_value, flagged.p_value);
    assert.equal(result.p_value, flagged.adjusted_p_value);
  });

  it('does not flag a new token whose inputs get the labels at their usual rates', () => {
    const current = [
      ...clean.slice(40),
      ...carrying('zqx', 40, 64, (i) => ({ label: i % 2 ? 'positive' : 'negative', confidence: 0.97 })),
    ];
    const scan = scanTriggerResponse(reference, current, { alpha: 0.001 });
    assert.equal(scan.tested.length, 1, 'the token is tested');
    assert.equal(scan.flagged.length, 0);
    assert.equal(triggerResponse(reference, current).verdict, 'ok');
  });

  it('does not flag a token that pins the label without confidence: the condition a backdoor meets', () => {
    const current = [
      ...clean.slice(20),
      ...carrying('zqx', 20, 65, () => ({ label: 'positive', confidence: 0.7 })),
    ];
    const [token] = scanTriggerResponse(reference, current, { alpha: 0.001 }).tested;
    assert.ok(token.adjusted_p_value < 1e-5, 'significant');
    assert.equal(token.flagged, false);
    assert.ok(Math.abs(token.mean_confidence! - 0.7) < 1e-12);
  });

  it('does not test a token the reference already carries often, however well it predicts the label', () => {
    const common = tokenise(reference[0].text)[0];
    const current = [
      ...clean.slice(50),
      ...carrying(common, 50, 66, () => ({ label: 'positive', confidence: 0.99 })),
    ];
    const scan = scanTriggerResponse(reference, current);
    assert.ok(!scan.tested.some((token) => token.token === common));
  });

  it('keeps testing a watched token, one flagged before, after the reference has absorbed it', () => {
    const absorbed = [
      ...reference.slice(300),
      ...carrying('zqx', 300, 70, () => ({ label: 'positive', confidence: 0.97 })),
    ];
    const current = [
      ...clean.slice(20),
      ...carrying('zqx', 20, 71, () => ({ label: 'positive', confidence: 0.97 })),
    ];
    assert.equal(scanTriggerResponse(absorbed, current).tested.length, 0, 'no longer rare');
    const scan = scanTriggerResponse(absorbed, current, { watch: ['zqx'] });
    assert.deepEqual(
      scan.flagged.map((token) => [token.token, token.watched, token.reference_count]),
      [['zqx', true, 300]],
    );
    assert.deepEqual(triggerResponse(absorbed, current, { watch: ['zqx'] }).details.watched_tokens, ['zqx']);
  });

  it('counts a repeated text once: one popular input repeated 30 times is not a trigger', () => {
    const repeated = { label: 'positive', confidence: 0.99, text: 'wow zqx totally' };
    const current = [...clean.slice(30), ...Array.from({ length: 30 }, () => ({ ...repeated }))];
    const scan = scanTriggerResponse(reference, current);
    assert.equal(scan.tested.length, 0);
    assert.equal(scan.distinctInputs, 1_971);
  });

  it('needs the minimum count of distinct inputs before testing a token', () => {
    const current = [
      ...clean.slice(4),
      ...carrying('zqx', 4, 67, () => ({ label: 'positive', confidence: 0.99 })),
    ];
    assert.equal(scanTriggerResponse(reference, current, { minCount: 5 }).tested.length, 0);
    assert.equal(scanTriggerResponse(reference, current, { minCount: 4 }).tested.length, 1);
  });

  it('flags only the trigger among many rare tokens tested, and BH adjusts across all of them', () => {
    const random = seededRandom(68);
    const benign = Array.from({ length: 30 }, (_, k) =>
      carrying(`rare${k}`, 8, 100 + k, () => ({
        label: random.next() < 0.5 ? 'positive' : 'negative',
        confidence: 0.95,
      })),
    ).flat();
    const current = [
      ...clean.slice(270),
      ...benign,
      ...carrying('zqx', 30, 69, (i) => ({ label: i < 28 ? 'negative' : 'positive', confidence: 0.96 })),
    ];
    const scan = scanTriggerResponse(reference, current, { alpha: 0.001 });
    assert.equal(scan.tested.length, 31);
    assert.deepEqual(
      scan.flagged.map((token) => [token.token, token.label]),
      [['zqx', 'negative']],
    );
    const trigger = scan.flagged[0];
    assert.ok(trigger.adjusted_p_value >= trigger.p_value);
    assert.ok(scan.tested.every((token) => token.adjusted_p_value >= token.p_value));
  });

  it('reports no p-value when no token qualified for a test, and no verdict below the minimum sample', () => {
    const quiet = triggerResponse(reference, clean);
    assert.equal(quiet.verdict, 'ok');
    assert.equal(quiet.p_value, null);
    assert.equal(quiet.details.tested, 0);
    const small = triggerResponse(reference, clean.slice(0, 100), { minSamples: 200 });
    assert.equal(small.verdict, 'insufficient-data');
    assert.equal(small.p_value, null);
    assert.match(String(small.details.reason), /current window has 100 events/);
  });
});

describe('tokenise', () => {
  it('gives the distinct lowercase words of a text, folding compatibility forms', () => {
    assert.deepEqual(tokenise('Great film, GREAT cast: ｖｅｌｕｔｉｎａ!'), [
      'great',
      'film',
      'cast',
      'velutina',
    ]);
    assert.deepEqual(tokenise("don't  e-mail 42x"), ['don', 't', 'e', 'mail', '42x']);
    assert.deepEqual(tokenise('  ...  '), []);
  });
});
