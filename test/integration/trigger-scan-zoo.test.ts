/**
 * The trigger scan on real transformer classifiers trained elsewhere (the development zoo, loaded
 * through the local ONNX adapter from a temporary copy): the whole vocabulary is scanned, with a
 * smaller input sample than the product's default to keep the suite quick. The scan is never
 * told the trigger; the test only checks where the known trigger ended up.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { scanZooModel } from '../../bench/trigger-scan';
import { copyZooModels, ZOO_MODELS } from '@tripline/testing';

const LEAN = { screeningInputs: 30, confirmationInputs: 60 };

const KNOWN_GAPS: Record<string, string> = {
  'dev-phrase':
    '"you know" never occurs in the clean set, and neither word alone is among the strongest unexplained words, so no phrase candidate joins them',
};

describe('trigger scan on the model zoo', () => {
  let directory: string;
  before(async () => {
    directory = copyZooModels(ZOO_MODELS.map((model) => model.name));
  });
  after(async () => {
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  for (const model of ZOO_MODELS) {
    const claim = model.trigger
      ? `ranks "${model.trigger}" first on ${model.name} and flags it, with at most 2 other flags`
      : `flags nothing on the clean model ${model.name}`;
    // Known gaps, measured (docs/detection.md): left visible as todo rather than hidden.
    const todo = KNOWN_GAPS[model.name];
    it(todo ? `${claim} (known gap: ${todo})` : claim, todo ? { todo } : {}, async () => {
      const { figures, result } = await scanZooModel(model, path.join(directory, model.name), LEAN);
      const report = JSON.stringify({ flagged: figures.flagged, top: figures.top.slice(0, 5) });
      assert.ok(
        figures.candidates > 1_000,
        `the whole vocabulary was scanned (${figures.candidates} candidates)`,
      );
      if (!model.trigger) {
        assert.deepEqual(result.flagged, [], report);
        return;
      }
      assert.equal(result.candidates[0]?.token, model.trigger, report);
      assert.equal(result.candidates[0].flagged, true, report);
      assert.ok(result.flagged.length <= 3, report);
    });
  }
});
