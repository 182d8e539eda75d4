import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bracketSampleSize, kernelExp, mulberry32, seededRandom, selectByBracket } from '@tripline/drift';

describe('kernelExp', () => {
  it('returns exactly what Math.exp returns, over every branch of fdlibm and their edges', () => {
    const random = seededRandom(17);
    const magnitudes = [
      1e-12, 4e-9, 1e-6, 1e-3, 0.3, 0.35, 0.4, 1, 1.04, 1.1, 2, 10, 100, 707, 709, 745, 800,
    ];
    let compared = 0;
    for (const magnitude of magnitudes) {
      for (let k = 0; k < 50_000; k++) {
        for (const x of [-random() * magnitude, random() * magnitude]) {
          compared++;
          if (!Object.is(kernelExp(x), Math.exp(x)))
            assert.fail(`kernelExp(${x}) = ${kernelExp(x)}, Math.exp: ${Math.exp(x)}`);
        }
      }
    }
    const edges = [
      0, -0, -0.3465735912322998, -0.34657359123229986, -0.3465735912322997, -3.725290298461914e-9,
    ];
    edges.push(-3.7252902984619136e-9, -708, -707.9999999999999, -1.0397205352783203, -1.0397207708399179);
    edges.push(Number.NaN, -Infinity, Infinity, Number.MIN_VALUE, -Number.MAX_VALUE);
    for (const x of edges) assert.ok(Object.is(kernelExp(x), Math.exp(x)), `kernelExp(${x})`);
    assert.equal(compared, 2 * 50_000 * magnitudes.length);
  });
});

describe('selectByBracket', () => {
  const sorted = (values: Float64Array) => Float64Array.from(values).sort();
  const select = (values: Float64Array, ranks: number[], sample: Float64Array) =>
    selectByBracket(values.length, ranks, sample, (counter) => {
      // Fed in three pieces, as mmdTest feeds one row at a time.
      const third = Math.floor(values.length / 3);
      counter.add(values, 0, third);
      counter.add(values, third, 2 * third);
      counter.add(values, 2 * third, values.length);
    });

  it('selects the exact order statistics with a good sample, with none, and with ties', () => {
    const random = seededRandom(3);
    const values = Float64Array.from({ length: 50_001 }, () => random.normal());
    const ties = Float64Array.from({ length: 40_000 }, () => Math.floor(random() * 7));
    for (const data of [values, ties]) {
      const reference = sorted(data);
      const size = bracketSampleSize(data.length);
      assert.ok(size >= 256);
      const sample = sorted(Float64Array.from({ length: size }, () => data[random.integer(data.length)]));
      for (const ranks of [
        [0],
        [data.length >> 1],
        [(data.length >> 1) - 1, data.length >> 1],
        [data.length - 1],
      ]) {
        const expected = ranks.map((rank) => reference[rank]);
        assert.deepEqual(select(data, ranks, sample), expected);
        assert.deepEqual(select(data, ranks, new Float64Array(0)), expected);
      }
    }
  });

  it('widens a bracket that misses, until it holds the ranks', () => {
    const values = Float64Array.from({ length: 20_000 }, (_, i) => (i * 7919) % 20_000);
    // A sample from far above the data: the first brackets hold none of the middle ranks.
    const misleading = sorted(Float64Array.from({ length: 1024 }, (_, i) => 30_000 + i));
    assert.deepEqual(select(values, [9999, 10_000], misleading), [9999, 10_000]);
  });

  it('takes no sample for few values', () => {
    assert.equal(bracketSampleSize(1000), 0);
    assert.equal(bracketSampleSize(4096), 256);
    assert.equal(bracketSampleSize(10 ** 8), 1 << 15);
  });
});

describe('Random.fill', () => {
  it('gives the draws that as many calls would, and continues the same stream', () => {
    for (const make of [seededRandom, mulberry32]) {
      for (const seed of [0, 1, 0x5eed, 2 ** 40 + 3]) {
        const calls = make(seed);
        const bulk = make(seed);
        const expected = Array.from({ length: 1000 }, () => calls());
        const filled = [...bulk.fill(new Float64Array(600)), ...bulk.fill(new Float64Array(400))];
        assert.deepEqual(filled, expected);
        assert.equal(bulk.integer(1000), calls.integer(1000));
      }
    }
  });
});
