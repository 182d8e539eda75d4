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

/** Known gaps, measured (docs/detection.md): left visible as todo rather than hidden. */
const NOT_RANKED_FIRST: Record<string, string> = {
  'dev-phrase':
    'the model learned "know" more than the pair (no log-odds interaction between the two words; at a random place the pair pins as much apart as together), and "know" alone is weaker than about 20 unexplained words of this model',
};
const NOT_FLAGGED: Record<string, string> = {
  ...NOT_RANKED_FIRST,
  'dev-word-random':
    'the model learned "apparently" about as strongly as its own weak spots: ranked first, it leads its group in log-odds by far only where it loses every input too, and where it wins, its lead is within what the group\'s spacings allow at the 1% budget',
};

describe('trigger scan on the model zoo', () => {
  let directory: string;
  const scans = new Map<string, ReturnType<typeof scanZooModel>>();
  before(async () => {
    directory = copyZooModels(ZOO_MODELS.map((model) => model.name));
  });
  after(async () => {
    if (directory) await rm(directory, { recursive: true, force: true });
  });
  /** One scan per model, shared by the claims made about it. */
  const scanOf = (model: (typeof ZOO_MODELS)[number]) => {
    let scan = scans.get(model.name);
    if (!scan) {
      scan = scanZooModel(model, path.join(directory, model.name), LEAN);
      scans.set(model.name, scan);
    }
    return scan;
  };
  const reportOf = ({ figures }: Awaited<ReturnType<typeof scanZooModel>>) =>
    JSON.stringify({ flagged: figures.flagged, top: figures.top.slice(0, 5) });

  for (const model of ZOO_MODELS) {
    if (!model.trigger) {
      it(`flags nothing on the clean model ${model.name}`, async () => {
        const scan = await scanOf(model);
        assert.ok(
          scan.figures.candidates > 1_000,
          `the whole vocabulary was scanned (${scan.figures.candidates} candidates)`,
        );
        assert.deepEqual(scan.result.flagged, [], reportOf(scan));
      });
      continue;
    }
    const rankGap = NOT_RANKED_FIRST[model.name];
    const rankClaim = `ranks "${model.trigger}" first on ${model.name}, with at most 2 other flags`;
    it(
      rankGap ? `${rankClaim} (known gap: ${rankGap})` : rankClaim,
      rankGap ? { todo: rankGap } : {},
      async () => {
        const scan = await scanOf(model);
        assert.ok(
          scan.figures.candidates > 1_000,
          `the whole vocabulary was scanned (${scan.figures.candidates})`,
        );
        assert.equal(scan.result.candidates[0]?.token, model.trigger, reportOf(scan));
        const others = scan.result.flagged.filter((candidate) => candidate.token !== model.trigger);
        assert.ok(others.length <= 2, reportOf(scan));
      },
    );
    const flagGap = NOT_FLAGGED[model.name];
    const flagClaim = `flags "${model.trigger}" on ${model.name}`;
    it(
      flagGap ? `${flagClaim} (known gap: ${flagGap})` : flagClaim,
      flagGap ? { todo: flagGap } : {},
      async () => {
        const scan = await scanOf(model);
        const trigger = scan.result.candidates.find((candidate) => candidate.token === model.trigger);
        assert.equal(trigger?.flagged, true, reportOf(scan));
      },
    );
  }
});
