import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  CLEAN_CONTROL,
  measureZoo,
  POISONED_TRAINING_SETS,
  type DatasetScanFigures,
} from '../../bench/dataset-scan-zoo';

describe('dataset scan on the model zoo (poison drawn from both classes, a rare prefix, a two-word phrase)', () => {
  let figures: DatasetScanFigures[] = [];
  before(async () => {
    ({ figures } = await measureZoo());
  });

  for (const representation of ['hashing', 'dev-clean-a'] as const) {
    for (const set of POISONED_TRAINING_SETS) {
      it(`${set}, ${representation} representation: 90% of the poisoned rows rank in the top 2x and are marked suspicious at 90% precision`, () => {
        const figure = figures.find((entry) => entry.set === set && entry.representation === representation)!;
        assert.ok(figure.poisoned > 0, `${set} holds no poisoned rows`);
        assert.ok(figure.recallTop2x! >= 0.9, `recall in the top 2x ${figure.recallTop2x}`);
        assert.ok(figure.recall! >= 0.9, `suspicious rows hold ${figure.recall} of the poisoned ones`);
        assert.ok(figure.precision! >= 0.9, `precision of the suspicious rows ${figure.precision}`);
      });
    }

    it(`the clean control (poisoned rows removed), ${representation} representation: at most 2 suspicious rows`, () => {
      const figure = figures.find(
        (entry) => entry.set === CLEAN_CONTROL && entry.representation === representation,
      )!;
      assert.ok(
        figure.suspicious <= 2,
        `${figure.suspicious} suspicious rows, flagged: ${figure.flaggedTokens.join(', ')}`,
      );
    });
  }
});
