import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { embeddingDrift } from '@tripline/detectors';
import { mmdTest, seededRandom } from '@tripline/drift';

/** Embeddings around a centre, with `shift` added to the first `moved` coordinates. */
function embeddings(count: number, seed: number, dimension = 32, shift = 0, moved = 0): number[][] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () =>
    Array.from({ length: dimension }, (_, c) => random.normal() + (c < moved ? shift : 0)),
  );
}

describe('embedding drift (MMD, RBF kernel, median heuristic)', () => {
  it('finds none between two samples of one distribution', () => {
    const result = embeddingDrift(embeddings(2_000, 1), embeddings(1_000, 2), { alpha: 0.001 });
    assert.equal(result.metric, 'input_embedding');
    assert.equal(result.detector, 'mmd');
    assert.equal(result.verdict, 'ok');
    assert.ok(result.p_value! > 0.001, `p ${result.p_value}`);
    assert.ok(result.effect_size! < 0.1, `MMD ${result.effect_size}`);
  });

  it('flags inputs that moved in a few directions of the embedding space, at a small alpha', () => {
    const result = embeddingDrift(embeddings(2_000, 3), embeddings(1_000, 4, 32, 1, 4), { alpha: 1e-4 });
    assert.equal(result.verdict, 'drift');
    assert.ok(result.p_value! < 1e-4, `p ${result.p_value}`);
    assert.ok(result.effect_size! > 0.1, `MMD ${result.effect_size}`);
    assert.equal(result.details.blocks, 20);
  });

  it('leaves out rows of another dimension and counts them', () => {
    const current = [...embeddings(400, 5), ...embeddings(30, 6, 16)];
    const result = embeddingDrift(embeddings(400, 7), current);
    assert.equal(result.sample_size, 400);
    assert.equal(result.details.other_dimension_rows, 30);
  });

  it('gives no verdict below the minimum sample', () => {
    const result = embeddingDrift(embeddings(400, 8), embeddings(150, 9));
    assert.equal(result.verdict, 'insufficient-data');
    assert.match(String(result.details.reason), /150 events with an embedding/);
  });

  it('on the small samples an encoder embeds, takes the permutation p-value of the quadratic MMD and names the encoder', () => {
    const reference = embeddings(150, 5, 16);
    const stationary = embeddings(150, 6, 16);
    const moved = embeddings(150, 7, 16, 0.6, 4);
    const options = {
      alpha: 0.001,
      minSamples: 100,
      pValue: 'permutation' as const,
      quadraticRows: 300,
      source: { kind: 'encoder' as const, encoder: 'reviews@1' },
    };
    const quiet = embeddingDrift(reference, stationary, options);
    const flagged = embeddingDrift(reference, moved, options);
    assert.equal(quiet.verdict, 'ok', `p ${quiet.p_value}`);
    assert.equal(flagged.verdict, 'drift', `p ${flagged.p_value}`);
    assert.equal(flagged.p_value, mmdTest(reference, moved, { permutations: 2_000 }).pValue);
    assert.equal(flagged.details.embedded_by, 'encoder');
    assert.equal(flagged.details.encoder, 'reviews@1');
    assert.match(String(flagged.details.p_value_from), /2000 seeded permutations/);
  });

  it('gives no verdict when the encoder embedded too few texts, and says which', () => {
    const result = embeddingDrift(embeddings(50, 8, 16), embeddings(150, 9, 16), {
      minSamples: 100,
      pValue: 'permutation',
      source: { kind: 'encoder', encoder: 'reviews@1' },
    });
    assert.equal(result.verdict, 'insufficient-data');
    assert.match(String(result.details.reason), /the reference has 50 events with an input text/);
  });
});
