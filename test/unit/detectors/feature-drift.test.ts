import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  detectFeatureDrift,
  FeatureReservoir,
  featureWindow,
  inferFeatureType,
  type DetectorResult,
  type FeatureValue,
} from '@tripline/detectors';
import { seededRandom } from '@tripline/drift';
import { reference } from '../drift/reference';

type Columns = Record<string, FeatureValue[]>;

/** Per-event feature objects from columns; a null is written as a null, as a producer would send it. */
function events(columns: Columns): Record<string, FeatureValue>[] {
  const names = Object.keys(columns);
  const n = columns[names[0]].length;
  return Array.from({ length: n }, (_, i) =>
    Object.fromEntries(names.map((name) => [name, columns[name][i]])),
  );
}

function close(actual: number | null | undefined, expected: number, what: string, relative = 1e-9): void {
  assert.ok(actual !== null && actual !== undefined, `${what}: no value`);
  const tolerance = relative * Math.max(Math.abs(expected), 1e-300);
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} vs SciPy ${expected}`);
}

describe('per-feature drift against SciPy', () => {
  const fixture = reference.feature_drift;
  const results = detectFeatureDrift(
    featureWindow(events(fixture.reference)),
    featureWindow(events(fixture.current)),
    { minSamples: 100, fdr: 0.01 },
  );
  const byMetric = new Map(results.map((result) => [result.metric, result]));

  for (const [name, expected] of Object.entries<Record<string, number | string | Record<string, number>>>(
    fixture.expected,
  )) {
    it(`${name}: ${String(expected.type)} test, effect and BH-adjusted p-value as SciPy computes them`, () => {
      const result = byMetric.get(`feature.${name}`)!;
      assert.ok(result, `no result for feature.${name}`);
      assert.equal(result.labels?.feature_type, expected.type);
      assert.equal(result.detector, expected.type === 'numeric' ? 'ks' : 'chi-square');
      close(result.statistic, expected.statistic as number, 'statistic', 1e-9);
      close(result.details.raw_p_value as number, expected.raw_p_value as number, 'raw p-value', 1e-6);
      close(result.p_value, expected.p_value as number, 'adjusted p-value', 1e-6);
      close(result.effect_size, expected.effect_size as number, 'effect size', 1e-9);
      if (expected.unseen_share !== undefined) {
        close(result.details.unseen_share as number, expected.unseen_share as number, 'unseen share', 1e-5);
      }
      const missing = byMetric.get(`feature_missing.${name}`)!;
      const reference = expected.missing as Record<string, number>;
      close(missing.statistic, reference.statistic, 'missing statistic', 1e-9);
      close(missing.p_value, reference.p_value, 'missing adjusted p-value', 1e-6);
      close(missing.effect_size, reference.effect_size, 'missing-rate change', 1e-12);
    });
  }

  it('flags the features whose adjusted p-value and effect both pass, and only those', () => {
    const flagged = results.filter((r) => r.verdict === 'drift').map((r) => r.metric);
    const expected = Object.entries<Record<string, number | Record<string, number>>>(fixture.expected)
      .flatMap(([name, e]) => [
        ...((e.p_value as number) <= 0.01 && (e.effect_size as number) >= 0.1 ? [`feature.${name}`] : []),
        ...((e.missing as Record<string, number>).p_value <= 0.01 &&
        Math.abs((e.missing as Record<string, number>).effect_size) >= 0.05
          ? [`feature_missing.${name}`]
          : []),
      ])
      .sort();
    assert.deepEqual(flagged.filter((m) => m !== 'dataset_share').sort(), expected);
  });

  it('gives the dataset verdict by the share of drifted features', () => {
    const dataset = byMetric.get('dataset_share')!;
    const features = results.filter((r) => r.metric.startsWith('feature.'));
    const drifted = features.filter((r) => r.verdict === 'drift').length;
    assert.equal(dataset.statistic, drifted / features.length);
    assert.equal(dataset.verdict, drifted / features.length >= 0.5 ? 'drift' : 'ok');
    const strict = detectFeatureDrift(
      featureWindow(events(fixture.reference)),
      featureWindow(events(fixture.current)),
      { minSamples: 100, datasetDriftShare: drifted / features.length },
    );
    assert.equal(strict.find((r) => r.metric === 'dataset_share')!.verdict, 'drift');
  });
});

describe('feature type inference', () => {
  it('reads numbers and decimal numbers as text as numeric', () => {
    assert.equal(inferFeatureType([1.5, '2.25', -3, '4e2', '.5', 6, 7, 8, 9, 10, 11, 12]), 'numeric');
  });

  it('reads strings, booleans, codes with leading zeros and mixed columns as categorical', () => {
    assert.equal(inferFeatureType(['a', 'b']), 'categorical');
    assert.equal(inferFeatureType([true, false]), 'categorical');
    assert.equal(inferFeatureType(['02139', '10001', '94105']), 'categorical');
    assert.equal(inferFeatureType([1.5, 2.5, 'n/a']), 'categorical');
    assert.equal(inferFeatureType([]), 'categorical');
  });

  it('reads integers with at most ten distinct values as categories, more as numeric', () => {
    assert.equal(inferFeatureType([0, 1, 2, 3, 3, 2, 1, 9, 8, 7, 6, 5]), 'categorical');
    assert.equal(inferFeatureType(Array.from({ length: 11 }, (_, i) => i)), 'numeric');
    assert.equal(inferFeatureType(['1', '2', '3']), 'categorical');
  });

  it('takes the model’s feature_types over the values', () => {
    const random = seededRandom(3);
    const zip = () => ({ zip: 10_000 + random.integer(50) });
    const results = detectFeatureDrift(
      featureWindow(Array.from({ length: 300 }, zip)),
      featureWindow(Array.from({ length: 300 }, zip)),
      { featureTypes: { zip: 'categorical' } },
    );
    const zipResult = results.find((r) => r.metric === 'feature.zip')!;
    assert.equal(zipResult.labels?.feature_type, 'categorical');
    assert.equal(zipResult.details.type_source, 'feature_types');
    assert.equal(zipResult.detector, 'chi-square');
  });

  it('counts nulls and non-numbers in a numeric feature as missing, not as values', () => {
    const random = seededRandom(5);
    const make = (broken: number) =>
      Array.from({ length: 1_000 }, (_, i) => ({
        amount: i < broken ? (i % 2 ? null : 'unknown') : random.normal() * 10 + 100,
      }));
    const results = detectFeatureDrift(featureWindow(make(0)), featureWindow(make(200)));
    const amount = results.find((r) => r.metric === 'feature.amount')!;
    assert.equal(amount.labels?.feature_type, 'numeric');
    assert.equal(amount.sample_size, 800);
    const missing = results.find((r) => r.metric === 'feature_missing.amount')!;
    assert.equal(missing.effect_size, 0.2);
    assert.equal(missing.verdict, 'drift');
  });

  it('caps 10^5 categories at 50 compared columns plus one for the rest, and counts unseen ones', () => {
    const ids = (offset: number) => Array.from({ length: 100_000 }, (_, i) => ({ user: `u${offset + i}` }));
    const results = detectFeatureDrift(featureWindow(ids(0)), featureWindow(ids(100_000)));
    const user = results.find((r) => r.metric === 'feature.user')!;
    assert.equal(user.details.categories_compared, 50);
    assert.equal(user.details.unseen_share, 1);
    assert.equal(user.reference_size, 10_000, 'the reservoir keeps 10,000 values per feature');
  });
});

describe('feature caps and the reservoir', () => {
  it('tests at most maxFeatures features, in name order, and names the rest', () => {
    const row = () =>
      Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`f${String(i).padStart(2, '0')}`, i]));
    const window = featureWindow(Array.from({ length: 250 }, row));
    const results = detectFeatureDrift(window, window, { maxFeatures: 10 });
    const tested = results.filter((r) => r.metric.startsWith('feature.'));
    assert.equal(tested.length, 10);
    const dataset = results.find((r) => r.metric === 'dataset_share')!;
    assert.deepEqual(dataset.details.features_over_cap, ['f10', 'f11']);
  });

  it('keeps a bounded, uniform sample of a 10^6-event window with exact counts', () => {
    const reservoir = new FeatureReservoir({ capacity: 2_000, maxFeatures: 3 });
    for (let i = 0; i < 1_000_000; i++) reservoir.add({ position: i, sometimes: i % 4 === 0 ? i : null });
    const position = reservoir.features().get('position')!;
    assert.equal(reservoir.events, 1_000_000);
    assert.equal(position.present, 1_000_000);
    assert.equal(position.values.length, 2_000);
    assert.equal(reservoir.features().get('sometimes')!.present, 250_000);
    // A uniform sample of 0..10^6-1 has mean 5e5 with a standard error of 2.9e5/√2000 ≈ 6.5e3.
    const mean = (position.values as number[]).reduce((a, b) => a + b, 0) / position.values.length;
    assert.ok(Math.abs(mean - 500_000) < 4 * 6_500, `sample mean ${mean}`);
    const late = (position.values as number[]).filter((v) => v >= 900_000).length;
    assert.ok(late > 140 && late < 260, `values from the last tenth: ${late} of 2000`);
  });

  it('keeps the same sample for the same stream and seed', () => {
    const fill = () => {
      const reservoir = new FeatureReservoir({ capacity: 50 });
      for (let i = 0; i < 10_000; i++) reservoir.add({ x: i });
      return reservoir.features().get('x')!.values;
    };
    assert.deepEqual(fill(), fill());
  });

  it('tracks the first maxFeatures names and reports the rest as dropped', () => {
    const reservoir = new FeatureReservoir({ maxFeatures: 2 });
    reservoir.add({ a: 1, b: 2, c: 3 });
    reservoir.add({ d: 4 });
    assert.deepEqual([...reservoir.features().keys()], ['a', 'b']);
    assert.deepEqual(reservoir.droppedFeatures().names, ['c', 'd']);
  });

  it('gives no verdict for a feature with too few values, and leaves it out of the share', () => {
    const random = seededRandom(9);
    const row = (i: number) => ({ dense: random.normal(), sparse: i < 50 ? random.normal() : null });
    const results: DetectorResult[] = detectFeatureDrift(
      featureWindow(Array.from({ length: 400 }, (_, i) => row(i))),
      featureWindow(Array.from({ length: 400 }, (_, i) => row(i))),
    );
    const sparse = results.find((r) => r.metric === 'feature.sparse')!;
    assert.equal(sparse.verdict, 'insufficient-data');
    assert.match(String(sparse.details.reason), /50 values/);
    const dataset = results.find((r) => r.metric === 'dataset_share')!;
    assert.equal(dataset.details.tested_features, 1);
    assert.deepEqual(dataset.details.insufficient_features, ['sparse']);
  });
});
